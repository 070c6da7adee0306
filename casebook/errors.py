"""One error family for casebook.

Every error casebook raises for bad input or bad state derives from `CasebookError`; the
CLI catches this base and prints one line, so anything else that escapes is a bug and shows
as one. Subclasses may also derive from a builtin (``ValueError``, ``KeyError``) where
callers already rely on it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

__all__ = [
    "CasebookError",
    "CheckinClosed",
    "ClinicError",
    "ConflictError",
    "InputError",
    "NotFoundError",
    "RoleError",
    "StoreError",
    "UnreadableRecordError",
]


class CasebookError(Exception):
    """Bad input or bad state, explained in one line that names the field or row.

    The message never carries patient data beyond the name of the offending field and
    the line or record it came from.
    """

    def _render_traceback_(self) -> list[str]:
        """In a notebook (IPython asks for this), one line in place of a traceback."""
        return [f"{type(self).__name__}: {self}"]


class InputError(CasebookError, ValueError):
    """A value given on the command line, in configuration or in a file is not usable;
    the message names the option or field and says what is allowed."""


class StoreError(CasebookError, RuntimeError):
    """The store cannot be opened or used (missing, not migrated, bad URL), or refuses a
    write (a duplicate, a reference to a record that does not exist)."""


class RoleError(StoreError):
    """The database refused what the connection's role may not do ("your role cannot read
    results, notes or plans"), or a user or role command was refused; one line."""


class UnreadableRecordError(StoreError):
    """A stored record of a patient no longer validates (edited outside casebook, or left
    by an older version); the message names the record's kind, id and field, never a
    stored value."""


class NotFoundError(CasebookError, KeyError):
    """A patient or record asked for is not (or no longer) in the store."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "not found"


class ConflictError(CasebookError, RuntimeError):
    """A save or delete was based on a version that someone else has replaced.

    `current` is the record as it is now (None if deleted), `by` who changed it last and
    `at` when (as the audit log has them), so a form can offer the newer record and say
    whose edit it would overwrite."""

    def __init__(
        self,
        kind: str,
        record_id: str,
        expected: int,
        current: Any,
        by: str | None,
        at: datetime | None = None,
    ) -> None:
        who = f" by {by}" if by else ""
        if at is not None:
            who += f" at {at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
        state = (
            "deleted" if current is None else f"now at version {getattr(current, 'version', '?')}"
        )
        super().__init__(
            f"conflict: {kind} {record_id} was changed{who} since you loaded it "
            f"(you had version {expected}, it is {state}); reload and apply your edit again"
        )
        self.kind, self.record_id, self.expected = kind, record_id, expected
        self.current, self.by, self.at = current, by, at


class ClinicError(CasebookError, ValueError):
    """A clinic-view parameter or input that cannot be used; the message names it."""


class CheckinClosed(CasebookError, RuntimeError):
    """A check-in that can no longer take answers: already submitted (a replayed or
    doubled submission), expired, or its link revoked. `.reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"check-in {reason}")
        self.reason = reason
