"""The only request handlers of the dashboard server (see `authz.ROUTES`).

`/dashboard` with `?token=`: the token is checked, the session cookie set, the use audited
("open"), a session opened (its random id in the cookie, never the token), and a tiny page
sends the browser on to the bare `/dashboard` (a same-site step, so the SameSite=Strict
cookie is sent even when the link was clicked in a webmail). `/dashboard` with the cookie:
checked again, audited ("view"), throttled, and rendered in a fresh kernel. Everything else
is 404; every answer carries the security headers.

Bodies are streamed, not buffered: a request announcing (or sending) more than
`limits.MAX_BODY_BYTES` is refused with 413 as soon as its headers are in. A link's rate
limit (opening it) and a session's (reloading the page it opened) apply only once the token
or session was found in the store; anything else is counted against the client address.
"""

from __future__ import annotations

import asyncio
import html
import logging
from dataclasses import dataclass, field
from typing import Any, cast

from tornado import iostream, web
from tornado.http1connection import HTTP1Connection

from casebook.serve.cache import CACHE_TIMING, RENDER_TIMING, Lookup, RenderCache
from casebook.serve.headers import STYLE_ELEMENT, STYLESHEET, apply_security_headers
from casebook.serve.identity import NoCredentials, PatientIdentityProvider, PatientUser
from casebook.serve.limits import MAX_BODY_BYTES, Busy, RateLimiter, Throttled, ViewGate
from casebook.serve.render import ViewContext, render_view
from casebook.serve.tokens import LINK_PATH, AccessRefused, record_use

__all__ = [
    "BaseHandler",
    "DashboardHandler",
    "NotFoundHandler",
    "Refusal",
    "ServeState",
    "StylesheetHandler",
    "SummaryHandler",
]

log = logging.getLogger("casebook.serve")


_MESSAGES = {
    401: ("This page needs your personal link", "Please open the link your practitioner sent you."),
    403: ("This link does not work", "Please ask your practitioner for a new link."),
    404: (
        "Page not found",
        "There is nothing here. Please open the link your practitioner sent you.",
    ),
    405: ("Not allowed", "This page can only be viewed."),
    413: ("Request too large", "This page can only be viewed."),
    429: (
        "Please wait a moment",
        "This page was asked for many times in a short while. Please wait a minute and try again.",
    ),
    503: (
        "Busy right now",
        "Many people are looking at their pages. Please try again in a minute.",
    ),
}
_REFUSED = {
    "expired": "This link has expired. Please ask your practitioner for a new link.",
    "revoked": "This link is no longer valid. Please ask your practitioner for a new link.",
    "unknown": "This link is not valid. Please check you copied the whole link, or ask your "
    "practitioner for a new one.",
}


class Refusal(web.HTTPError):
    """An HTTP error whose page may say why, and may ask the client to retry later."""

    def __init__(self, status: int, message: str = "", retry_after: int = 0) -> None:
        super().__init__(status)
        self.message = message
        self.retry_after = retry_after


@dataclass
class ServeState:
    """Everything the handlers share; one per server."""

    identity: PatientIdentityProvider
    view: ViewContext
    link_limiter: RateLimiter
    session_limiter: RateLimiter
    address_limiter: RateLimiter
    gate: ViewGate
    render_timeout: float
    cache: RenderCache = field(default_factory=lambda: RenderCache(max_bytes=0))


