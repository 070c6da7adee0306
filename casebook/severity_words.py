"""How a symptom's severity (0 to 4) is said: one wording for the practitioner, one for
the patient. The workbook, the charts, the dashboard and the letters all read them here, so
a rating reads the same wherever it appears.

A patient reads "strong" where a practitioner reads "marked": a lay reader knows how strong
a symptom felt, not what a marked one is.
"""

from __future__ import annotations

__all__ = ["PATIENT_SEVERITY_WORDS", "SEVERITY_WORDS", "severity_words"]

SEVERITY_WORDS = ("none", "mild", "moderate", "marked", "severe")
"""The practitioner's words, by severity (0 to 4)."""

PATIENT_SEVERITY_WORDS = ("none", "mild", "moderate", "strong", "severe")
"""The patient's words, by severity (0 to 4)."""


def severity_words(*, patient: bool) -> tuple[str, ...]:
    """The patient's words, or the practitioner's."""
    return PATIENT_SEVERITY_WORDS if patient else SEVERITY_WORDS
