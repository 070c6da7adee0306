"""A letter kept with the case (see casebook.letters and `CaseStore.save_letter`)."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, field_serializer, field_validator

from casebook.models._base import Record, ShortText

__all__ = ["LetterRecord"]


class LetterRecord(Record):
    """A letter made from the record and kept with the case (casebook.letters): never
    edited, only added (or soft-deleted). `pdf` is the document as it was given, so the
    patient can download it again; in JSON it is base64. Saving one does not change the
    record version: a letter is made from the record, it is not part of it."""

    kind: Literal["referral", "after_visit_summary"]
    recipient: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)
    ]
    letter_date: date = Field(description="The date printed on the letter")
    title: ShortText = ""
    content_hash: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] = Field(
        description="SHA-256 of the letter's HTML: the same record version gives the same hash"
    )
    record_version: int = Field(ge=0, description="The record version it was made from")
    pdf: bytes = Field(
        repr=False,
        min_length=5,
        max_length=20_000_000,
        description="The PDF as given (base64 in JSON)",
    )
    created_by: ShortText = ""
    created_at: datetime | None = None

    @field_validator("pdf", mode="before")
    @classmethod
    def _pdf_from_base64(cls, value: Any) -> Any:
        if isinstance(value, str):  # from JSON
            try:
                return base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise ValueError("is not base64") from None
        return value

    @field_validator("pdf")
    @classmethod
    def _is_pdf(cls, value: bytes) -> bytes:
        if not value.startswith(b"%PDF-"):
            raise ValueError("is not a PDF document")
        return value

    @field_validator("created_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        """Stored in UTC; SQLite gives it back without its zone."""
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value

    @field_serializer("pdf", when_used="json")
    def _pdf_to_base64(self, value: bytes) -> str:
        return base64.b64encode(value).decode("ascii")