@web.stream_request_body
class BaseHandler(web.RequestHandler):
    """Security headers on every answer, plain error pages that name no internals, and no
    request body beyond `MAX_BODY_BYTES` (refused once the headers are in, never buffered)."""

    _body_bytes = 0

    def set_default_headers(self) -> None:
        apply_security_headers(self)

    def prepare(self) -> None:
        announced = self.request.headers.get("Content-Length", "0").strip() or "0"
        if not announced.isdigit() or int(announced) > MAX_BODY_BYTES:
            raise Refusal(413)

    def data_received(self, chunk: bytes) -> None:
        self._body_bytes += len(chunk)  # a chunked body announces no length
        if self._body_bytes > MAX_BODY_BYTES and not self._finished:
            # Answered here (raising would close the connection with no answer); Tornado
            # reads no more of the body and closes the connection once 413 is sent.
            self.send_error(413)

    def compute_etag(self) -> None:
        return None  # nothing is cached (Cache-Control: no-store)

    def _request_summary(self) -> str:
        return f"{self.request.method} {self.request.path}"  # no query string: no token

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, web.HTTPError):
            return  # refusals are logged by the handlers and the access log
        log.error("error in %s", self._request_summary(), exc_info=(typ, value, tb))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        title, text = _MESSAGES.get(
            status_code, ("Something went wrong", "Please try again later.")
        )
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, Refusal):
            text = exc.message or text
            if exc.retry_after:
                self.set_header("Retry-After", str(exc.retry_after))
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(_page(title, f"<p>{html.escape(text)}</p>"))


def _page(title: str, body: str, head: str = "") -> str:
    """A small page in the dashboard's style; with `head`, the bare page (the link page: it
    refreshes at once, once loaded, so it fetches nothing)."""
    style = "" if head else STYLE_ELEMENT
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex, nofollow"><link rel="icon" href="data:,">'
        f"{style}{head}"
        f'<title>{html.escape(title)}</title></head><body><main class="cb-page">'
        f'<section class="cb-card cb-message"><h1>{html.escape(title)}</h1>{body}</section>'
        "</main></body></html>\n"
    )


class NotFoundHandler(BaseHandler):
    """Every path that is not in `authz.ROUTES`, whatever the method.

    The 404 is raised by the method, not by `prepare`: a streamed request answered during
    `prepare` is answered before its (empty) body is read, and Tornado then closes the
    connection, so a client's next request on that kept-alive connection met a reset."""

    def _not_found(self, *_args: str) -> None:
        raise web.HTTPError(404)

    get = head = post = put = patch = delete = options = _not_found


class StylesheetHandler(BaseHandler):
    """The page's stylesheet (public: it holds no patient data)."""

    def get(self) -> None:
        self.set_header("Content-Type", "text/css; charset=utf-8")
        self.finish(STYLESHEET.read_bytes())


