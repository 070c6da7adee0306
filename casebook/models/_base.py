"""Shared types and the base records: ids, text limits, Record, Patient, Visit."""

from __future__ import annotations

import os
import time
from datetime import UTC, date, datetime
from typing import Annotated, Any, Final, Literal

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
    "CHECKIN",
    "EXAMINATION_FINDINGS",
    "LEGACY_SCREEN_QUESTIONS",
    "PATIENT_ID_RE",
    "PATIENT_SCREEN_QUESTIONS",
    "SCREEN_LABELS",
    "SCREEN_QUESTIONS",
    "SCREEN_RENAMED",
    "AlarmScreen",
    "Name",
    "Patient",
    "PatientId",
    "Record",
    "RecordId",
    "Sex",
    "ShortText",
    "Text",
    "Tri",
    "UtcTime",
    "Visit",
    "VisitKind",
    "new_id",
    "new_ids",
]


def _check_patient_id(value: str) -> str:
    if value.startswith("-"):
        raise ValueError("patient id may not start with '-' (commands would read it as an option)")
    if not PATIENT_ID_RE.fullmatch(value):
        raise ValueError("patient id must be 1-64 characters of letters, digits, '-' or '_'")
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
UtcTime = Annotated[
    datetime,
    AfterValidator(  # a naive time (SQLite) is UTC
        lambda v: v.astimezone(UTC) if v.tzinfo else v.replace(tzinfo=UTC)
    ),
]


def new_id() -> str:
    """A fresh record id: 32 hex characters, a millisecond timestamp then 80 random bits.

    Time-ordered like UUIDv7, so new rows land at the end of the primary-key index."""
    return f"{time.time_ns() // 1_000_000:012x}{os.urandom(10).hex()}"


def new_ids(count: int) -> list[str]:
    """`count` fresh record ids as `new_id` makes them, in increasing order (one timestamp,
    one read of random bytes), so that a bulk insert appends to the primary-key index."""
    stamp = f"{time.time_ns() // 1_000_000:012x}"
    random = os.urandom(10 * count).hex()
    return sorted(stamp + random[i : i + 20] for i in range(0, 20 * count, 20))


_NO_TEXT = frozenset({int, float, bool, type(None), date, datetime})  # hold no string


def _has_nul(value: Any) -> bool:  # nested models check their own fields
    kind = type(value)  # the exact types first: every field of every record comes here
    if kind is str:
        return "\x00" in value
    if kind in _NO_TEXT:
        return False
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


# A question asked under an older name: the value is read under the new one. Looser or
# more frequent stools for over 6 weeks is one change in bowel habit, so yes stays yes; a
# no did not ask about harder or less frequent stools, so it reads as not asked.
SCREEN_RENAMED: dict[str, str] = {"bowel_change_over_6_weeks": "bowel_habit_change"}


# What an upper abdominal mass is consistent with, as NICE NG12 words each finding (1.2.6,
# 1.2.10, 1.2.11): each is a pathway of its own, so each is a finding of its own.
_UPPER_MASS_FINDINGS: tuple[str, ...] = (
    "mass_consistent_with_stomach_cancer",
    "mass_consistent_with_enlarged_gall_bladder",
    "mass_consistent_with_enlarged_liver",
)


def _implies(data: dict[str, Any], finding: str, broader: str, why: str) -> dict[str, Any]:
    """A yes to `finding` is a yes to `broader` (asked once, recorded for both)."""
    if data.get(broader) is False:
        raise ValueError(f"{finding} is yes but {broader} is no: {why}")
    return {**data, broader: True}


def _with_abdominal_mass(data: dict[str, Any]) -> dict[str, Any]:
    """What the mass is consistent with makes it an upper abdominal mass, and an upper
    abdominal mass is an abdominal mass: asked once, recorded for every rule."""
    for finding in _UPPER_MASS_FINDINGS:
        if data.get(finding) is True:
            data = _implies(
                data, finding, "upper_abdominal_mass", "the mass it describes is upper abdominal"
            )
    if data.get("upper_abdominal_mass") is True:
        data = _implies(
            data,
            "upper_abdominal_mass",
            "abdominal_or_rectal_mass",
            "an upper abdominal mass is an abdominal mass",
        )
    return data


