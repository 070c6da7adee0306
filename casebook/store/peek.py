"""A read-only peek at a SQLite store without SQLAlchemy: a patient's name (whether it holds
the patient), and every live patient's record version and name (a case workbook is named
after its patient).

`casebook new` uses it to write a notebook in well under a second, and `casebook batch` to
see that every notebook is current without opening the store; anything it cannot tell
(PostgreSQL, a URL with options, an unmigrated file) goes through `CaseStore`, which explains."""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

__all__ = [
    "fast_sqlite_url",
    "patient_name",
    "patient_names",
    "patient_versions",
]

# Same default as `casebook.store.resolve_url` (a test keeps them in step).
_DEFAULT_URL = "sqlite:///casebook.db"
_PLAIN_SQLITE = re.compile(r"sqlite:///(?P<path>[A-Za-z0-9_./~-]+)")


def fast_sqlite_url(url: str | None) -> tuple[str, Path] | None:
    """`(public_database_url(url), file)` for a plain SQLite file URL, else None.

    `url` None means `$CASEBOOK_DB`, else the default, as `resolve_url` decides."""
    chosen = url or os.environ.get("CASEBOOK_DB") or _DEFAULT_URL
    match = _PLAIN_SQLITE.fullmatch(chosen.strip())
    if match is None or match["path"] in (":memory:",) or match["path"].startswith("file:"):
        return None
    path = Path(os.path.abspath(os.path.expanduser(match["path"])))
    return f"sqlite:///{path}", path


def _rows(db: Path, query: str, args: tuple[str, ...] = ()) -> list[tuple[object, ...]] | None:
    """The rows of a read-only query; None when the file is not a readable casebook store
    (missing, not SQLite, not migrated: the store path says so)."""
    if not db.is_file():
        return None
    try:
        conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        return conn.execute(query, args).fetchall()
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def patient_versions(db: Path) -> dict[str, int] | None:
    """Every live patient's id and record version (as `CaseStore.patients()` reports them);
    None when unsure."""
    rows = _rows(db, "SELECT id, record_version FROM patients WHERE deleted_at IS NULL")
    if rows is None:
        return None
    return {str(pid): int(str(version)) for pid, version in rows}


def patient_name(db: Path, patient_id: str) -> str | None:
    """The (not deleted) patient's name; None when unsure."""
    rows = _rows(db, "SELECT name FROM patients WHERE id = ? AND deleted_at IS NULL", (patient_id,))
    return str(rows[0][0]) if rows else None


def patient_names(db: Path) -> dict[str, str] | None:
    """Every live patient's id and name; None when unsure."""
    rows = _rows(db, "SELECT id, name FROM patients WHERE deleted_at IS NULL")
    return None if rows is None else {str(pid): str(name) for pid, name in rows}
