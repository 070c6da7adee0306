"""Seeded synthetic cases for the demo, tests and benchmarks. No real patient data.

The same seed always gives the same cases (ids included), relative to `today`.
"""

from __future__ import annotations

import functools
from datetime import date, timedelta

from casebook.catalog import Catalog, ProtocolTemplate, default_catalog
from casebook.clinical.cautions import active_cautions
from casebook.demo._records import Gen, history_entries, orders_and_results
from casebook.demo._rules import follow_rules, plan_item, template
from casebook.models import (
    AlarmScreen,
    Case,
    InstrumentResponse,
    Note,
    Patient,
    PlanItem,
    SymptomRating,
    TestResult,
    Visit,
)

__all__ = ["generate_case", "generate_cases"]

_FIRST = {
    "female": [
        "Ada",
        "Brigid",
        "Clara",
        "Dagny",
        "Elena",
        "Freya",
        "Greta",
        "Hana",
        "Ines",
        "Juno",
        "Kaia",
        "Liesel",
        "Mira",
        "Nell",
        "Orla",
        "Pia",
    ],
    "male": [
        "Arlo",
        "Bram",
        "Cyril",
        "Dario",
        "Emil",
        "Fenn",
        "Gus",
        "Hugo",
        "Ivo",
        "Jory",
        "Kit",
        "Lars",
        "Milo",
        "Nils",
        "Otto",
        "Pax",
    ],
}
_LAST = [
    "Ashdown",
    "Brightwater",
    "Coldbrook",
    "Dunmore",
    "Everly",
    "Fairhollow",
    "Glenrook",
    "Hartwell",
    "Ivybridge",
    "Juniper",
    "Kestrel",
    "Larkspur",
    "Mossgrove",
    "Northcote",
    "Oakhurst",
    "Pennywhistle",
    "Quillon",
    "Rookwood",
    "Silverton",
    "Thornbury",
]
_TRAJECTORIES = ("improving", "improving", "worsening", "mixed")


