"""The store's side of patient links: token hashes, expiry, revocation and their audit.

The dashboard server (`casebook.serve.tokens`) makes the tokens, hashes them and builds
the links; it keeps them here through `CaseStore`'s methods (`add_link`, `find_link`, ...),
which call these functions, so no SQL lives outside the store.
Only the SHA-256 hash of a token is stored, and the audit log names a link by `link_id`
(the hash's first 12 hex digits), never by the token.

A browser that opened a link holds a session: the store keeps the SHA-256 hash of its
random id, the link it came from and an expiry no later than the link's. A session opens
only what its link opens (`find_session` reads the link with it), so revoking or expiring
a link ends its sessions at once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from casebook.errors import NotFoundError
from casebook.store import tables
from casebook.store.pipeline import send
from casebook.store.records import aware
from casebook.store.transaction import Transaction

__all__ = [
    "StoredLink",
    "add_link",
    "add_session",
    "find_link",
    "find_session",
    "live_link_patients",
    "record_link_use",
    "revoke_links",
    "send_session",
    "session_query",
    "stored_session",
]


@dataclass(frozen=True)
class StoredLink:
    """One stored token hash. `ended` is true when the link was revoked or its patient
    deleted: it opens nothing whatever its expiry."""

    token_hash: str
    patient_id: str
    created_at: datetime
    expires_at: datetime
    ended: bool


def add_link(
    tx: Transaction,
    patient_id: str,
    token_hash: str,
    link_id: str,
    *,
    created_at: datetime,
    expires_at: datetime,
) -> None:
    """Store a new link of a live patient (NotFoundError otherwise) and audit the grant."""
    tx.lock_patient(patient_id)
    tx.conn.execute(
        tables.access_tokens.insert(),
        {
            "token_hash": token_hash,
            "patient_id": patient_id,
            "created_at": created_at,
            "expires_at": expires_at,
            "revoked_at": None,
        },
    )
    tx.audit(
        patient_id,
        "access",
        link_id,
        "grant",
        None,
        {"link": link_id, "expires_at": expires_at.isoformat()},
    )


def revoke_links(tx: Transaction, patient_id: str, *, now: datetime) -> int:
    """End every unrevoked link of `patient_id` (deleted patients included); how many. Audited."""
    tokens, patients = tables.access_tokens, tables.patients
    known = tx.conn.execute(sa.select(patients.c.id).where(patients.c.id == patient_id)).first()
    if known is None:
        raise NotFoundError(f"no patient {patient_id!r} in the store")
    ended = tx.conn.execute(
        sa.update(tokens)
        .where(tokens.c.patient_id == patient_id, tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    ).rowcount
    tx.audit(patient_id, "access", None, "revoke", None, {"links": ended})
    return int(ended)


def _link_query() -> sa.Select[Any]:
    tokens, patients = tables.access_tokens, tables.patients
    return sa.select(tokens, patients.c.deleted_at.label("patient_deleted_at")).join(
        patients, patients.c.id == tokens.c.patient_id
    )


def _stored(row: sa.Row[Any], expires_at: datetime | None = None) -> StoredLink:
    link_expiry = aware(row.expires_at)
    return StoredLink(
        token_hash=row.token_hash,
        patient_id=row.patient_id,
        created_at=aware(row.created_at),
        expires_at=min(link_expiry, aware(expires_at)) if expires_at else link_expiry,
        ended=row.revoked_at is not None or row.patient_deleted_at is not None,
    )


def find_link(conn: sa.Connection, token_hash: str) -> StoredLink | None:
    """The stored link of this hash, or None."""
    query = _link_query().where(tables.access_tokens.c.token_hash == token_hash)
    row = conn.execute(query).first()
    return None if row is None else _stored(row)


def add_session(
    tx: Transaction,
    session_hash: str,
    token_hash: str,
    *,
    created_at: datetime,
    expires_at: datetime,
) -> None:
    """Store a session opened from the link `token_hash` (which must exist), ending at
    `expires_at` at the latest."""
    tx.conn.execute(
        tables.access_sessions.insert(),
        {
            "session_hash": session_hash,
            "token_hash": token_hash,
            "created_at": created_at,
            "expires_at": expires_at,
        },
    )


def find_session(conn: sa.Connection, session_hash: str) -> StoredLink | None:
    """The link behind the session of this hash (its expiry the earlier of the session's
    and the link's), or None."""
    row = conn.execute(_session_query(), {"session_hash": session_hash}).first()
    return None if row is None else _stored(row, row.session_expires_at)


def session_query() -> sa.Select[Any]:
    """`find_session`'s statement (bound `session_hash`), for a read made another way."""
    return _session_query()


def stored_session(row: Any) -> StoredLink:
    """The link behind a session of a row read with `session_query` (by name)."""
    return _stored(row, row.session_expires_at)


def send_session(conn: sa.Connection, session_hash: str) -> Callable[[], StoredLink | None]:
    """`find_session` sent (inside `pipeline.pipelined`, with other reads): what reads it."""
    sent = send(conn, _session_query(), {"session_hash": session_hash})
    return lambda: next((_stored(r, r.session_expires_at) for r in sent()), None)


@functools.cache
def _session_query() -> sa.Select[Any]:
    """find_session's query (bound `session_hash`), built once: every request runs it."""
    sessions = tables.access_sessions
    return (
        _link_query()
        .add_columns(sessions.c.expires_at.label("session_expires_at"))
        .join(sessions, sessions.c.token_hash == tables.access_tokens.c.token_hash)
        .where(sessions.c.session_hash == sa.bindparam("session_hash"))
    )


def record_link_use(
    tx: Transaction, patient_id: str, link_id: str, action: str, detail: dict[str, Any]
) -> None:
    """Write one use of a link (open, view, refused) to the audit log, entity 'access'."""
    tx.audit(patient_id, "access", link_id, action, None, {"link": link_id, **detail})


def live_link_patients(conn: sa.Connection, patient_ids: set[str], *, now: datetime) -> set[str]:
    """The patients among `patient_ids` who are not deleted and hold a link that is neither
    revoked nor expired at `now`."""
    tokens, patients = tables.access_tokens, tables.patients
    query = (
        sa.select(tokens.c.patient_id)
        .distinct()
        .join(patients, patients.c.id == tokens.c.patient_id)
        .where(
            tokens.c.patient_id.in_(sorted(patient_ids)),
            tokens.c.revoked_at.is_(None),
            tokens.c.expires_at > now,
            patients.c.deleted_at.is_(None),
        )
    )
    return {row.patient_id for row in conn.execute(query)}
