"""Patient links: random tokens kept only as SHA-256 hashes, with an expiry and revocation.

A link is `<base URL>/dashboard?token=<token>`, where the base URL is the server's own
`http://HOST:PORT` or the public address a TLS proxy answers on (`https://clinic.example`);
`check_base_url` refuses anything else before a token is made. The token is 32 random bytes
(`secrets.token_urlsafe`, 43 characters); the store keeps only its SHA-256 hash, so a copy
of the database gives no working link. Every grant, revoke, use and refused use is written
to the audit log with entity "access" and the link's id (the first 12 hex digits of the
hash), never the token itself.

Why `?token=` and not `#token`: a fragment never reaches the server, so it would need a
script on the page to read it and send it on; the dashboard serves no script at all (its
Content-Security-Policy allows none). The server takes the token from the first request,
answers with a session cookie and sends the browser on to the bare `/dashboard`, so the
token leaves the address bar, and `Referrer-Policy: same-origin` keeps it out of Referer
headers to any other site (the pages load nothing from one).

The cookie holds a session id, not the token: a fresh random id whose hash the store keeps
with the link it came from (`open_session`, `check_session`). A session opens only what
its link still opens, so revoking or expiring the link ends it at the next request.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from casebook.errors import CasebookError, InputError
from casebook.store import CaseStore
from casebook.store.access import StoredLink

__all__ = [
    "DEFAULT_BASE_URL",
    "LINK_PATH",
    "MAX_DAYS",
    "AccessRefused",
    "Grant",
    "Reason",
    "check_base_url",
    "check_days",
    "check_session",
    "check_token",
    "grant",
    "hash_token",
    "issue_token",
    "link_url",
    "open_session",
    "record_use",
    "revoke",
    "session_grant",
    "session_hash",
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


def hash_token(token: str) -> str:
    """The SHA-256 hex digest stored for `token`."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _link_id(token_hash: str) -> str:
    return token_hash[:12]


def check_days(days: object) -> int:
    """`days` if it is a whole number of days a link may last; InputError otherwise."""
    if type(days) is not int or not 1 <= days <= MAX_DAYS:
        raise InputError(f"days: a link lasts 1 to {MAX_DAYS} whole days (got {days!r})")
    return days


def issue_token(
    store: CaseStore, patient_id: str, *, days: int = 30, now: datetime | None = None
) -> tuple[str, Grant]:
    """A fresh token for a live patient, valid for `days`; (token, grant). Audited."""
    days = check_days(days)
    now = now or _now()
    token = secrets.token_urlsafe(32)
    digest = hash_token(token)
    expires = now + timedelta(days=days)
    store.add_link(patient_id, digest, _link_id(digest), created_at=now, expires_at=expires)
    return token, Grant(patient_id, _link_id(digest), digest, expires)


def check_base_url(url: str, field: str = "public URL") -> str:
    """`url` as links start with it (`scheme://host[:port]`, no trailing slash), or
    InputError naming `field`: it must be http(s) with a host, and have no path (the
    server answers at its root), query, fragment, user or spaces."""
    problem = f"{field}: must look like https://clinic.example.org or http://HOST:PORT"
    if not isinstance(url, str) or not url.isprintable() or any(c.isspace() for c in url):
        raise InputError(problem)
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        raise InputError(f"{problem} (the port is not a number from 1 to 65535)") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InputError(problem)
    if parts.query or parts.fragment or url.rstrip("/").endswith(("?", "#")):
        raise InputError(f"{field}: must have no query (?...) or fragment (#...)")
    if parts.path not in ("", "/"):
        raise InputError(f"{field}: must have no path (the server answers at its root)")
    if "@" in parts.netloc or port == 0:
        raise InputError(problem)
    return f"{parts.scheme.lower()}://{parts.netloc}"


def link_url(base_url: str, token: str) -> str:
    """The link a patient opens: `<base_url>/dashboard?token=<token>`."""
    return f"{check_base_url(base_url)}{LINK_PATH}?token={token}"


def grant(
    store: CaseStore, patient_id: str, days: int = 30, *, base_url: str = DEFAULT_BASE_URL
) -> str:
    """Issue a new link for `patient_id` valid for `days` and return its URL. A bad
    `base_url` is refused before any token is stored."""
    base = check_base_url(base_url)
    token, _ = issue_token(store, patient_id, days=days)
    return link_url(base, token)


def revoke(store: CaseStore, patient_id: str, *, now: datetime | None = None) -> int:
    """End every link of `patient_id` at once (open sessions included: each request is
    checked against the store). Returns how many links were still unrevoked. Audited."""
    return store.revoke_links(patient_id, now=now or _now())


def check_token(store: CaseStore, token: str, *, now: datetime | None = None) -> Grant:
    """The grant of a valid token, or AccessRefused (unknown, expired or revoked; a deleted
    patient's links count as revoked). Read-only; the caller audits the use."""
    if not isinstance(token, str) or not _TOKEN_RE.fullmatch(token):
        raise AccessRefused("unknown")
    return _granted(store.find_link(hash_token(token)), now)


def open_session(store: CaseStore, link: Grant, *, now: datetime | None = None) -> str:
    """A new session id for a browser that opened `link`, stored (as its hash) until the
    link expires. The id is random: it holds nothing of the token."""
    session = secrets.token_urlsafe(32)
    store.add_session(
        hash_token(session), link.token_hash, created_at=now or _now(), expires_at=link.expires_at
    )
    return session


def check_session(store: CaseStore, session: str, *, now: datetime | None = None) -> Grant:
    """The grant behind a session id, refused as `check_token` refuses its link (revoked,
    expired, patient deleted), or as unknown."""
    return _granted(store.find_session(session_hash(session)), now)


def session_hash(session: str) -> str:
    """The stored hash of a session id; AccessRefused (unknown) for one of the wrong form."""
    if not isinstance(session, str) or not _TOKEN_RE.fullmatch(session):
        raise AccessRefused("unknown")
    return hash_token(session)


def session_grant(stored: StoredLink | None, *, now: datetime | None = None) -> Grant:
    """`check_session`'s answer from the session `stored` (read with its `session_hash`)."""
    return _granted(stored, now)


def _granted(stored: StoredLink | None, now: datetime | None) -> Grant:
    if stored is None:
        raise AccessRefused("unknown")
    digest = stored.token_hash
    link = _link_id(digest)
    if stored.ended:
        raise AccessRefused("revoked", stored.patient_id, link)
    if stored.expires_at <= (now or _now()):
        raise AccessRefused("expired", stored.patient_id, link)
    return Grant(stored.patient_id, link, digest, stored.expires_at)


def record_use(
    store: CaseStore,
    patient_id: str,
    link_id: str,
    action: Literal["open", "view", "refused"],
    detail: dict[str, str],
) -> None:
    """Write one use of a link to the audit log (entity 'access')."""
    store.record_link_use(patient_id, link_id, action, detail)
