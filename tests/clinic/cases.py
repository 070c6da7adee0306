"""Small hand-built cases for the clinic tests. No real patient data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from casebook.models import (
    AlarmScreen,
    Case,
    InstrumentResponse,
    Patient,
    PlanItem,
    SymptomRating,
    TestOrder,
    TestResult,
    Visit,
)

TODAY = date(2024, 6, 1)
SYMPTOMS = (
    "abdominal_pain",
    "bloating",
    "diarrhea",
    "constipation",
    "fatigue",
    "headaches",
    "skin_problems",
    "joint_pain",
    "brain_fog",
    "food_intolerances",
    "anxiety_depression",
)


@dataclass
class V:
    """One visit: days before TODAY, its symptom burden (None: not rated), instrument totals."""

    days_ago: int
    burden: int | None = None
    scores: dict[str, int] = field(default_factory=dict)
    kind: str = ""
    screen: AlarmScreen = field(default_factory=AlarmScreen)


def _severities(burden: int) -> list[int]:
    out = []
    while burden > 0:
        out.append(min(4, burden))
        burden -= out[-1]
    if len(out) > len(SYMPTOMS):
        raise ValueError(f"burden {burden} is above 44")
    return out or [0]


def make_case(
    pid: str,
    visits: list[V],
    *,
    name: str | None = None,
    plan: list[dict[str, object]] = (),
    results: list[dict[str, object]] = (),
    orders: list[dict[str, object]] = (),
) -> Case:
    patient = Patient(id=pid, name=name or f"Test {pid}", birth_date=date(1980, 1, 1), sex="female")
    vs, symptoms, instruments = [], [], []
    for i, v in enumerate(visits):
        kind = v.kind or ("intake" if i == 0 else "follow-up")
        visit = Visit(
            patient_id=pid,
            kind=kind,
            visit_date=TODAY - timedelta(days=v.days_ago),
            screen=v.screen,
        )
        vs.append(visit)
        if v.burden is not None:
            for key, sev in zip(SYMPTOMS, _severities(v.burden), strict=False):
                symptoms.append(
                    SymptomRating(patient_id=pid, visit_id=visit.id, symptom=key, severity=sev)
                )
        for key, total in v.scores.items():
            instruments.append(
                InstrumentResponse(
                    patient_id=pid, visit_id=visit.id, instrument=key, answers={}, total=total
                )
            )
    order_models = [TestOrder(patient_id=pid, **o) for o in orders]
    results = [
        {**r, "order_id": order_models[r["order"]].id} if "order" in r else r for r in results
    ]  # "order": index of the order the result answers
    results = [{k: v for k, v in r.items() if k != "order"} for r in results]
    return Case(
        patient=patient,
        visits=vs,
        symptoms=symptoms,
        instruments=instruments,
        plan=[PlanItem(patient_id=pid, **p) for p in plan],
        orders=order_models,
        results=[TestResult(patient_id=pid, **r) for r in results],
    )


def days(n: int) -> date:
    """The date `n` days before TODAY (negative: after)."""
    return TODAY - timedelta(days=n)
