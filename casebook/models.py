"""The case record: pydantic v2 models, one `Case` per patient.

Every record kept in the store has an `id` (a 32-character hex string, stable
across export and import) and a `version` used for optimistic locking: 0 means
"not saved yet", and a save based on an older version is refused.

Clinical enumerations are validated here, not in the UI: a value the model
rejects can never reach the store.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args

if TYPE_CHECKING:
    from casebook._letter_record import LetterRecord

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from casebook.ids import PATIENT_ID_RE

__all__ = [
    "HISTORY_CATEGORIES", "PATIENT_ID_RE", "PLAN_CATEGORIES", "SAFETY_FACTS", "AlarmScreen",
    "Case", "CautionConfirmation", "DietHistory", "EnvironmentalExposure", "FamilyHistory",
    "FlagReview", "FoodSensitivity", "HistoryData", "HistoryEntry", "Infection",
    "InflammatoryCondition", "InstrumentResponse", "LetterRecord", "Level", "Medication", "Name",
    "Note", "Patient", "PatientId", "PlanItem", "Record", "RecordId", "SafetyFacts", "Sex",
    "ShortText", "StressHistory", "SymptomRating", "TestOrder", "TestResult", "Text", "Tri",
    "Visit", "new_id",
]



def _check_patient_id(value: str) -> str:
    if value.startswith("-"):
        raise ValueError("patient id may not start with '-' (commands would read it as an option)")
    if not PATIENT_ID_RE.fullmatch(value):
        raise ValueError(
            f"patient id must be 1-64 characters of letters, digits, '-' or '_' (got {value!r})"
        )
    if value in {".", ".."}:  # pragma: no cover - excluded by the pattern; kept explicit
        raise ValueError("patient id may not be '.' or '..'")
    return value


PatientId = Annotated[str, AfterValidator(_check_patient_id)]
"""Letters, digits, '-' and '_' only, 1-64 characters; leading zeros are kept."""

Sex = Literal["female", "male", "other", "unknown"]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
RecordId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
UtcTime = Annotated[datetime, AfterValidator(  # a naive time (SQLite) is UTC
    lambda v: v.astimezone(UTC) if v.tzinfo else v.replace(tzinfo=UTC))]


def new_id() -> str:
    """A fresh record id: 32 hex characters, a millisecond timestamp then 80 random bits.

    Time-ordered like UUIDv7, so new rows land at the end of the primary-key index."""
    return f"{time.time_ns() // 1_000_000:012x}{os.urandom(10).hex()}"


def _has_nul(value: Any) -> bool:  # nested models check their own fields
    if isinstance(value, dict):
        value = [*value, *value.values()]
    if isinstance(value, list | tuple | set | frozenset):
        return any(_has_nul(v) for v in value)
    return isinstance(value, str) and "\x00" in value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        """No database stores a NUL byte in text (PostgreSQL refuses it at insert)."""
        if _has_nul(value):
            raise ValueError("contains a NUL byte (\\x00)")
        return value


class Record(_Model):
    """Base of everything the store keeps per patient."""

    id: RecordId = Field(default_factory=new_id, description="Stable record id")
    patient_id: PatientId
    version: int = Field(0, ge=0, description="Optimistic-lock version; 0 = not saved yet")


def _check_span(start: date | None, end: date | None, what: str) -> None:
    if start is not None and end is not None and end < start:
        raise ValueError(f"{what}: end date {end} is before start date {start}")


class Patient(_Model):
    id: PatientId
    name: Name
    birth_date: date
    sex: Sex = "unknown"
    version: int = Field(0, ge=0)
    record_version: int = Field(0, ge=0, description="Bumped by every change to the case")

    @field_validator("birth_date")
    @classmethod
    def _not_future(cls, value: date) -> date:
        if value > date.today():
            raise ValueError(f"birth date {value} is in the future")
        if value.year < 1900:
            raise ValueError(f"birth date {value} is before 1900")
        return value

    def age_on(self, when: date) -> int:
        years = when.year - self.birth_date.year
        if (when.month, when.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years


Tri = bool | None  # None = not asked yet


class AlarmScreen(_Model):
    """The red-flag screen asked at a visit. None means 'not asked'."""

    unintentional_weight_loss: Tri = None
    gi_bleeding: Tri = Field(
        None, description="Rectal or other GI bleeding (melena and hematemesis are asked apart)"
    )
    melena: Tri = Field(None, description="Black, tarry stools: needs same-day assessment")
    hematemesis: Tri = Field(None, description="Vomiting blood: needs same-day assessment")
    nocturnal_symptoms: Tri = None
    abdominal_or_rectal_mass: Tri = None
    fever: Tri = None
    night_sweats: Tri = None
    progressive_pain: Tri = None
    bowel_change_over_6_weeks: Tri = Field(
        None, description="Looser or more frequent stools for more than 6 weeks"
    )
    dysphagia_or_persistent_vomiting: Tri = None
    symptom_onset: date | None = Field(None, description="When the GI symptoms began")


class Visit(Record):
    kind: Literal["intake", "follow-up"] = "follow-up"
    visit_date: date
    screen: AlarmScreen = Field(default_factory=AlarmScreen)
    summary: Text = ""


# --- history -------------------------------------------------------------------------


class Infection(_Model):
    category: Literal["infection"] = "infection"
    kind: Literal["bacterial", "viral", "parasitic", "fungal"]
    name: Name = Field(description="Organism or illness, e.g. 'Giardia', 'norovirus'")
    onset: date | None = None
    resolved: date | None = None
    treated_with: ShortText = ""

    @model_validator(mode="after")
    def _span(self) -> Infection:
        _check_span(self.onset, self.resolved, "infection")
        return self


class InflammatoryCondition(_Model):
    category: Literal["inflammatory_condition"] = "inflammatory_condition"
    condition: Literal["crohns_disease", "ulcerative_colitis", "celiac_disease", "other"]
    name: ShortText = ""
    status: Literal["suspected", "confirmed", "in_remission", "ruled_out"] = "confirmed"
    diagnosed_on: date | None = None


class Medication(_Model):
    category: Literal["medication"] = "medication"
    drug_class: Literal[
        "antibiotic", "chemotherapy", "steroid", "nsaid", "proton_pump_inhibitor", "h2_blocker",
        "antacid", "anticoagulant", "diabetes_medicine", "immunosuppressant", "cyp_pgp_substrate",
        "diuretic", "antihypertensive", "supplement", "other",
    ] = Field(description="cyp_pgp_substrate: a narrow-margin CYP3A4, CYP2D6 or P-gp "
              "substrate such as ciclosporin, tacrolimus or digoxin")
    name: Name
    dose: ShortText = ""
    start: date | None = None
    end: date | None = None

    @model_validator(mode="after")
    def _span(self) -> Medication:
        _check_span(self.start, self.end, f"medication {self.name!r}")
        return self

    def current_on(self, day: date) -> bool:
        """Taken on `day`: started by then (or no start recorded) and not ended before."""
        return (self.start is None or self.start <= day) and (self.end is None or self.end >= day)


Level = Literal["none", "low", "moderate", "high"]


class DietHistory(_Model):
    category: Literal["diet"] = "diet"
    pattern: ShortText = Field("", description="e.g. omnivore, vegetarian, gluten-free")
    processed_food: Level = "none"
    added_sugar: Level = "none"
    unhealthy_fats: Level = "none"
    alcohol: Level = "none"
    notes: Text = ""


class StressHistory(_Model):
    category: Literal["stress"] = "stress"
    level: Level = "none"
    sources: ShortText = ""
    sleep_hours: float | None = Field(None, ge=0, le=24)


class EnvironmentalExposure(_Model):
    category: Literal["environmental_exposure"] = "environmental_exposure"
    agent: Literal["mold", "pesticides", "heavy_metals", "solvents", "smoking", "other"]
    detail: ShortText = ""
    start: date | None = None
    end: date | None = None

    @model_validator(mode="after")
    def _span(self) -> EnvironmentalExposure:
        _check_span(self.start, self.end, "exposure")
        return self


class FoodSensitivity(_Model):
    category: Literal["food_sensitivity"] = "food_sensitivity"
    food: Name
    reaction: Literal["allergy", "intolerance", "sensitivity"]
    severity: Literal["mild", "moderate", "severe"] = "mild"
    confirmed_by: Literal["self_report", "elimination_challenge", "clinical_test"] = "self_report"


class FamilyHistory(_Model):
    category: Literal["family_history"] = "family_history"
    relative: Literal["parent", "sibling", "child", "grandparent", "other"]
    condition: Literal["colorectal_cancer", "ovarian_cancer", "ibd", "celiac_disease", "other"]
    detail: ShortText = ""
    age_at_onset: int | None = Field(None, ge=0, le=120)


class SafetyFacts(_Model):
    """Checked before a supplement or a diet; None = 'not asked'. Age and current medicines
    come from the record; a later entry overrides (`casebook.cautions.safety_facts`)."""

    category: Literal["safety"] = "safety"
    recorded_on: date | None = None
    pregnant: Tri = None
    breastfeeding: Tri = None
    immunosuppressed: Tri = Field(None, description="Immunosuppressed or immunocompromised")
    eating_disorder_history: Tri = None
    liver_disease: Tri = None
    kidney_disease: Tri = None
    hypertension: Tri = None
    hypokalemia: Tri = None
    central_line_or_critical_illness: Tri = Field(
        None, description="A central venous line, or critically ill")
    underweight: Tri = Field(None, description="Underweight (BMI below 18.5) or losing weight")
    dysphagia: Tri = Field(None, description="Difficulty swallowing, or narrowing of the gut")
    hypercalcemia_or_granulomatous_disease: Tri = Field(
        None, description="High calcium, or sarcoidosis or another granulomatous disease")
    reflux: Tri = Field(None, description="Heartburn or reflux (GERD)")


SAFETY_FACTS: tuple[str, ...] = tuple(
    n for n in SafetyFacts.model_fields if n not in ("category", "recorded_on"))
"""The safety fact keys a protocol caution can match."""


HistoryData = Annotated[
    Infection
    | InflammatoryCondition
    | Medication
    | DietHistory
    | StressHistory
    | EnvironmentalExposure
    | FoodSensitivity
    | FamilyHistory
    | SafetyFacts,
    Field(discriminator="category"),
]
HISTORY_CATEGORIES: tuple[str, ...] = tuple(  # in the order of the union above
    m.model_fields["category"].default for m in get_args(get_args(HistoryData)[0]))


class HistoryEntry(Record):
    data: HistoryData
    notes: Text = ""

    @property
    def category(self) -> str:
        return self.data.category


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
    flag: Literal["H", "L", "A"] | None = None
    order_id: RecordId | None = None
    reviewed_at: datetime | None = Field(
        None, description="When a practitioner marked it reviewed (None: not yet)")
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

PlanCategory = Literal["eliminate_triggers", "herbal", "nutritional_support",
                       "microbiome_support", "stress_management", "referral"]
PLAN_CATEGORIES: tuple[str, ...] = get_args(PlanCategory)


class CautionConfirmation(_Model):
    """A practitioner going ahead despite a caution of the item's template, and why."""

    key: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    by: ShortText = ""
    on: date


