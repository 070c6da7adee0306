"""The check-in routes of `casebook serve`: the one surface where a patient writes.

`/checkin?token=` opens a session exactly as `/dashboard?token=` does (the use audited, the
token out of the address bar) and comes back to `/checkin`, which sends the browser on to
the patient's open check-in, `/checkin/<id>`. GET shows the form and changes nothing (a
mail scanner opening the link uses nothing up). POST saves the answers so far or submits
them, and only with: the session cookie (never a token in the URL), no other origin, a
CSRF token bound to the session and the check-in, a form body no larger than
`MAX_CHECKIN_BODY`, within the link's submission rate. Each refusal has its status and
writes nothing: 400 a malformed body or answer, 403 another origin, a bad CSRF token or an
ended link, 404 a check-in of another patient, 409 one already submitted, 413 too large,
415 not a form, 429 too many.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from tornado import web

from casebook.checkins import (
    STYLE_HASH,
    CheckinInputError,
    Draft,
    Section,
    form_page,
    form_sections,
    message_page,
    parse_answers,
    safety_page,
    save_draft,
    submit,
)
from casebook.clinical.vocabulary import GET_IN_TOUCH_WHY
from casebook.errors import CheckinClosed, NotFoundError
from casebook.letters import load_clinic_settings
from casebook.serve.checkin_links import CHECKIN_PATH
from casebook.serve.handlers import DashboardHandler, Refusal
from casebook.serve.headers import CONTENT_SECURITY_POLICY
from casebook.serve.identity import NoCredentials, PatientUser
from casebook.serve.limits import RateLimiter, Throttled
from casebook.serve.tokens import AccessRefused, session_grant, session_hash
from casebook.store import CaseStore
from casebook.store.checkins import CheckinKey, StoredCheckin
from casebook.store.page_lookup import PageLookup

__all__ = [
    "CHECKIN_POLICY",
    "MAX_CHECKIN_BODY",
    "CheckinFormHandler",
    "CheckinStartHandler",
    "CheckinState",
    "checkin_state",
    "xsrf_token",
]

log = logging.getLogger("casebook.serve")

MAX_CHECKIN_BODY = 32 * 1024
"""The largest check-in form body read (every answer and 2,000 characters of free text)."""
CHECKIN_POLICY = CONTENT_SECURITY_POLICY.replace(
    "form-action 'none'", "form-action 'self'"
).replace("style-src 'self'", f"style-src 'self' 'sha256-{STYLE_HASH}'")
"""The dashboard's policy, plus the form's stylesheet and posting the form to this server."""

_SECTION_SETS = 64
"""How many sets of instruments' sections the server keeps (the rest are built per page)."""
_TITLES = {
    400: "Please check your answers",
    403: "This check-in cannot be sent from here",
    404: "Page not found",
    409: "Your answers were already sent",
    413: "Too much was sent",
    415: "This page takes only its own form",
    429: "Please wait a moment",
}


@dataclass
class CheckinState:
    """What the check-in handlers share beside `ServeState`: the submission limiter, the
    lookup a form page reads with, the clinic's name and phone (from its settings) for the
    words shown after an alarm, and each set of instruments' sections (the catalog does
    not change while the server runs)."""

    submissions: RateLimiter
    lookup: PageLookup
    clinic: str = ""
    phone: str = ""
    sections: dict[tuple[str, ...], list[Section]] = field(default_factory=dict)


def xsrf_token(session: str, checkin_id: str) -> str:
    """The CSRF token of a form: bound to the browser's session and to the check-in."""
    return hmac.new(session.encode(), f"checkin:{checkin_id}".encode(), hashlib.sha256).hexdigest()


class CheckinStartHandler(DashboardHandler):
    """`/checkin`: the link opens a session here; the session goes on to its check-in."""

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Content-Security-Policy", CHECKIN_POLICY)

    @property
    def extra(self) -> CheckinState:
        return cast(CheckinState, self.settings["casebook_checkins"])

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if status_code not in _TITLES or not isinstance(exc, Refusal) or not exc.message:
            super().write_error(status_code, **kwargs)
            return
        if exc.retry_after:
            self.set_header("Retry-After", str(exc.retry_after))
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(message_page(_TITLES[status_code], [exc.message]))

    def _landing(self) -> tuple[str, str]:
        return self.request.path, "check-in"  # a route's own fixed path, not the query

    async def _view(self, user: PatientUser) -> None:
        store = self.state.identity.store
        now = datetime.now(UTC)
        waiting = await asyncio.to_thread(store.checkins, user.patient_id, status="sent")
        ready = [c for c in waiting if c.closed_reason(now) is None]
        if ready:
            self.redirect(f"{CHECKIN_PATH}/{ready[0].id}", status=303)
            return
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(
            message_page(
                "No check-in is waiting",
                ["There is no check-in for you to fill in at the moment. Thank you."],
                link="/dashboard",
                link_text="Go to your page",
            )
        )