def _years_before(day: date, years: int) -> date:
    """The same calendar day `years` earlier; 29 February becomes the 28th in a common year."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def generate_case(
    index: int, *, seed: int = 1, today: date | None = None, catalog: Catalog | None = None
) -> Case:
    """The `index`-th synthetic case of a seeded population."""
    catalog = catalog or default_catalog()
    g = Gen(seed, index, today or date.today(), catalog)
    rng = g.rng
    sex = rng.choice(("female", "female", "male", "male", "other")) if index else "female"
    names = _FIRST["female" if sex == "other" else sex]
    # Patient 0 is the alarm case: over 50, weight loss, low hemoglobin.
    age = rng.randint(56, 70) if index == 0 else rng.randint(19, 74)
    birth = _years_before(g.today, age) - timedelta(days=rng.randint(0, 360))
    pid = f"demo-{index + 1:04d}"
    patient = Patient(
        id=pid,
        name=f"{rng.choice(names)} {rng.choice(_LAST)}",
        birth_date=birth,
        sex=sex,
        version=1,
        record_version=1,
    )
    n_visits = rng.randint(1, 6) if index > 1 else 4
    intake = g.today - timedelta(days=rng.randint(40 * n_visits, 60 * n_visits + 30))
    visit_dates = [intake]
    for _ in range(n_visits - 1):
        visit_dates.append(min(g.today, visit_dates[-1] + timedelta(days=rng.randint(28, 56))))
    onset = intake - timedelta(days=rng.randint(120, 1500))
    visits = []
    for i, when in enumerate(visit_dates):
        screen = AlarmScreen(
            unintentional_weight_loss=(index == 0),
            gi_bleeding=False,
            nocturnal_symptoms=(index == 0 and i == 0) or rng.random() < 0.05,
            fever=False,
            night_sweats=False,
            abdominal_or_rectal_mass=False,
            upper_abdominal_mass=False,
            mass_consistent_with_stomach_cancer=False,
            mass_consistent_with_enlarged_gall_bladder=False,
            mass_consistent_with_enlarged_liver=False,
            anal_mass_or_ulceration=False,
            progressive_pain=False,
            bowel_habit_change=rng.random() < 0.1,
            dysphagia=False,
            upper_abdominal_pain=False,
            reflux=False,
            dyspepsia=False,
            treatment_resistant_dyspepsia=False,
            nausea_or_vomiting=False,
            back_pain=False,
            jaundice=False,
            new_onset_diabetes=False,
            melena=False,
            hematemesis=False,
            symptom_onset=onset if i == 0 else None,
        )
        visits.append(
            Visit(
                id=g.uid(),
                patient_id=pid,
                version=1,
                kind="intake" if i == 0 else "follow-up",
                visit_date=when,
                screen=screen,
                summary="" if i else "Intake consultation.",
            )
        )
    trajectory = _TRAJECTORIES[index % len(_TRAJECTORIES)]
    base = {s.key: rng.choice((0, 1, 2, 2, 3, 3, 4)) for s in catalog.symptoms}
    symptoms, instruments = [], []
    for i, visit in enumerate(visits):
        step = {"improving": -0.6, "worsening": 0.5, "mixed": 0.4 if i % 2 else -0.5}[trajectory]
        level = 0.0
        for key, start in base.items():
            sev = max(0, min(4, round(start + step * i + rng.uniform(-0.6, 0.6))))
            level += sev
            freq = ("never", "monthly", "weekly", "several_weekly", "daily")[sev]
            symptoms.append(
                SymptomRating(
                    id=g.uid(),
                    patient_id=pid,
                    version=1,
                    visit_id=visit.id,
                    symptom=key,
                    severity=sev,
                    frequency=freq,
                )
            )
        mood = level / (4 * len(base))  # 0..1
        for key in ("phq9", "gad7", "pss10", "fas", "bristol"):
            if key in ("pss10", "fas") and 0 < i < len(visits) - 1:
                continue
            inst = catalog.instruments[key]
            values = sorted(inst.option_values)
            answers = {}
            for item in inst.items:
                target = values[0] + mood * (values[-1] - values[0]) + rng.uniform(-1, 1)
                if item.reverse:
                    target = values[0] + values[-1] - target
                answers[item.id] = min(values, key=functools.partial(_distance, target))
            if key == "phq9":
                answers["9"] = 1 if (index == 2 and i == len(visits) - 1) else 0
            if key == "bristol":
                answers = {
                    "type": rng.choice((1, 2, 3, 4, 5, 6, 6, 7) if mood > 0.4 else (3, 4, 4, 5))
                }
            instruments.append(
                InstrumentResponse(
                    id=g.uid(),
                    patient_id=pid,
                    version=1,
                    visit_id=visit.id,
                    instrument=key,
                    answers=answers,
                )
            )
    orders, results = orders_and_results(g, patient, visits)
    history = history_entries(g, patient, intake)
    case = Case(
        patient=patient,
        visits=visits,
        history=history,
        symptoms=symptoms,
        instruments=instruments,
        orders=orders,
        results=results,
        plan=_plan(g, Case(patient=patient, history=history), visits, results),
        notes=_notes(g, pid, visits),
    )
    return follow_rules(case, g.catalog, g.today, g.rng, g.uid)


def _distance(target: float, value: int) -> float:
    return abs(value - target)


def _allowed(
    tpl: ProtocolTemplate, known: Case, results: list[TestResult], start: date, catalog: Catalog
) -> bool:
    """Templates whose own precondition the demo case meets by `start`, and none of whose
    contraindications matches the patient (the demo never overrides one)."""
    if any(
        m.caution.kind == "contraindication" for m in active_cautions(known, catalog, tpl, start)
    ):
        return False
    before = [r for r in results if r.collected_on <= start]
    if tpl.key == "vitamin_d_repletion":  # only when measured low (below 20 ng/mL)
        vit_d = sorted((r for r in before if r.test == "vitamin_d"), key=lambda r: r.collected_on)
        return bool(vit_d) and vit_d[-1].value is not None and vit_d[-1].value < 20
    if tpl.key == "herbal_antimicrobial_sibo":  # only after a positive breath test
        return any(r.test.startswith("sibo_") for r in before)
    if tpl.key == "gluten_free_trial":  # only after celiac serology
        return any(r.test == "ttg_iga" for r in before)
    return True


def _plan(g: Gen, known: Case, visits: list[Visit], results: list[TestResult]) -> list[PlanItem]:
    rng, pid = g.rng, known.patient.id
    items = []
    for i, category in enumerate(
        (
            "eliminate_triggers",
            "nutritional_support",
            "stress_management",
            rng.choice(("herbal", "microbiome_support")),
        )
    ):
        start = visits[0].visit_date if i < 2 or len(visits) == 1 else visits[1].visit_date
        options = [
            t
            for t in g.catalog.protocols_for(category)
            if _allowed(t, known, results, start, g.catalog)
        ]
        if options:
            items.append(plan_item(pid, g.uid(), rng.choice(options), start, g.today))
    if g.index == 0:
        tpl = template(g.catalog, "gastroenterology_referral")
        items.append(plan_item(pid, g.uid(), tpl, visits[0].visit_date, g.today))
    return items


def _notes(g: Gen, pid: str, visits: list[Visit]) -> list[Note]:
    first = visits[0]
    return [
        Note(
            id=g.uid(),
            patient_id=pid,
            version=1,
            written_on=first.visit_date,
            visit_id=first.id,
            visibility="practitioner",
            author="demo practitioner",
            text="Synthetic demo case. Differential work-up ordered per ACG 2021.",
        ),
        Note(
            id=g.uid(),
            patient_id=pid,
            version=1,
            written_on=visits[-1].visit_date,
            visit_id=visits[-1].id,
            visibility="shared",
            author="demo practitioner",
            text="Thank you for keeping your symptom diary. Keep going with the plan and "
            "bring your questions to the next visit.",
        ),
    ]


def generate_cases(
    n: int, *, seed: int = 1, today: date | None = None, catalog: Catalog | None = None
) -> list[Case]:
    catalog = catalog or default_catalog()
    today = today or date.today()
    return [generate_case(i, seed=seed, today=today, catalog=catalog) for i in range(n)]
