"""The Letter record, its rendering (casebook.templating: autoescape on) and the print
stylesheet the two kinds of letter share."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import Any, Literal

from casebook.letters._settings import ClinicSettings
from casebook.templating import environment

__all__ = ["Letter", "LetterKind", "render_letter", "stylesheet"]

LetterKind = Literal["referral", "after_visit_summary"]
_TEMPLATES = {"referral": "referral.html.j2", "after_visit_summary": "summary.html.j2"}


@dataclass(frozen=True)
class Letter:
    """One generated letter: what it is, for whom, from which version of the record.

    `html` is a whole standalone page (the print stylesheet inlined), the same page the PDF
    is made from; `content_hash` is the SHA-256 of it, so the same record version, settings
    and options give the same hash, and `to_pdf` the same bytes.
    """

    kind: LetterKind
    patient_id: str
    recipient: str
    date: date
    title: str
    html: str
    content_hash: str
    record_version: int

    @property
    def filename(self) -> str:
        """A file name for the PDF, e.g. ``demo-0001-referral-2025-06-01.pdf``."""
        kind = "referral" if self.kind == "referral" else "after-visit-summary"
        return f"{self.patient_id}-{kind}-{self.date.isoformat()}.pdf"

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:  # cheap, and no patient data beyond the record id
        return (
            f"Letter({self.kind!r}, {self.patient_id!r}, {self.date.isoformat()}, "
            f"v{self.record_version}, {self.content_hash[:12]})"
        )


@functools.cache
def stylesheet() -> str:
    """letters.css: the one print stylesheet of the HTML version and of the PDF."""
    return (resources.files("casebook.letters") / "templates" / "letters.css").read_text("utf-8")


def render_letter(
    kind: LetterKind,
    *,
    patient_id: str,
    recipient: str,
    on: date,
    title: str,
    record_version: int,
    settings: ClinicSettings,
    context: Mapping[str, Any],
) -> Letter:
    # autoescaped: every string from a person prints as text, never as markup
    page = (
        environment("casebook.letters", "trim")
        .get_template(_TEMPLATES[kind])
        .render(title=title, on=on, clinic=settings, css=stylesheet(), **context)
    )
    digest = hashlib.sha256(page.encode("utf-8")).hexdigest()
    return Letter(kind, patient_id, recipient, on, title, page, digest, record_version)