@web.stream_request_body
class CheckinFormHandler(CheckinStartHandler):
    """`/checkin/<id>`: GET shows the form; POST saves or submits it (see the module)."""

    SUPPORTED_METHODS = ("GET", "POST")  # type: ignore[assignment]  # the form posts
    _checkin_id = ""
    _prefetched = False
    _found: StoredCheckin | None = None

    def prepare(self) -> None:
        announced = self.request.headers.get("Content-Length", "0").strip() or "0"
        if not announced.isdigit() or int(announced) > MAX_CHECKIN_BODY:
            raise Refusal(413, "The form sent was larger than this page takes.")
        if self.request.method != "POST" and int(announced):
            raise Refusal(413, "This page takes no body here.")
        self.request.connection.set_max_body_size(MAX_CHECKIN_BODY)  # type: ignore[union-attr]  # an HTTP/1 connection
        self._body = bytearray()

    def data_received(self, chunk: bytes) -> None:
        self._body += chunk  # a chunked body announces no length
        if len(self._body) > MAX_CHECKIN_BODY:
            raise Refusal(413, "The form sent was larger than this page takes.")

    async def get(self, checkin_id: str = "") -> None:
        self._checkin_id = checkin_id
        await super().get()

    async def _identify(self) -> PatientUser:
        """A session (re)opening or sending its form, the usual GET and every POST: the
        session and the check-in are read together, in one statement on the event loop
        (`store.page_lookup`: no thread hop, no pool checkout); a link's token goes the
        usual way."""
        identity = self.state.identity
        secret, via = identity.presented(self)
        if via != "session":
            return await identity.identify(self)
        wanted = session_hash(secret)
        stored, self._found = await self.extra.lookup.session_and_checkin(wanted, self._checkin_id)
        self._prefetched = True
        return identity.user_of(session_grant(stored), secret, via)

    async def _view(self, user: PatientUser) -> None:
        checkin = await self._checkin(user)
        draft = Draft(checkin.answers, checkin.free_text)
        self._form(checkin, draft)

    def _form(self, checkin: StoredCheckin, draft: Draft, error: str = "") -> None:
        session = self.get_cookie(self.state.identity.cookie_name) or ""
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(
            form_page(
                self._sections(checkin.instruments),
                draft,
                action=f"{CHECKIN_PATH}/{checkin.id}",
                xsrf=xsrf_token(session, checkin.id),
                phone=self.extra.phone,
                error=error,
            )
        )

    def _sections(self, instruments: tuple[str, ...]) -> list[Section]:
        known = self.extra.sections
        found = known.get(instruments)
        if found is None:
            found = form_sections(self.state.identity.store.catalog, instruments)
            if len(known) < _SECTION_SETS:  # bounded: check-ins choose from the catalog
                known[instruments] = found
        return found

    async def _checkin(self, user: PatientUser) -> StoredCheckin:
        """This patient's check-in of the path (404 for anyone else's), if still open."""
        store: CaseStore = self.state.identity.store
        if self._prefetched:  # read with the session (`_identify`), once
            found, self._prefetched = self._found, False
        else:
            found = await asyncio.to_thread(store.checkin, self._checkin_id)
        if found is None or found.patient_id != user.patient_id:
            raise web.HTTPError(404)
        self._closed(found.closed_reason(datetime.now(UTC)))
        return found

    def _closed(self, reason: str | None) -> None:
        if reason == "already submitted":
            raise Refusal(409, "Your answers to this check-in were already sent. Thank you.")
        if reason is not None:
            raise Refusal(
                403, f"This check-in has {reason}: please ask your practitioner for a new one."
            )

    def _check_origin(self) -> None:
        """Refuse a form posted from another site (the session cookie is SameSite=Strict
        as well: this is the second wall)."""
        here = f"{self.request.protocol}://{self.request.host}"
        origin = self.request.headers.get("Origin")
        if origin is not None and origin != here:
            raise Refusal(403, "This form can only be sent from its own page.")
        if self.request.headers.get("Sec-Fetch-Site", "same-origin") not in (
            "same-origin",
            "none",
        ):
            raise Refusal(403, "This form can only be sent from its own page.")

    def _fields(self) -> list[tuple[str, str]]:
        kind = self.request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if kind != "application/x-www-form-urlencoded":
            raise Refusal(415, "This page takes only its own form.")
        try:
            text = bytes(self._body).decode("utf-8")
            return urllib.parse.parse_qsl(
                text, keep_blank_values=True, strict_parsing=bool(text), max_num_fields=200
            )
        except (UnicodeDecodeError, ValueError):
            raise Refusal(400, "The form could not be read. Please try again.") from None

    async def post(self, checkin_id: str = "") -> None:
        self._checkin_id = checkin_id
        state = self.state
        if "token" in self.request.query_arguments:
            raise Refusal(403, "Please open your link first, then send the form.")
        self._check_origin()
        try:
            user = await self._identify()
        except NoCredentials:
            self._throttle(state.address_limiter, self.request.remote_ip or "?")
            raise Refusal(403, "Please open the link your practitioner sent you.") from None
        except AccessRefused as refused:
            await self._refuse(refused)
            return
        self._throttle(state.link_limiter, user.link_id)
        try:
            self.extra.submissions.take(user.link_id)
        except Throttled as exc:
            raise Refusal(429, "Please wait a minute, then send again.", exc.retry_after) from None
        fields = self._fields()
        session = self.get_cookie(state.identity.cookie_name) or ""
        sent = next((v for k, v in fields if k == "_xsrf"), "")
        if not hmac.compare_digest(sent, xsrf_token(session, checkin_id)):
            raise Refusal(403, "This form has expired. Please open your link again.")
        actions = [v for k, v in fields if k == "action"]
        if actions not in (["save"], ["submit"]):
            await self._checkin(user)  # another's, or closed: say that first
            raise Refusal(400, "The form could not be read. Please try again.")
        await self._answer(user, CheckinKey(checkin_id, user.patient_id), actions[0], fields)

    async def _answer(
        self, user: PatientUser, key: CheckinKey, action: str, fields: list[tuple[str, str]]
    ) -> None:
        """Save or submit in one transaction that reads the check-in under its patient's
        lock (it may not be this patient's, or be closed by now: 404, 409, 403)."""
        store = self.state.identity.store
        now = datetime.now(UTC)
        try:
            if action == "save":
                await asyncio.to_thread(save_draft, store, user.link_id, key, fields, now=now)
                self._message(
                    "Your answers are saved",
                    ["You can come back with the same link to finish and send them."],
                )
                return
            done = await asyncio.to_thread(submit, store, user.link_id, key, fields, now=now)
        except CheckinInputError as exc:
            checkin = await self._checkin(user)
            self.set_status(400)
            self._form(checkin, self._redisplay(checkin, fields), str(exc))
            return
        except CheckinClosed as exc:
            self._closed(exc.reason)
            raise
        except NotFoundError:
            raise web.HTTPError(404) from None
        # the audit log holds the submission, as the link: this line is for debugging
        log.debug("check-in %s submitted through link %s", key.id, user.link_id)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        if done.same_day:
            page = safety_page(
                clinic=self.extra.clinic,
                phone=self.extra.phone,
                self_harm=done.self_harm,
                alarms=done.alarms,
            )
            self.finish(page)
            return
        sent = "Your answers have been sent. Your practitioner will go through them with you."
        self._message("Thank you", [sent, GET_IN_TOUCH_WHY] if done.urgent else [sent])

    def _redisplay(self, checkin: StoredCheckin, fields: list[tuple[str, str]]) -> Draft:
        """The posted answers when they can be read as a draft, else the saved ones."""
        catalog = self.state.identity.store.catalog
        try:
            return parse_answers(catalog, checkin.instruments, fields, complete=False)
        except CheckinInputError:
            return Draft(checkin.answers, checkin.free_text)

    def _message(self, title: str, paragraphs: list[str]) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(message_page(title, paragraphs, link="/dashboard", link_text="Go to your page"))


def checkin_state(store: CaseStore, submissions_per_minute: float = 12.0) -> CheckinState:
    """The check-in handlers' shared state for a server on `store` (the clinic's phone
    from its settings file, when there is one)."""
    settings = load_clinic_settings(database_url=store.url)
    return CheckinState(
        RateLimiter(submissions_per_minute, 6),
        PageLookup(store),
        clinic=settings.name if settings.configured else "",
        phone=settings.phone if settings.configured else "",
    )
