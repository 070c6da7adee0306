"""Plan items the tests of several packages build the same way."""

from __future__ import annotations

from datetime import date

from casebook.catalog import default_catalog
from casebook.models import PlanItem

__all__ = ["same_day_review_item"]


def same_day_review_item(patient_id: str, start: date) -> PlanItem:
    """The same-day review after PHQ-9 item 9, as the catalog's template words it (its
    patient name and instructions say "today"), active from `start`."""
    tpl = next(t for t in default_catalog().protocols if t.key == "same_day_mental_health_review")
    return PlanItem(
        patient_id=patient_id,
        category="referral",
        name=tpl.name,
        patient_name=tpl.patient_name,
        instructions=tpl.instructions,
        start=start,
        status="active",
        template=tpl.key,
    )