class PlanItem(Record):
    category: PlanCategory
    name: Name
    patient_name: ShortText = Field(
        "", description="The name the patient sees; empty means the same as `name`")
    dose: ShortText = ""
    frequency: ShortText = ""
    start: date | None = None
    end: date | None = None
    instructions: Text = Field("", description="Worded for the patient")
    rationale: Text = Field("", description="For the practitioner")
    status: Literal["proposed", "active", "stopped", "completed"] = "proposed"
    template: str | None = Field(None, description="Protocol template key it came from")
    source: ShortText = ""
    caution_confirmations: list[CautionConfirmation] = Field(
        default_factory=list, description="Cautions of the template confirmed, with a reason")

    @model_validator(mode="after")
    def _span(self) -> PlanItem:
        _check_span(self.start, self.end, f"plan item {self.name!r}")
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
    """One step of a red flag's lifecycle (casebook.flagstate): appended, never edited."""

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
                    raise ValueError(f"{field}[{i}]: patient_id {rec.patient_id!r} is not {pid!r}")
                vid = getattr(rec, "visit_id", None)
                if vid is not None and vid not in visit_ids:
                    raise ValueError(f"{field}[{i}]: visit_id {vid!r} is not a visit of {pid!r}")
        order_ids = {o.id for o in self.orders}
        for i, res in enumerate(self.results):
            if res.order_id is not None and res.order_id not in order_ids:
                raise ValueError(f"results[{i}]: order_id {res.order_id!r} is not an order")
        return self

    # Convenience views -------------------------------------------------------------
    def sorted_visits(self) -> list[Visit]:
        return sorted(self.visits, key=lambda v: (v.visit_date, v.kind != "intake", v.id))

    def baseline(self) -> Visit | None:
        visits = self.sorted_visits()
        intakes = [v for v in visits if v.kind == "intake"]
        return next(iter(intakes or visits), None)


# Defines LetterRecord (a Record, so in its own module after the classes above); completes Case.
import casebook._letter_record  # noqa: E402, F401
