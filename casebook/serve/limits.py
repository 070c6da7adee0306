"""Bounded resources: views per link and per session a minute, renders at once, culling.

A view costs a kernel process for about a second, so the server caps two things: how often
one link is opened, one session (the cookie an opened link set) views its page, and one
client address presenting bad credentials asks (a token bucket each: HTTP 429 with
Retry-After when it is empty), and how many kernels run at once on the whole server
(further views wait their turn; when too many wait, HTTP 503). Kernels are shut down
right after their page is rendered; the culler is a safety net for any that escape.

Buckets are kept only for links and sessions that exist in the store: a request with an
unknown token or session is counted against its client address (strictly), so junk tokens
can neither fill the link or session limiters nor evict (and so refill) a real bucket.
Every route is GET-only and reads no body: a request body beyond `MAX_BODY_BYTES` is
refused (413) before it is read.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from casebook.errors import InputError

__all__ = [
    "CULL_SETTINGS",
    "FLOAT_LIMITS",
    "INT_LIMITS",
    "MAX_BODY_BYTES",
    "MAX_BUFFER_BYTES",
    "Busy",
    "Limits",
    "RateLimiter",
    "Throttled",
    "ViewGate",
]

MAX_BODY_BYTES = 4096
"""The largest request body the server reads (its routes are GET-only and need none)."""
MAX_BUFFER_BYTES = 256 * 1024
"""The most the HTTP server buffers for one connection (headers and one read chunk)."""

CULL_SETTINGS: dict[str, object] = {
    "cull_idle_timeout": 60,  # seconds idle before a kernel is culled
    "cull_interval": 15,
    "cull_connected": True,  # a dashboard needs no open connection to its kernel
    "cull_busy": True,  # a kernel stuck in a cell is culled too
}
"""MappingKernelManager settings: a kernel that outlived its page is gone within ~75 s."""


FLOAT_LIMITS = (
    "views_per_minute",
    "session_views_per_minute",
    "bad_credentials_per_minute",
    "render_timeout",
    "header_timeout",
    "body_timeout",
)
"""The limits that are positive numbers (rates and seconds)."""
INT_LIMITS = ("burst", "session_burst", "concurrent_kernels", "max_waiting", "max_connections")
"""The limits that are whole numbers of at least 1."""


@dataclass(frozen=True)
class Limits:
    # Per link: opening it (the token in the URL) makes two requests and a new session, so
    # re-opening the link from the email a few times a minute is never told to wait.
    views_per_minute: float = 30.0  # steady rate per link, for opening it
    burst: int = 20  # link opens back to back
    # Per session (the cookie a link opened): far above a person's pace, since a reload
    # costs one request and a page served from the render cache costs no kernel. A person
    # reloading their own page, even a restless minute of it, is never told to wait.
    session_views_per_minute: float = 120.0  # steady rate per session
    session_burst: int = 60  # reloads of one session back to back
    concurrent_kernels: int = 4  # kernels rendering at once, whole server
    max_waiting: int = 32  # views queued for a kernel before 503
    bad_credentials_per_minute: float = 30.0  # per client address
    render_timeout: float = 60.0  # seconds for one whole view
    # Connections (`casebook.serve.connections`): a person's browser sends its headers at
    # once and keeps an idle connection for seconds, not minutes.
    header_timeout: float = 20.0  # seconds for a request's headers; also ends idle keep-alive
    body_timeout: float = 20.0  # seconds for a request's body
    max_connections: int = 256  # served at once; one more is answered 503

    def __post_init__(self) -> None:
        for name in FLOAT_LIMITS:
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise InputError(f"{name}: must be a positive number (got {value!r})")
        for name in INT_LIMITS:
            value = getattr(self, name)
            if type(value) is not int or value < 1:
                raise InputError(f"{name}: must be a whole number of at least 1 (got {value!r})")


class Throttled(Exception):
    """Too many requests on one key; `.retry_after` is in whole seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"throttled; retry after {retry_after} s")
        self.retry_after = retry_after


class Busy(Exception):
    """The server has too many views waiting for a kernel."""


class RateLimiter:
    """Token buckets keyed by link or address; at most `max_keys` buckets are kept."""

    def __init__(
        self,
        per_minute: float,
        burst: int,
        *,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> None:
        """Spend one request of `key`, or raise Throttled."""
        now = self.clock()
        level, stamp = self._buckets.pop(key, (self.burst, now))
        level = min(self.burst, level + (now - stamp) * self.rate)
        if level < 1.0:
            self._buckets[key] = (level, now)
            raise Throttled(max(1, math.ceil((1.0 - level) / self.rate)))
        self._buckets[key] = (level - 1.0, now)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)


class ViewGate:
    """At most `concurrent_kernels` renders on the whole server; the rest wait in turn, and
    beyond `max_waiting` waiting views the server answers Busy."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._slots = asyncio.Semaphore(limits.concurrent_kernels)
        self._waiting = 0
        self.rendering = 0

    @asynccontextmanager
    async def view(self) -> AsyncIterator[None]:
        if self._waiting >= self.limits.max_waiting:
            raise Busy()
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        self.rendering += 1
        try:
            yield
        finally:
            self.rendering -= 1
            self._slots.release()
