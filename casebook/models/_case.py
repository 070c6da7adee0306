"""`Case`: the whole record of one patient."""

from __future__ import annotations

from datetime import date

from pydantic import (
    Field,
    model_validator,
)

from casebook.models._base import (
    Patient,
    Visit,
    _Model,
)
from casebook.models._history import (
    HistoryEntry,
)
from casebook.models._letter import LetterRecord
from casebook.models._records import (
    FlagReview,
    InstrumentResponse,
    Note,
    PlanItem,
    SymptomRating,
    TestOrder,
    TestResult,
)

__all__ = [
    "Case",
]


class Case(_Model):
    """The whole record of one patient, as loaded from the store."""

    patient: Patient
    visits: list[Visit] = Field(default_factory=list)
    history: list[HistoryEntry] = Field(default_factory=list)
    symptoms: list[SymptomRating] = Field(default_factory=list)
    instruments: list[InstrumentResponse] = Field(default_factory=list)
    orders: list[TestOrder] = Field(default_factory=list)
    results: list[TestResult] = Field(default_factory=list)
    plan: list[PlanItem] = Field(default_factory=list)
    notes: list[Note] = Field(default_factory=list)
    flag_reviews: list[FlagReview] = Field(default_factory=list)
    letters: list[LetterRecord] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Case:
        pid = self.patient.id
        visit_ids = {v.id for v in self.visits}
        for field in (name for name in type(self).model_fields if name != "patient"):
            ids = [rec.id for rec in getattr(self, field)]
            if len(set(ids)) < len(ids):
                twice = ", ".join(sorted({i for i in ids if ids.count(i) > 1}))
                raise ValueError(f"{field}: duplicate record id(s) {twice}")
            for i, rec in enumerate(getattr(self, field)):
                if rec.patient_id != pid:
                    raise ValueError(f"{field}[{i}]: patient_id is not the case's patient")
                vid = getattr(rec, "visit_id", None)
                if vid is not None and vid not in visit_ids:
                    raise ValueError(f"{field}[{i}]: visit_id is not a visit of this case")
        order_ids = {o.id for o in self.orders}
        for i, res in enumerate(self.results):
            if res.order_id is not None and res.order_id not in order_ids:
                raise ValueError(f"results[{i}]: order_id is not an order of this case")
        return self

    # Convenience views -------------------------------------------------------------
    def sorted_visits(self) -> list[Visit]:
        return sorted(self.visits, key=lambda v: (v.visit_date, v.kind != "intake", v.id))

    def held_visits(self) -> list[Visit]:
        """The visits the practitioner held (no check-in the patient sent), in visit order."""
        return [v for v in self.sorted_visits() if not v.is_checkin]

    def current_visit(self, up_to: date | None = None) -> Visit | None:
        """The visit a view starts from: the latest the practitioner held (on or before
        `up_to`), or, while none was held, the latest check-in the patient sent (None: no
        visit). The workbook's first selection, `casebook show`'s alarm screen and the
        referral letter's presenting complaint all read it."""
        visits = [v for v in self.sorted_visits() if up_to is None or v.visit_date <= up_to]
        held = [v for v in visits if not v.is_checkin]
        return (held or visits)[-1] if visits else None
