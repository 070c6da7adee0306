"""The words of the clinical domain, one spelling each: how urgent something is, what a
result's flag means, and how much weight a test's evidence carries, each with the words a
practitioner reads and the words a patient reads.

A leaf: it imports nothing from casebook, so the catalog and the models can use its words,
and every view (workbook, `casebook flags` and `show`, the clinic worklist, the letters,
the patient dashboard) shows them from here rather than spelling them again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from typing import Literal, get_args

__all__ = [
    "EVIDENCE_LEVELS",
    "EVIDENCE_PATIENT_WORDS",
    "GET_IN_TOUCH",
    "GET_IN_TOUCH_WHY",
    "RED_FLAG_URGENCIES",
    "RESULT_DISCUSS_WORDS",
    "RESULT_FLAGS",
    "RESULT_FLAG_PATIENT_WORDS",
    "RESULT_FLAG_WORDS",
    "RESULT_REVIEWED_WORDS",
    "SCREEN_PATIENT_QUESTIONS",
    "SEVERITY_PATIENT_WORDS",
    "SEVERITY_WORDS",
    "Evidence",
    "ResultFlag",
    "Urgency",
    "dated_patient_text",
    "drug_class_words",
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

SCREEN_PATIENT_QUESTIONS: Mapping[str, str] = {
    "unintentional_weight_loss": "Have you lost weight without trying to?",
    "gi_bleeding": "Have you seen blood in your stools (poo) or when you wipe?",
    "melena": "Have your stools (poo) been black and sticky, like tar?",
    "hematemesis": "Have you been sick (vomited) blood, or what looks like coffee grounds?",
    "nocturnal_symptoms": "Do your tummy or bowel symptoms wake you up at night?",
    "abdominal_or_rectal_mass": "Have you felt a new lump in your tummy or your bottom?",
    "anal_mass_or_ulceration": "Have you had a sore in or around your bottom that has not healed?",
    "fever": "Have you had a high temperature (fever)?",
    "night_sweats": "Have you had sweats at night that soak your sheets or nightclothes?",
    "progressive_pain": "Has your tummy pain been getting steadily worse?",
    "bowel_habit_change": "Have your bowel habits changed (looser, harder, more or less often)?",
    "dysphagia": "Do you have trouble swallowing, or does food feel stuck?",
    "upper_abdominal_pain": "Have you had pain or discomfort in the upper part of your tummy?",
    "reflux": "Have you had heartburn, or acid coming back up into your throat?",
    "dyspepsia": "Have you had indigestion?",
    "treatment_resistant_dyspepsia": "Has indigestion carried on even with medicine for it?",
    "nausea_or_vomiting": "Have you felt sick (nauseous) or been sick?",
    "back_pain": "Have you had back pain?",
    "jaundice": "Have your skin or the whites of your eyes turned yellow?",
    "new_onset_diabetes": "Have you been told in the last few months that you have diabetes?",
}
"""The alarm screen's yes/no questions (`models.PATIENT_SCREEN_QUESTIONS`: all but what
only an examination finds) as a patient reads
them in a check-in: plain, calm words, one question each (the practitioner's words are
`models.SCREEN_LABELS`)."""

GET_IN_TOUCH = "Please get in touch with your practitioner"
GET_IN_TOUCH_WHY = (
    "Some of your answers or results are ones your practitioner would like to talk through "
    "with you soon. If you have already spoken about them, there is nothing more you need "
    "to do."
)

# A time word is true only on the day the text was written: "today" read a week later is a
# promise of a call at a time that has passed.
_TIME_WORDS = re.compile(r"\s*\b(?:today|tonight|this (?:morning|afternoon|evening))\b", re.I)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_NOTHING_LEFT = "Your practitioner can tell you more about this."


def dated_patient_text(
    text: str,
    *,
    written_on: date | None,
    today: date | None,
    needs_contact: bool,
    title: bool = False,
) -> str:
    """Patient text as it may be read on `today`: unchanged on the day it was written
    (`written_on`); after that day (or when either date is unknown) nothing in it says
    "today". A `title` loses the time word; in instructions each sentence with one is
    replaced by the request to get in touch while a red flag still needs contact
    (`needs_contact`, from the flag lifecycle), and is left out once it does not."""
    if not _TIME_WORDS.search(text) or (written_on is not None and written_on == today):
        return text
    if title:
        return _TIME_WORDS.sub("", text).strip()
    kept: list[str] = []
    for sentence in _SENTENCE.split(text.strip()):
        if not _TIME_WORDS.search(sentence):
            kept.append(sentence)
        elif needs_contact and f"{GET_IN_TOUCH}." not in kept:
            kept.append(f"{GET_IN_TOUCH}.")
    return " ".join(kept) if kept else _NOTHING_LEFT


RESULT_DISCUSS_WORDS = "your practitioner would like to talk this result through with you"
"""A result an open (or acknowledged, or referred) red flag cites: never the usual range."""
RESULT_REVIEWED_WORDS = "your practitioner has looked at this result"
"""A result only resolved red flags cite: not current, and still never the usual range."""

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


# Written as clinicians write them: initialisms in capitals, the rest in words.
_DRUG_CLASS_INITIALISMS = frozenset(
    {"ace", "arb", "cyp", "dmard", "h2", "maoi", "nsaid", "pgp", "ppi", "snri", "ssri", "tca"}
)
_DRUG_CLASS_WORDS: Mapping[str, str] = {
    "cyp_pgp_substrate": "Narrow-margin CYP3A4, CYP2D6 or P-gp substrate",
    "h2_blocker": "H2-receptor antagonist",
}


def drug_class_words(key: str) -> str:
    """A medicine class key as a clinician writes it: 'proton_pump_inhibitor' ->
    'Proton pump inhibitor', 'nsaid' -> 'NSAID', 'ssri' -> 'SSRI'."""
    if key in _DRUG_CLASS_WORDS:
        return _DRUG_CLASS_WORDS[key]
    words = [w.upper() if w in _DRUG_CLASS_INITIALISMS else w for w in key.split("_")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]