class DashboardHandler(BaseHandler):
    """The dashboard of the patient the link (or its session) belongs to. GET only."""

    SUPPORTED_METHODS = ("GET",)
    _task: asyncio.Task[None] | None = None

    @property
    def state(self) -> ServeState:
        return cast(ServeState, self.settings["casebook"])

    def _throttle(self, limiter: RateLimiter, key: str) -> None:
        try:
            limiter.take(key)
        except Throttled as exc:
            raise Refusal(429, retry_after=exc.retry_after) from None

    async def get(self) -> None:
        state = self.state
        try:
            user = await self._identify()
        except NoCredentials:
            self._throttle(state.address_limiter, self.request.remote_ip or "?")
            ended = state.identity.ended_reason(self)
            if ended is not None:  # an open page whose link has ended since: say so
                raise Refusal(403, _REFUSED[ended]) from None
            raise web.HTTPError(401) from None
        except AccessRefused as refused:
            await self._refuse(refused)
            return
        # Only a link or session found in the store has a bucket: junk cannot evict or
        # refill it. Opening the link counts against the link; reloading the page it opened
        # against that session, whose limit is far above a person's pace.
        if user.via == "link":
            self._throttle(state.link_limiter, user.link_id)
        else:
            self._throttle(state.session_limiter, user.session_key)
        if user.via == "link":
            await self._open(user)
        else:
            await self._view(user)

    async def _identify(self) -> PatientUser:
        """The patient of this GET (AccessRefused or NoCredentials otherwise)."""
        return await self.state.identity.identify(self)

    async def _refuse(self, refused: AccessRefused) -> None:
        state = self.state
        self._throttle(state.address_limiter, self.request.remote_ip or "?")
        if refused.patient_id is not None:
            state.cache.drop(refused.patient_id)
            await asyncio.to_thread(
                record_use,
                state.identity.store,
                refused.patient_id,
                refused.link_id,
                "refused",
                {"reason": refused.reason},
            )
        log.info("refused a %s link %s", refused.reason, refused.link_id or "(unknown)")
        if self.get_cookie(state.identity.cookie_name):
            state.identity.clear_session(self, refused.reason)
        raise Refusal(403, _REFUSED[refused.reason])

    async def _open(self, user: PatientUser) -> None:
        """The link opens a session (its id in the cookie); the browser moves on."""
        await asyncio.to_thread(
            record_use,
            self.state.identity.store,
            user.patient_id,
            user.link_id,
            "open",
            {"via": "link"},
        )
        await self.state.identity.open_session(self, user)
        landing, what = self._landing()
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Refresh", f"0; url={landing}")  # as the meta element, sooner
        self.finish(
            _page(
                f"Opening your {what}",
                f'<p><a href="{landing}">Open your {what}</a></p>',
                head=f'<meta http-equiv="refresh" content="0; url={landing}">',
            )
        )

    def _landing(self) -> tuple[str, str]:
        """Where the browser goes once its link opened a session (a path of this server,
        never from the query), and what it is called."""
        return LINK_PATH, "dashboard"

    async def _view(self, user: PatientUser) -> None:
        state = self.state
        found = await state.cache.lookup(state.identity.store, user.patient_id)
        if found.page is not None:  # rendered for this very record, template and day
            await asyncio.to_thread(
                record_use,
                state.identity.store,
                user.patient_id,
                user.link_id,
                "view",
                {"via": "session"},
            )
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.set_header("Server-Timing", CACHE_TIMING)
            self.finish(found.page)
            return
        try:
            async with state.gate.view():
                await asyncio.to_thread(
                    record_use,
                    state.identity.store,
                    user.patient_id,
                    user.link_id,
                    "view",
                    {"via": "session"},
                )
                self.set_header("Content-Type", "text/html; charset=utf-8")
                self.set_header("Server-Timing", RENDER_TIMING)
                self._task = asyncio.ensure_future(self._stream(user.patient_id, found))
                try:
                    await asyncio.wait_for(self._task, state.render_timeout)
                except TimeoutError:
                    log.error("view of link %s timed out", user.link_id)
                except asyncio.CancelledError:
                    log.info("view of link %s ended: the client left", user.link_id)
        except Busy:
            raise Refusal(503, retry_after=30) from None
        connection = cast(HTTP1Connection, self.request.connection)  # tornado's HTTP/1 server
        if not self._finished and not connection.stream.closed():
            self.finish()

    async def _stream(self, patient_id: str, found: Lookup) -> None:
        view = self.state.view
        async for snippet in self.state.cache.fill(
            found, lambda outcome: render_view(view, patient_id, outcome)
        ):
            self.write(snippet)
            try:
                await self.flush()
            except iostream.StreamClosedError:
                return

    def on_connection_close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()


class SummaryHandler(DashboardHandler):
    """`/dashboard/summary.pdf`: the latest after-visit summary of the session's patient, as
    an attachment. The patient comes from the token or its cookie exactly as for the
    dashboard (a link in the URL opens the session and goes on to the dashboard); the URL
    names no patient and no letter. 404 when there is none."""

    async def _view(self, user: PatientUser) -> None:
        store = self.state.identity.store
        letter = await asyncio.to_thread(
            store.latest_letter, user.patient_id, "after_visit_summary"
        )
        if letter is None:
            raise web.HTTPError(404)
        await asyncio.to_thread(
            record_use,
            store,
            user.patient_id,
            user.link_id,
            "view",
            {"via": "session", "letter": letter.id},
        )
        self.set_header("Content-Type", "application/pdf")
        self.set_header(
            "Content-Disposition",
            f'attachment; filename="after-visit-summary-{letter.letter_date}.pdf"',
        )
        self.set_header("Cache-Control", "no-store")
        self.finish(letter.pdf)
