"""The synthetic patient's seeded randomness and the records made from it before the
plan: history, and the tests ordered with their results (`casebook.demo.synthetic`
puts them together). No real patient data."""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta

from casebook.catalog import Catalog
from casebook.models import (
    DietHistory,
    EnvironmentalExposure,
    FamilyHistory,
    FoodSensitivity,
    HistoryData,
    HistoryEntry,
    Infection,
    InflammatoryCondition,
    Medication,
    Patient,
    SafetyFacts,
    StressHistory,
    TestOrder,
    TestResult,
    Visit,
)

__all__ = ["PLAUSIBLE", "Gen", "history_entries", "orders_and_results"]

# (test, typical value, spread) for numeric tests ordered at intake
_PANEL = [
    ("hemoglobin", 14.2, 0.9),
    ("ferritin", 95.0, 30.0),
    ("crp", 3.0, 3.0),
    ("calprotectin", 25.0, 14.0),
    ("ttg_iga", 2.0, 1.5),
    ("total_iga", 210.0, 60.0),
    ("vitamin_d", 28.0, 9.0),
    ("albumin", 4.3, 0.3),
]
# The limits a lab prints with tests that have no default range (celiac serology is read
# against the assay's own upper limit: `LabTest.needs_lab_range`).
_LAB_UPPER = {"ttg_iga": 15.0}
# (mean, spread) of the follow-up repeats, in the order they are drawn: vitamin D, ferritin
_REPEAT = {key: (mean + 6, spread) for key, mean, spread in (_PANEL[6], _PANEL[1])}
# Where the demo's values stay: inside what adults' results plausibly are, in the catalog's
# units (a ferritin of 0.1 ng/mL or a vitamin D of 0.1 ng/mL is not a result a lab prints).
PLAUSIBLE: dict[str, tuple[float, float]] = {
    "hemoglobin": (8.0, 18.5),  # g/dL
    "ferritin": (8.0, 400.0),  # ng/mL
    "crp": (0.2, 40.0),  # mg/L
    "calprotectin": (5.0, 600.0),  # ug/g
    "ttg_iga": (0.5, 100.0),  # U/mL
    "total_iga": (70.0, 400.0),  # mg/dL
    "vitamin_d": (6.0, 80.0),  # ng/mL
    "albumin": (3.0, 5.2),  # g/dL
    "zonulin": (10.0, 150.0),  # ng/mL
}


def _plausible(key: str, value: float) -> float:
    low, high = PLAUSIBLE[key]
    return round(min(high, max(low, value)), 1)


class Gen:
    """One synthetic patient's seeded random source, ids and dates."""

    def __init__(self, seed: int, index: int, today: date, catalog: Catalog) -> None:
        self.rng = random.Random(f"casebook-demo-{seed}-{index}")  # noqa: S311 - seeded demo data
        self.index, self.today, self.catalog = index, today, catalog

    def uid(self) -> str:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4).hex

    def day(self, start: date, lo: int, hi: int) -> date:
        return min(self.today, start + timedelta(days=self.rng.randint(lo, hi)))


