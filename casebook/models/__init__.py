"""The case record: pydantic v2 models, one `Case` per patient.

Every record kept in the store has an `id` (a 32-character hex string, stable
across export and import) and a `version` used for optimistic locking: 0 means
"not saved yet", and a save based on an older version is refused.

Clinical enumerations are validated here, not in the UI: a value the model
rejects can never reach the store.
"""

from __future__ import annotations

from casebook.models._base import (
    CHECKIN,
    EXAMINATION_FINDINGS,
    LEGACY_SCREEN_QUESTIONS,
    PATIENT_ID_RE,
    PATIENT_SCREEN_QUESTIONS,
    SCREEN_LABELS,
    SCREEN_QUESTIONS,
    SCREEN_RENAMED,
    AlarmScreen,
    Name,
    Patient,
    PatientId,
    Record,
    RecordId,
    Sex,
    ShortText,
    Text,
    Tri,
    Visit,
    VisitKind,
    new_id,
    new_ids,
)
from casebook.models._case import (
    Case,
)
from casebook.models._history import (
    HISTORY_CATEGORIES,
    SAFETY_FACTS,
    Allergy,
    DietHistory,
    EnvironmentalExposure,
    FamilyHistory,
    FoodSensitivity,
    HistoryData,
    HistoryEntry,
    Infection,
    InflammatoryCondition,
    Level,
    Medication,
    SafetyFacts,
    StressHistory,
)
from casebook.models._letter import (
    LetterRecord,
)
from casebook.models._records import (
    PLAN_CATEGORIES,
    CautionConfirmation,
    FlagReview,
    InstrumentResponse,
    Note,
    PlanItem,
    SymptomRating,
    TestOrder,
    TestResult,
)

__all__ = [
    "CHECKIN",
    "EXAMINATION_FINDINGS",
    "HISTORY_CATEGORIES",
    "LEGACY_SCREEN_QUESTIONS",
    "PATIENT_ID_RE",
    "PATIENT_SCREEN_QUESTIONS",
    "PLAN_CATEGORIES",
    "SAFETY_FACTS",
    "SCREEN_LABELS",
    "SCREEN_QUESTIONS",
    "SCREEN_RENAMED",
    "AlarmScreen",
    "Allergy",
    "Case",
    "CautionConfirmation",
    "DietHistory",
    "EnvironmentalExposure",
    "FamilyHistory",
    "FlagReview",
    "FoodSensitivity",
    "HistoryData",
    "HistoryEntry",
    "Infection",
    "InflammatoryCondition",
    "InstrumentResponse",
    "LetterRecord",
    "Level",
    "Medication",
    "Name",
    "Note",
    "Patient",
    "PatientId",
    "PlanItem",
    "Record",
    "RecordId",
    "SafetyFacts",
    "Sex",
    "ShortText",
    "StressHistory",
    "SymptomRating",
    "TestOrder",
    "TestResult",
    "Text",
    "Tri",
    "Visit",
    "VisitKind",
    "new_id",
    "new_ids",
]
