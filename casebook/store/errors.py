"""What the store raises and returns besides records."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel

from casebook.errors import CasebookError

__all__ = [
    "AuditEntry",
    "ConflictError",
    "NotFoundError",
    "PatientSummary",
    "integrity_message",
]


class ConflictError(CasebookError, RuntimeError):
    """A save or delete was based on a version that someone else has replaced."""

    def __init__(self, kind: str, record_id: str, expected: int, current: Any, by: str | None):
        who = f" by {by}" if by else ""
        state = (
            "deleted" if current is None else f"now at version {getattr(current, 'version', '?')}"
        )
        super().__init__(
            f"conflict: {kind} {record_id} was changed{who} since you loaded it "
            f"(you had version {expected}, it is {state}); reload and apply your edit again"
        )
        self.kind, self.record_id, self.expected, self.current, self.by = (
            kind,
            record_id,
            expected,
            current,
            by,
        )


class NotFoundError(CasebookError, KeyError):
    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "not found"


class PatientSummary(BaseModel):
    id: str
    name: str
    birth_date: date
    sex: str
    record_version: int
    updated_at: datetime


class AuditEntry(BaseModel):
    id: int
    at: datetime
    actor: str
    patient_id: str | None
    entity: str
    entity_id: str | None
    action: str
    before: Any
    after: Any
    chain: str | None = None


def integrity_message(kind: str, record: Any, exc: sa.exc.IntegrityError) -> str:
    text = str(exc.orig).lower()
    if "unique" in text or "duplicate" in text:
        hint = {
            "symptom": "this visit already has a rating for that symptom; edit it instead",
            "instrument": "this visit already has answers for that instrument; edit them instead",
            "result": "there is already a result of that test on that date; edit it instead",
        }.get(kind, "a record with this id already exists")
        return f"{kind} {record.id}: {hint}"
    if "foreign key" in text:
        return f"{kind} {record.id}: refers to a visit, order or patient that does not exist"
    return f"{kind} {record.id}: {exc.orig}"