class AlarmScreen(_Model):
    """The red-flag screen asked at a visit. None means 'not asked'.

    Yes/no findings of the visit that red-flag rules read (NICE NG12 among them). What the
    clinic's symptom inventory rates (abdominal pain, diarrhoea, constipation) is read from
    the ratings; the screen asks what the inventory does not.
    """

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = _with_abdominal_mass(data)
        if not isinstance(data, dict) or not SCREEN_RENAMED.keys() & data.keys():
            return data
        data = dict(data)
        for old, new in SCREEN_RENAMED.items():
            if old in data:
                value = data.pop(old)
                if value is True and data.get(new) is None:
                    data[new] = True
        return data

    unintentional_weight_loss: Tri = None
    gi_bleeding: Tri = Field(
        None, description="Rectal or other GI bleeding (melena and hematemesis are asked apart)"
    )
    melena: Tri = Field(None, description="Black, tarry stools: needs same-day assessment")
    hematemesis: Tri = Field(None, description="Vomiting blood: needs same-day assessment")
    nocturnal_symptoms: Tri = None
    abdominal_or_rectal_mass: Tri = None
    upper_abdominal_mass: Tri = Field(
        None,
        description="The abdominal mass is in the upper abdomen; yes records the abdominal "
        "mass too (what it is consistent with is asked next)",
    )
    mass_consistent_with_stomach_cancer: Tri = Field(
        None,
        description="The upper abdominal mass is consistent with stomach cancer (NICE NG12 "
        "1.2.6); yes records the upper abdominal mass too",
    )
    mass_consistent_with_enlarged_gall_bladder: Tri = Field(
        None,
        description="The upper abdominal mass is consistent with an enlarged gall bladder "
        "(NICE NG12 1.2.10); yes records the upper abdominal mass too",
    )
    mass_consistent_with_enlarged_liver: Tri = Field(
        None,
        description="The upper abdominal mass is consistent with an enlarged liver (NICE NG12 "
        "1.2.11); yes records the upper abdominal mass too",
    )
    anal_mass_or_ulceration: Tri = Field(
        None, description="Unexplained anal mass or anal ulceration"
    )
    fever: Tri = None
    night_sweats: Tri = None
    progressive_pain: Tri = None
    bowel_habit_change: Tri = Field(
        None, description="Any change in bowel habit: looser, harder, more or less frequent"
    )
    dysphagia: Tri = Field(None, description="Difficulty swallowing")
    upper_abdominal_pain: Tri = Field(None, description="Pain or discomfort in the upper abdomen")
    reflux: Tri = Field(None, description="Heartburn or acid coming back up")
    dyspepsia: Tri = Field(None, description="Indigestion")
    treatment_resistant_dyspepsia: Tri = Field(
        None, description="Dyspepsia that has not responded to treatment (for example a PPI)"
    )
    nausea_or_vomiting: Tri = None
    back_pain: Tri = None
    jaundice: Tri = Field(None, description="Yellow skin or whites of the eyes")
    new_onset_diabetes: Tri = Field(
        None, description="Diabetes diagnosed recently (new-onset), asked at the visit"
    )
    dysphagia_or_persistent_vomiting: Tri = Field(
        None,
        description="Asked as one question before dysphagia and nausea or vomiting were asked "
        "apart; kept for old visits, no longer on the form",
    )
    symptom_onset: date | None = Field(None, description="When the GI symptoms began")


LEGACY_SCREEN_QUESTIONS = frozenset({"dysphagia_or_persistent_vomiting"})
"""Screen answers old visits may hold that the form no longer asks."""

SCREEN_QUESTIONS: tuple[str, ...] = tuple(
    n for n in AlarmScreen.model_fields if n != "symptom_onset" and n not in LEGACY_SCREEN_QUESTIONS
)
"""The yes/no questions the alarm screen asks, in form order."""

EXAMINATION_FINDINGS = frozenset({"upper_abdominal_mass", *_UPPER_MASS_FINDINGS})
"""Screen answers only an examination gives (where a mass lies): never asked of a patient."""

PATIENT_SCREEN_QUESTIONS: tuple[str, ...] = tuple(
    n for n in SCREEN_QUESTIONS if n not in EXAMINATION_FINDINGS
)
"""The screen's questions a patient answers in a check-in (`alarms`), in form order."""

SCREEN_LABELS: dict[str, str] = {
    "unintentional_weight_loss": "Unintentional weight loss",
    "gi_bleeding": "Rectal / other GI bleeding",
    "melena": "Black, tarry stools (melena)",
    "hematemesis": "Vomiting blood (hematemesis)",
    "nocturnal_symptoms": "Wakes at night with symptoms",
    "abdominal_or_rectal_mass": "Abdominal or rectal mass",
    "upper_abdominal_mass": "The mass is upper abdominal",
    "mass_consistent_with_stomach_cancer": "The upper mass is consistent with stomach cancer",
    "mass_consistent_with_enlarged_gall_bladder": (
        "The upper mass is consistent with an enlarged gall bladder"
    ),
    "mass_consistent_with_enlarged_liver": "The upper mass is consistent with an enlarged liver",
    "anal_mass_or_ulceration": "Anal mass or anal ulceration",
    "fever": "Fever",
    "night_sweats": "Night sweats",
    "progressive_pain": "Progressive pain",
    "bowel_habit_change": "Any change in bowel habit",
    "dysphagia": "Difficulty swallowing (dysphagia)",
    "upper_abdominal_pain": "Upper abdominal pain",
    "reflux": "Reflux or heartburn",
    "dyspepsia": "Indigestion (dyspepsia)",
    "treatment_resistant_dyspepsia": "Dyspepsia not responding to treatment",
    "nausea_or_vomiting": "Nausea or vomiting",
    "back_pain": "Back pain",
    "jaundice": "Jaundice (yellow skin or eyes)",
    "new_onset_diabetes": "New-onset diabetes",
    "dysphagia_or_persistent_vomiting": "Dysphagia / persistent vomiting (older visits)",
    "symptom_onset": "GI symptoms began on",
}
"""The practitioner's words for each screen answer (the workbook form, `casebook show`)."""


VisitKind = Literal["intake", "follow-up", "check-in"]
"""An intake or a follow-up is a visit the practitioner held; a check-in is what the patient
sent through their link (ask `Visit.is_checkin`, never compare the word)."""

CHECKIN: Final = "check-in"
"""The kind of a check-in the patient sent (for frames and queries that hold kinds as text)."""


class Visit(Record):
    kind: VisitKind = Field(
        "follow-up", description="check-in: answers the patient sent through their link"
    )
    visit_date: date
    screen: AlarmScreen = Field(default_factory=AlarmScreen)
    summary: Text = ""

    @property
    def is_checkin(self) -> bool:
        """Is this a check-in the patient sent, not a visit the practitioner held?"""
        return self.kind == CHECKIN
