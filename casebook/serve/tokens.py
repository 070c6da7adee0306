"""Patient links: random tokens kept only as SHA-256 hashes, with an expiry and revocation.

A link is `http://HOST:PORT/dashboard?token=<token>`. The token is 32 random bytes
(`secrets.token_urlsafe`, 43 characters); the store keeps only its SHA-256 hash, so a copy
of the database gives no working link. Every grant, revoke, use and refused use is written
to the audit log with entity "access" and the link's id (the first 12 hex digits of the
hash), never the token itself.

Why `?token=` and not `#token`: a fragment never reaches the server, so it would need a
script on the page to read it and send it on; the dashboard serves no script at all (its
Content-Security-Policy allows none). The server takes the token from the first request,
answers with a session cookie and sends the browser on to the bare `/dashboard`, so the
token leaves the address bar, and `Referrer-Policy: no-referrer` keeps it out of Referer
headers.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import sqlalchemy as sa

from casebook.errors import CasebookError, InputError
from casebook.store import CaseStore, NotFoundError
from casebook.store import tables as t

__all__ = [
    "DEFAULT_BASE_URL",
    "LINK_PATH",
    "MAX_DAYS",
    "AccessRefused",
    "Grant",
    "check_token",
    "grant",
    "hash_token",
    "issue_token",
    "link_url",
    "record_use",
    "revoke",
]

DEFAULT_BASE_URL = "http://127.0.0.1:8866"
LINK_PATH = "/dashboard"
MAX_DAYS = 365
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
Reason = Literal["unknown", "expired", "revoked"]


@dataclass(frozen=True)
class Grant:
    """What a valid token maps to: exactly one patient, until `expires_at`."""

    patient_id: str
    link_id: str
    token_hash: str
    expires_at: datetime


class AccessRefused(CasebookError):
    """A token that opens nothing. `.reason` is 'unknown', 'expired' or 'revoked';
    `.patient_id` and `.link_id` are set when the token was once valid."""

    def __init__(self, reason: Reason, patient_id: str | None = None, link_id: str = "") -> None:
        super().__init__(f"link {reason}")
        self.reason: Reason = reason
        self.patient_id = patient_id
        self.link_id = link_id


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def hash_token(token: str) -> str:
    """The SHA-256 hex digest stored for `token`."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _link_id(token_hash: str) -> str:
    return token_hash[:12]


def _check_days(days: object) -> int:
    if type(days) is not int or not 1 <= days <= MAX_DAYS:
        raise InputError(f"days: a link lasts 1 to {MAX_DAYS} whole days (got {days!r})")
    return days


def issue_token(
    store: CaseStore, patient_id: str, *, days: int = 30, now: datetime | None = None
) -> tuple[str, Grant]:
    """A fresh token for a live patient, valid for `days`; (token, grant). Audited."""
    days = _check_days(days)
    now = now or _now()
    token = secrets.token_urlsafe(32)
    digest = hash_token(token)
    expires = now + timedelta(days=days)
    with store.transaction() as conn:
        store.lock_patient(conn, patient_id)  # NotFoundError for unknown or deleted patients
        conn.execute(
            t.access_tokens.insert(),
            {"token_hash": digest, "patient_id": patient_id, "created_at": now,
             "expires_at": expires, "revoked_at": None},
        )
        store.audit(conn, patient_id, "access", _link_id(digest), "grant", None,
                    {"link": _link_id(digest), "expires_at": expires.isoformat()})
    return token, Grant(patient_id, _link_id(digest), digest, expires)


def link_url(base_url: str, token: str) -> str:
    """The link a patient opens: `<base_url>/dashboard?token=<token>`."""
    return f"{base_url.rstrip('/')}{LINK_PATH}?token={token}"


def grant(
    store: CaseStore, patient_id: str, days: int = 30, *, base_url: str = DEFAULT_BASE_URL
) -> str:
    """Issue a new link for `patient_id` valid for `days` and return its URL."""
    token, _ = issue_token(store, patient_id, days=days)
    return link_url(base_url, token)


def revoke(store: CaseStore, patient_id: str, *, now: datetime | None = None) -> int:
    """End every link of `patient_id` at once (open sessions included: each request is
    checked against the store). Returns how many links were still unrevoked. Audited."""
    now = now or _now()
    tokens = t.access_tokens
    with store.transaction() as conn:
        known = conn.execute(
            sa.select(t.patients.c.id).where(t.patients.c.id == patient_id)
        ).first()
        if known is None:
            raise NotFoundError(f"no patient {patient_id!r} in the store")
        ended = conn.execute(
            sa.update(tokens)
            .where(tokens.c.patient_id == patient_id, tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        ).rowcount
        store.audit(conn, patient_id, "access", None, "revoke", None, {"links": ended})
    return int(ended)


def check_token(store: CaseStore, token: str, *, now: datetime | None = None) -> Grant:
    """The grant of a valid token, or AccessRefused (unknown, expired or revoked; a deleted
    patient's links count as revoked). Read-only; the caller audits the use."""
    if not isinstance(token, str) or not _TOKEN_RE.fullmatch(token):
        raise AccessRefused("unknown")
    digest = hash_token(token)
    tokens, patients = t.access_tokens, t.patients
    query = (
        sa.select(tokens, patients.c.deleted_at.label("patient_deleted_at"))
        .join(patients, patients.c.id == tokens.c.patient_id)
        .where(tokens.c.token_hash == digest)
    )
    with store.engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        raise AccessRefused("unknown")
    link = _link_id(digest)
    if row.revoked_at is not None or row.patient_deleted_at is not None:
        raise AccessRefused("revoked", row.patient_id, link)
    expires = _aware(row.expires_at)
    if expires <= (now or _now()):
        raise AccessRefused("expired", row.patient_id, link)
    return Grant(row.patient_id, link, digest, expires)


def record_use(
    store: CaseStore,
    patient_id: str,
    link_id: str,
    action: Literal["open", "view", "refused"],
    detail: dict[str, str],
) -> None:
    """Write one use of a link to the audit log (entity 'access')."""
    with store.transaction() as conn:
        store.audit(conn, patient_id, "access", link_id, action, None,
                    {"link": link_id, **detail})
