"""The case record: pydantic v2 models, one `Case` per patient.

Every record kept in the store has an `id` (a 32-character hex string, stable
across export and import) and a `version` used for optimistic locking: 0 means
"not saved yet", and a save based on an older version is refused.

Clinical enumerations are validated here, not in the UI: a value the model
rejects can never reach the store.
"""

from __future__ import annotations

import os
import re
import time
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

__all__ = [
    "PATIENT_ID_RE", "PLAN_CATEGORIES", "AlarmScreen", "Case", "DietHistory",
    "EnvironmentalExposure", "FamilyHistory", "FoodSensitivity", "HistoryData", "HistoryEntry",
    "Infection", "InflammatoryCondition", "InstrumentResponse", "Medication", "Note", "Patient",
    "PatientId", "PlanItem", "Record", "Sex", "StressHistory", "SymptomRating", "TestOrder",
    "TestResult", "Visit", "new_id",
]

# Not starting with "-": `casebook show -rf` must not read an id as an option.
PATIENT_ID_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$")


def _check_patient_id(value: str) -> str:
    if value.startswith("-"):
        raise ValueError("patient id may not start with '-' (commands would read it as an option)")
    if not PATIENT_ID_RE.fullmatch(value):
        raise ValueError(
            "patient id must be 1-64 characters of letters, digits, '-' or '_'"
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
        raise ValueError(f"{what}: end date is before start date")


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
            raise ValueError("birth date is in the future")
        if value.year < 1900:
            raise ValueError("birth date is before 1900")
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
        "antibiotic",
        "chemotherapy",
        "steroid",
        "nsaid",
        "proton_pump_inhibitor",
        "supplement",
        "other",
    ]
    name: Name
    dose: ShortText = ""
    start: date | None = None
    end: date | None = None

    @model_validator(mode="after")
    def _span(self) -> Medication:
        _check_span(self.start, self.end, "medication")
        return self


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


HistoryData = Annotated[
    Infection
    | InflammatoryCondition
    | Medication
    | DietHistory
    | StressHistory
    | EnvironmentalExposure
    | FoodSensitivity
    | FamilyHistory,
    Field(discriminator="category"),
]
HISTORY_CATEGORIES = (
    "infection",
    "inflammatory_condition",
    "medication",
    "diet",
    "stress",
    "environmental_exposure",
    "food_sensitivity",
    "family_history",
)


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

    @model_validator(mode="after")
    def _value(self) -> TestResult:
        if self.value is None and not self.value_text:
            raise ValueError("a result needs a value or a value_text")
        if self.ref_low is not None and self.ref_high is not None and self.ref_low > self.ref_high:
            raise ValueError(f"ref_low {self.ref_low} is above ref_high {self.ref_high}")
        return self


# --- plan and notes ---------------------------------------------------------------------

PLAN_CATEGORIES = (
    "eliminate_triggers",
    "herbal",
    "nutritional_support",
    "microbiome_support",
    "stress_management",
    "referral",
)


class PlanItem(Record):
    category: Literal[
        "eliminate_triggers",
        "herbal",
        "nutritional_support",
        "microbiome_support",
        "stress_management",
        "referral",
    ]
    name: Name
    dose: ShortText = ""
    frequency: ShortText = ""
    start: date | None = None
    end: date | None = None
    instructions: Text = Field("", description="Worded for the patient")
    rationale: Text = Field("", description="For the practitioner")
    status: Literal["proposed", "active", "stopped", "completed"] = "proposed"
    template: str | None = Field(None, description="Protocol template key it came from")
    source: ShortText = ""

    @model_validator(mode="after")
    def _span(self) -> PlanItem:
        _check_span(self.start, self.end, "plan item")
        return self


class Note(Record):
    written_on: date
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20000)]
    visibility: Literal["practitioner", "shared"] = "practitioner"
    author: ShortText = ""
    visit_id: RecordId | None = None


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

    @model_validator(mode="after")
    def _consistent(self) -> Case:
        pid = self.patient.id
        visit_ids = {v.id for v in self.visits}
        for field in ("visits", "history", "symptoms", "instruments", "orders", "results",
                      "plan", "notes"):
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

    def baseline(self) -> Visit | None:
        visits = self.sorted_visits()
        intakes = [v for v in visits if v.kind == "intake"]
        return (intakes or visits or [None])[0]
