"""A read-only peek at a SQLite store without SQLAlchemy: whether it holds a patient.

`casebook new` uses it to write a notebook in well under a second; anything it cannot tell
(PostgreSQL, a URL with options, an unmigrated file) goes through `CaseStore`, which explains."""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

__all__ = ["fast_sqlite_url", "patient_exists"]

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


def patient_exists(db: Path, patient_id: str) -> bool:
    """Whether the store file holds the (not deleted) patient; False when unsure."""
    if not db.is_file():
        return False
    try:
        conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return False
    try:
        row = conn.execute(
            "SELECT 1 FROM patients WHERE id = ? AND deleted_at IS NULL", (patient_id,)
        ).fetchone()
    except sqlite3.Error:  # not a casebook store, or not migrated: the store path says so
        return False
    finally:
        conn.close()
    return row is not None
