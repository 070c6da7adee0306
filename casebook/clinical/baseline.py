"""Where a patient's progress is measured from: the baseline visit, and where each measure
(the symptom ratings, each questionnaire) starts. One rule, read by the patient's page, the
workbook's trends, the clinic's outcomes and the after-visit summary.

- The baseline visit is the earliest intake; without an intake, the earliest visit of any
  kind, a check-in the patient sent included. A submitted check-in counts whether or not a
  practitioner has reviewed it yet: it is what the patient reported, it is already in the
  record (scored, and read by the red-flag rules), and the patient's page says it was their
  own check-in.
- A measure starts at the first visit, from the baseline visit on, where it was recorded
  (an intake without symptom ratings: the symptoms start where they were first rated).
- A check-in sent before a later intake stays on the trend but is not the start: the intake
  is where care starts. To start from the patient's pre-visit answers, a practitioner
  accepts the check-in into the intake (its answers move onto it, never over what the
  practitioner entered there).
"""

from __future__ import annotations

from collections.abc import Collection

from casebook.models import Case, Visit

__all__ = [
    "baseline_visit",
    "starting_visit",
    "symptoms_start",
]


def baseline_visit(case: Case) -> Visit | None:
    """The earliest intake; without one, the earliest visit of any kind (None: no visits)."""
    visits = case.sorted_visits()
    intakes = [v for v in visits if v.kind == "intake"]
    return next(iter(intakes or visits), None)


def starting_visit(case: Case, recorded: Collection[str]) -> Visit | None:
    """The first visit, in visit order from the baseline visit on, whose id is in
    `recorded` (the visits where a measure was recorded): where that measure starts."""
    base = baseline_visit(case)
    visits = case.sorted_visits()
    start = visits.index(base) if base is not None else 0
    return next((v for v in visits[start:] if v.id in recorded), None)


def symptoms_start(case: Case) -> Visit | None:
    """Where the symptom ratings (and the symptom burden) start."""
    return starting_visit(case, {r.visit_id for r in case.symptoms})
