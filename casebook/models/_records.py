"""Per-visit measurements, tests, plan, notes and red-flag steps."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal, get_args

from pydantic import (
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from casebook.clinical.vocabulary import ResultFlag
from casebook.models._base import (
    Name,
    Record,
    RecordId,
    ShortText,
    Text,
    UtcTime,
    _check_span,
    _Model,
)

__all__ = [
    "PLAN_CATEGORIES",
    "CautionConfirmation",
    "FlagReview",
    "InstrumentResponse",
    "Note",
    "PlanCategory",
    "PlanItem",
    "SymptomRating",
    "TestOrder",
    "TestResult",
]

# --- per-visit measurements ------------------------------------------------------------


class SymptomRating(Record):
    visit_id: RecordId
    symptom: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    severity: int = Field(ge=0, le=4, description="0 none - 4 severe")
    frequency: Literal["never", "monthly", "weekly", "several_weekly", "daily"] = "never"


class InstrumentResponse(Record):
    """Item answers of one instrument at one visit; `total` and `band` are derived."""

    visit_id: RecordId
    instrument: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    answers: dict[str, int]
    total: int | None = None
    band: str | None = None


# --- tests ------------------------------------------------------------------------------


class TestOrder(Record):
    __test__ = False  # not a pytest class

    test: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    status: Literal["ordered", "collected", "resulted", "cancelled"] = "ordered"
    ordered_on: date
    collected_on: date | None = None
    resulted_on: date | None = None
    visit_id: RecordId | None = None
    reason: ShortText = ""

    @model_validator(mode="after")
    def _dates(self) -> TestOrder:
        if self.collected_on is not None and self.collected_on < self.ordered_on:
            raise ValueError(
                f"collected_on {self.collected_on} is before ordered_on {self.ordered_on}"
            )
        if self.status in ("collected", "resulted") and self.collected_on is None:
            raise ValueError(f"status {self.status!r} needs a collected_on date")
        return self


class TestResult(Record):
    __test__ = False

    test: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    collected_on: date
    value: float | None = None
    value_text: ShortText | None = Field(None, description="For qualitative results")
    unit: ShortText = ""
    ref_low: float | None = None
    ref_high: float | None = None
    flag: ResultFlag | None = None
    order_id: RecordId | None = None
    reviewed_at: datetime | None = Field(
        None, description="When a practitioner marked it reviewed (None: not yet)"
    )
    reviewed_by: ShortText | None = Field(None, description="Who marked it reviewed")

    @field_validator("reviewed_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        """Stored as UTC; SQLite hands it back without a zone."""
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value

    @model_validator(mode="after")
    def _value(self) -> TestResult:
        if self.value is None and not self.value_text:
            raise ValueError("a result needs a value or a value_text")
        if self.ref_low is not None and self.ref_high is not None and self.ref_low > self.ref_high:
            raise ValueError(f"ref_low {self.ref_low} is above ref_high {self.ref_high}")
        return self


# --- plan and notes ---------------------------------------------------------------------

PlanCategory = Literal[
    "eliminate_triggers",
    "herbal",
    "nutritional_support",
    "microbiome_support",
    "stress_management",
    "referral",
]
PLAN_CATEGORIES: tuple[str, ...] = get_args(PlanCategory)


_CAUTION_KEY = r"^[a-z][a-z0-9_]{0,63}(\.[a-z][a-z0-9_]{0,63})?$"


class CautionConfirmation(_Model):
    """A practitioner going ahead despite one caution of the item, and why.

    `key` is the caution's key: a template's own caution (`pregnancy`) or a substance's
    (`berberine.pregnancy`). `by` is who confirmed it; `advised_by` who advised going ahead
    (a contraindication needs one, and a reason that says why: see
    `casebook.clinical.overrides`)."""

    key: Annotated[str, StringConstraints(pattern=_CAUTION_KEY)]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    by: ShortText = ""
    advised_by: ShortText = Field("", description="Who advised going ahead (a specialist, ...)")
    on: date


class PlanItem(Record):
    category: PlanCategory
    name: Name
    patient_name: ShortText = Field(
        "", description="The name the patient sees; empty means the same as `name`"
    )
    dose: ShortText = ""
    frequency: ShortText = ""
    start: date | None = None
    end: date | None = None
    instructions: Text = Field("", description="Worded for the patient")
    rationale: Text = Field("", description="For the practitioner")
    status: Literal["proposed", "active", "stopped", "completed"] = "proposed"
    template: str | None = Field(None, description="Protocol template key it came from")
    source: ShortText = ""
    substances: list[Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]] = Field(
        default_factory=list,
        description="Catalog substance keys it contains (besides its template's); a typed "
        "name is matched against names and synonyms and the matches added",
    )
    no_substance_reason: ShortText = Field(
        "", description="Why no catalog substance is listed for a typed supplement item"
    )
    caution_confirmations: list[CautionConfirmation] = Field(
        default_factory=list, description="Cautions confirmed one by one, each with a reason"
    )

    @model_validator(mode="after")
    def _span(self) -> PlanItem:
        _check_span(self.start, self.end, "plan item")
        return self

    @property
    def patient_title(self) -> str:  # what the patient's page and letters call this item
        return self.patient_name or self.name

    def confirmation(self, key: str) -> CautionConfirmation | None:
        return next((c for c in self.caution_confirmations if c.key == key), None)


class Note(Record):
    written_on: date
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20000)]
    visibility: Literal["practitioner", "shared"] = "practitioner"
    author: ShortText = ""
    visit_id: RecordId | None = None


class FlagReview(Record):
    """One step of a red flag's lifecycle (clinical.flag_lifecycle): appended, never edited."""

    rule_key: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    state: Literal["acknowledged", "referred", "resolved"]
    note: Text = ""
    referred_to: ShortText = Field("", description="Who the patient was referred to")
    outcome: Text = ""
    actor: ShortText = ""
    at: UtcTime
    evidence_on: date | None = Field(None, description="Date of the evidence the step was about")

    @model_validator(mode="after")
    def _step(self) -> FlagReview:
        need = {"referred": "referred_to", "resolved": "outcome"}.get(self.state)
        if need and not getattr(self, need):
            raise ValueError(f"a {self.state} step needs {need}")
        return self
