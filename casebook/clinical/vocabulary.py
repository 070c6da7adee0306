"""The words of the clinical domain, one spelling each: how urgent something is, what a
result's flag means, and how much weight a test's evidence carries, each with the words a
practitioner reads and the words a patient reads.

A leaf: it imports nothing from casebook, so the catalog and the models can use its words,
and every view (workbook, `casebook flags` and `show`, the clinic worklist, the letters,
the patient dashboard) shows them from here rather than spelling them again.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Literal, get_args

__all__ = [
    "EVIDENCE_LEVELS",
    "EVIDENCE_PATIENT_WORDS",
    "GET_IN_TOUCH",
    "GET_IN_TOUCH_WHY",
    "RED_FLAG_URGENCIES",
    "RESULT_FLAGS",
    "RESULT_FLAG_PATIENT_WORDS",
    "RESULT_FLAG_WORDS",
    "SEVERITY_PATIENT_WORDS",
    "SEVERITY_WORDS",
    "Evidence",
    "ResultFlag",
    "Urgency",
    "result_patient_words",
    "severity_words",
]


class Urgency(StrEnum):
    """How soon a practitioner should act, most urgent first (the members' order is the
    scale's order). The values are the catalog's and the store's spelling.

    A red-flag rule carries SAME_DAY, URGENT or ROUTINE (`RED_FLAG_URGENCIES`). SOON is the
    clinic worklist's level for what is not a red flag but should not wait for the next
    routine review: a flagged result to review, an overdue test, a worse score."""

    SAME_DAY = "same_day"
    URGENT = "urgent"
    SOON = "soon"
    ROUTINE = "routine"

    @property
    def rank(self) -> int:
        """0 for the most urgent; sort by it."""
        return _RANK[self]

    @property
    def label(self) -> str:
        """The practitioner's word: 'same day', 'urgent', 'soon', 'routine'."""
        return self.value.replace("_", " ")

    @property
    def needs_contact(self) -> bool:
        """Is a patient with an open flag of this urgency asked to get in touch?"""
        return self in (Urgency.SAME_DAY, Urgency.URGENT)

    @property
    def patient_words(self) -> str:
        """What a patient reads about an open flag of this urgency: the request to get in
        touch (never a promise of a call-back at a given time), or nothing."""
        return GET_IN_TOUCH if self.needs_contact else ""


_RANK: Mapping[Urgency, int] = {u: i for i, u in enumerate(Urgency)}

RED_FLAG_URGENCIES: tuple[Urgency, ...] = (Urgency.SAME_DAY, Urgency.URGENT, Urgency.ROUTINE)
"""The urgencies a red-flag rule may carry."""

GET_IN_TOUCH = "Please get in touch with your practitioner"
GET_IN_TOUCH_WHY = (
    "Some of your answers or results are ones your practitioner would like to talk through "
    "with you soon. If you have already spoken about them, there is nothing more you need "
    "to do."
)

ResultFlag = Literal["H", "L", "A"]
"""A result's flag: above its range, below it, or an abnormal qualitative value."""
RESULT_FLAGS: tuple[ResultFlag, ...] = get_args(ResultFlag)
RESULT_FLAG_WORDS: Mapping[ResultFlag, str] = {"H": "high", "L": "low", "A": "abnormal"}
"""The practitioner's word for each flag."""
RESULT_FLAG_PATIENT_WORDS: Mapping[ResultFlag, str] = {
    "H": "above the usual range",
    "L": "below the usual range",
    "A": "not the usual result",
}
"""The patient's words for each flag."""


def result_patient_words(flag: ResultFlag | None, *, numeric: bool) -> str:
    """What a patient reads about a result: a number against its usual range, or a
    qualitative value (any flag on it reads as not the usual result)."""
    if not numeric:
        return RESULT_FLAG_PATIENT_WORDS["A"] if flag else "the usual result"
    return RESULT_FLAG_PATIENT_WORDS[flag] if flag else "within the usual range"


SEVERITY_WORDS: tuple[str, ...] = ("none", "mild", "moderate", "marked", "severe")
"""A symptom's severity (0 to 4) in the practitioner's words."""
SEVERITY_PATIENT_WORDS: tuple[str, ...] = ("none", "mild", "moderate", "strong", "severe")
"""A symptom's severity (0 to 4) in the patient's words."""

Evidence = Literal["guideline-backed", "supportive", "research-only", "not-recommended"]
"""How much weight a test or a protocol carries (the catalog's evidence label)."""
EVIDENCE_LEVELS: tuple[Evidence, ...] = get_args(Evidence)
EVIDENCE_PATIENT_WORDS: Mapping[Evidence, str] = {
    "guideline-backed": "A standard test that medical guidelines recommend.",
    "supportive": "A test that can add useful information alongside others.",
    "research-only": "A test still being studied: its results are uncertain, so your "
    "practitioner will not base decisions on it alone.",
    "not-recommended": "Experts do not recommend this test: its results are not reliable "
    "enough to base decisions on.",
}
"""The patient's words for each evidence label."""


def severity_words(*, patient: bool) -> tuple[str, ...]:
    """How a symptom's severity (0 to 4) is said: the patient's words, or the
    practitioner's ("strong" where a practitioner reads "marked")."""
    return SEVERITY_PATIENT_WORDS if patient else SEVERITY_WORDS
