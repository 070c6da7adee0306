"""Who is asking: a patient link's token, or the session cookie it set.

`PatientIdentityProvider` is a jupyter_server `IdentityProvider`: every request is checked
against the store again (token or session hash, expiry, revocation, patient not deleted), so
revoking a link or letting it expire ends its open sessions at the next request. The session
cookie holds a random session id, never the token (the store keeps only hashes of both):
HttpOnly, SameSite=Strict, Path=/, Secure when the server's public URL is https (or the
request came over https), and it expires with the link. A token in the URL wins over the
cookie, so a newer link replaces an older session in the same browser, and an invalid token
in the URL is refused even when a valid cookie is present: the token alone decides which
patient is shown.
"""

from __future__ import annotations

import asyncio
import typing
from dataclasses import dataclass, field
from datetime import UTC, datetime

from jupyter_server.auth.identity import IdentityProvider, User
from tornado import web
from traitlets import Any, Bool, Unicode

from casebook.errors import CasebookError
from casebook.serve.tokens import (
    AccessRefused,
    Grant,
    check_session,
    check_token,
    hash_token,
    open_session,
)

__all__ = [
    "COOKIE_NAME",
    "ENDED_COOKIE_NAME",
    "NoCredentials",
    "PatientIdentityProvider",
    "PatientUser",
]

COOKIE_NAME = "casebook_session"
ENDED_COOKIE_NAME = "casebook_link_ended"
"""Set when a session is refused because its link was revoked or expired: the cookie holds
only that word, so a reload of the open page still says why, in plain words."""
_ENDED_REASONS = ("revoked", "expired")
_ENDED_SECONDS = 30 * 24 * 3600


class NoCredentials(CasebookError):
    """The request carries neither a token nor a session cookie."""


@dataclass
class PatientUser(User):
    """One patient link. `username` is the link id, never the patient's name."""

    patient_id: str = ""
    link_id: str = ""
    via: str = ""  # "link" (token in the URL) or "session" (the cookie)
    session_key: str = field(default="", repr=False)  # the stored hash of the session id
    expires_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    token_hash: str = field(default="", repr=False)


class PatientIdentityProvider(IdentityProvider):
    """Maps a token (or its cookie) to exactly one patient; no login page, no password."""

    store = Any(help="The CaseStore that holds the access tokens (set by the app)")
    cookie_name = Unicode(COOKIE_NAME, help="Name of the session cookie").tag(config=False)
    secure_cookies = Bool(False, help="Mark the session cookie Secure (an https public URL)")

    @property
    def auth_enabled(self) -> bool:
        return True

    @property
    def login_available(self) -> bool:
        return False

    def get_handlers(self) -> list[tuple[str, object]]:
        return []  # no /login, no /logout: a link is the only way in

    def get_cookie_name(self, handler: web.RequestHandler) -> str:
        return self.cookie_name

    def presented(self, handler: web.RequestHandler) -> tuple[str, str]:
        """(token, via) from the URL, else from the cookie; NoCredentials if neither."""
        in_url = handler.request.query_arguments.get("token")
        if in_url is not None:
            if len(in_url) != 1:
                raise AccessRefused("unknown")
            return in_url[0].decode("ascii", "replace"), "link"
        cookie = handler.get_cookie(self.cookie_name)
        if cookie:
            return cookie, "session"
        raise NoCredentials()

    async def identify(self, handler: web.RequestHandler) -> PatientUser:
        """The patient of this request; AccessRefused or NoCredentials otherwise."""
        secret, via = self.presented(handler)
        check = check_token if via == "link" else check_session
        grant: Grant = await asyncio.to_thread(check, self.store, secret)
        return self.user_of(grant, secret, via)

    def user_of(self, grant: Grant, secret: str, via: str) -> PatientUser:
        """The patient user of a `grant` found for `secret` (a link token or session id)."""
        return PatientUser(
            username=f"link-{grant.link_id}",
            name="patient link",
            display_name="patient link",
            patient_id=grant.patient_id,
            link_id=grant.link_id,
            via=via,
            expires_at=grant.expires_at,
            token_hash=grant.token_hash,
            session_key=hash_token(secret) if via == "session" else "",
        )

    async def get_user(self, handler: web.RequestHandler) -> PatientUser | None:
        try:
            return await self.identify(handler)
        except (AccessRefused, NoCredentials):
            return None

    async def open_session(self, handler: web.RequestHandler, user: PatientUser) -> None:
        """Store a new session for the link `user` came with and set its cookie."""
        now = datetime.now(UTC)
        link = Grant(user.patient_id, user.link_id, user.token_hash, user.expires_at)
        session = await asyncio.to_thread(open_session, self.store, link, now=now)
        # The cookie outlives the link by a while: a reload after expiry then says
        # "expired" (the store refuses the session) instead of asking for a link.
        seconds = max(0, int((user.expires_at - now).total_seconds())) + _ENDED_SECONDS
        if handler.get_cookie(ENDED_COOKIE_NAME):  # a new link after an ended one
            handler.clear_cookie(ENDED_COOKIE_NAME, **self._cookie_options(handler))
        handler.set_cookie(
            self.cookie_name, session, max_age=seconds, **self._cookie_options(handler)
        )

    def _cookie_options(self, handler: web.RequestHandler) -> dict[str, typing.Any]:
        """Every cookie this server sets or clears: host-only, script-proof, same-site, and
        Secure under an https public URL (or an https request)."""
        return {
            "path": "/",
            "httponly": True,
            "samesite": "Strict",
            "secure": self.secure_cookies or handler.request.protocol == "https",
        }

    def clear_session(self, handler: web.RequestHandler, reason: str = "") -> None:
        """Drop the session cookie; with `reason` (revoked, expired) remember it, so the
        next reload of the open page says why rather than asking for a link."""
        handler.clear_cookie(self.cookie_name, **self._cookie_options(handler))
        if reason in _ENDED_REASONS:
            handler.set_cookie(
                ENDED_COOKIE_NAME, reason, max_age=_ENDED_SECONDS, **self._cookie_options(handler)
            )

    def ended_reason(self, handler: web.RequestHandler) -> str | None:
        """Why this browser's last session ended (revoked, expired), if it was refused."""
        reason = handler.get_cookie(ENDED_COOKIE_NAME)
        return reason if reason in _ENDED_REASONS else None