def history_entries(g: Gen, patient: Patient, intake: date) -> list[HistoryEntry]:
    rng, pid = g.rng, patient.id
    level = ("none", "low", "moderate", "high")
    data: list[HistoryData] = [
        DietHistory(
            pattern=rng.choice(("omnivore", "vegetarian", "flexitarian")),
            processed_food=rng.choice(level),
            added_sugar=rng.choice(level),
            unhealthy_fats=rng.choice(level),
            alcohol=rng.choice(level[:3]),
        ),
        StressHistory(
            level=rng.choice(level[1:]),
            sources=rng.choice(
                ("work deadlines", "caring for a parent", "moving house", "shift work")
            ),
            sleep_hours=rng.choice((5.5, 6.0, 6.5, 7.0, 7.5)),
        ),
        Medication(
            drug_class="antibiotic",
            name=rng.choice(("amoxicillin", "doxycycline", "ciprofloxacin")),
            start=intake - timedelta(days=400),
            end=intake - timedelta(days=393),
        ),
    ]
    if rng.random() < 0.5:
        data.append(
            Medication(
                drug_class="proton_pump_inhibitor",
                name="omeprazole",
                dose="20 mg daily",
                start=intake - timedelta(days=700),
            )
        )
    if rng.random() < 0.3:
        data.append(Medication(drug_class="nsaid", name="ibuprofen", dose="400 mg as needed"))
    if rng.random() < 0.4:
        kind, organism = rng.choice(
            (("bacterial", "Campylobacter"), ("viral", "norovirus"), ("parasitic", "Giardia"))
        )
        data.append(
            Infection(
                kind=kind,
                name=organism,
                onset=intake - timedelta(days=800),
                resolved=intake - timedelta(days=780),
            )
        )
    if rng.random() < 0.6:
        data.append(
            FoodSensitivity(
                food=rng.choice(("dairy", "wheat", "eggs", "onions")),
                reaction=rng.choice(("intolerance", "sensitivity")),
                severity=rng.choice(("mild", "moderate")),
            )
        )
    if rng.random() < 0.15:
        data.append(
            FoodSensitivity(
                food="peanuts", reaction="allergy", severity="severe", confirmed_by="clinical_test"
            )
        )
    if g.index == 0 or rng.random() < 0.2:
        data.append(
            FamilyHistory(
                relative="parent",
                condition=rng.choice(("colorectal_cancer", "ibd", "celiac_disease")),
                age_at_onset=rng.randint(45, 70),
            )
        )
    if rng.random() < 0.2:
        data.append(EnvironmentalExposure(agent="mold", detail="damp flat"))
    if rng.random() < 0.15:
        data.append(InflammatoryCondition(condition="celiac_disease", status="ruled_out"))
    if rng.random() < 0.2:
        data.append(
            Medication(
                drug_class="diabetes_medicine",
                name="metformin",
                dose="500 mg twice daily",
                start=intake - timedelta(days=900),
            )
        )
    childbearing = patient.sex == "female" and patient.age_on(intake) < 45
    data.append(
        SafetyFacts(
            recorded_on=intake,
            pregnant=childbearing and rng.random() < 0.1,
            breastfeeding=False,
            immunosuppressed=False,
            eating_disorder_history=rng.random() < 0.05,
            liver_disease=False,
            kidney_disease=False,
            hypertension=rng.random() < 0.2,
            hypokalemia=False,
            central_line_or_critical_illness=False,
            underweight=False,
            dysphagia=False,
            hypercalcemia_or_granulomatous_disease=False,
            reflux=rng.random() < 0.15,
        )
    )
    return [HistoryEntry(id=g.uid(), patient_id=pid, version=1, data=d) for d in data]


def _resulted(
    g: Gen,
    pid: str,
    visit: Visit,
    key: str,
    collected: date,
    value: float | None,
    reason: str = "",
) -> tuple[TestOrder, TestResult]:
    """A test ordered at `visit` and resulted on `collected`: the order and its result.

    The ids are drawn here, in this order; a `value` of None is drawn after them (the
    follow-up repeats), so the same seed gives the same records as before."""
    order_id, result_id = g.uid(), g.uid()
    if value is None:
        value = _plausible(key, g.rng.gauss(*_REPEAT[key]))
    order = TestOrder(
        id=order_id,
        patient_id=pid,
        version=1,
        test=key,
        status="resulted",
        ordered_on=visit.visit_date,
        collected_on=collected,
        resulted_on=collected,
        visit_id=visit.id,
        reason=reason,
    )
    result = TestResult(
        id=result_id,
        patient_id=pid,
        version=1,
        test=key,
        collected_on=collected,
        value=value,
        unit=g.catalog.tests[key].unit,
        ref_high=_LAB_UPPER.get(key),
        order_id=order_id,
    )
    return order, result


def orders_and_results(
    g: Gen, patient: Patient, visits: list[Visit]
) -> tuple[list[TestOrder], list[TestResult]]:
    rng, pid = g.rng, patient.id
    made: list[tuple[TestOrder, TestResult]] = []
    intake = visits[0]
    panel = list(_PANEL) + ([("zonulin", 60.0, 20.0)] if rng.random() < 0.3 else [])
    for key, mean, spread in panel:
        collected = g.day(intake.visit_date, 3, 10)
        value = _plausible(key, rng.gauss(mean, spread))
        if g.index == 0 and key == "hemoglobin":
            value = 10.4 if patient.sex == "female" else 11.2
        made.append(_resulted(g, pid, intake, key, collected, value, "baseline work-up"))
    for visit in visits[1:]:  # follow-up repeats of vitamin D and ferritin
        for key in _REPEAT:
            collected = g.day(visit.visit_date, 1, 7)
            if any(r.test == key and r.collected_on == collected for _, r in made):
                continue
            made.append(_resulted(g, pid, visit, key, collected, None))
    orders = [o for o, _ in made]
    results = [r for _, r in made]
    orders.append(
        TestOrder(
            id=g.uid(),
            patient_id=pid,
            version=1,
            test="giardia_antigen",
            ordered_on=visits[-1].visit_date,
            visit_id=visits[-1].id,
            reason="chronic diarrhea",
        )
    )
    return orders, results
