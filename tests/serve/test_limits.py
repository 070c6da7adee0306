"""Rate limits, the kernel gate and their settings."""

from __future__ import annotations

import asyncio

import pytest

from casebook.serve.headers import CONTENT_SECURITY_POLICY, SECURITY_HEADERS
from casebook.serve.limits import CULL_SETTINGS, Busy, Limits, RateLimiter, Throttled, ViewGate
from casebook.serve.server import base_url


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_429_with_a_retry_time_then_refills() -> None:
    clock = Clock()
    limiter = RateLimiter(per_minute=6, burst=3, clock=clock)
    for _ in range(3):
        limiter.take("a")
    with pytest.raises(Throttled) as info:
        limiter.take("a")
    assert info.value.retry_after == 10  # one request per 10 s at 6 a minute
    limiter.take("b")  # another key has its own bucket
    clock.now += 10
    limiter.take("a")
    with pytest.raises(Throttled):
        limiter.take("a")
    clock.now += 3600
    for _ in range(3):  # refilled to the burst, never beyond
        limiter.take("a")
    with pytest.raises(Throttled):
        limiter.take("a")


def test_refused_requests_do_not_push_the_next_one_back() -> None:
    clock = Clock()
    limiter = RateLimiter(per_minute=60, burst=1, clock=clock)
    limiter.take("a")
    clock.now += 0.5
    with pytest.raises(Throttled) as info:
        limiter.take("a")
    assert info.value.retry_after == 1
    clock.now += 0.5  # one second after the granted request: one credit earned
    limiter.take("a")
    with pytest.raises(Throttled):
        limiter.take("a")


def test_buckets_are_bounded() -> None:
    limiter = RateLimiter(per_minute=1, burst=1, max_keys=100, clock=Clock())
    for i in range(1000):
        limiter.take(f"k{i}")
    assert len(limiter._buckets) == 100


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("views_per_minute", 0),
        ("burst", 0),
        ("burst", 1.5),
        ("session_views_per_minute", 0),
        ("session_burst", 0),
        ("concurrent_kernels", 0),
        ("max_waiting", -1),
        ("render_timeout", float("inf")),
        ("bad_credentials_per_minute", -2),
    ],
)
def test_limits_name_the_bad_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=rf"^{field}: "):
        Limits(**{field: value})


def test_gate_bounds_renders_and_waiting_views() -> None:
    async def scenario() -> tuple[int, list[str]]:
        gate = ViewGate(Limits(concurrent_kernels=2, max_waiting=2))
        release = asyncio.Event()
        peak = 0
        outcomes: list[str] = []

        async def view() -> None:
            nonlocal peak
            try:
                async with gate.view():
                    peak = max(peak, gate.rendering)
                    await release.wait()
                outcomes.append("done")
            except Busy:
                outcomes.append("busy")

        tasks = [asyncio.ensure_future(view()) for _ in range(5)]
        for _ in range(5):
            await asyncio.sleep(0)
        release.set()
        await asyncio.gather(*tasks)
        return peak, outcomes

    peak, outcomes = asyncio.run(scenario())
    assert peak == 2
    assert sorted(outcomes) == ["busy", "done", "done", "done", "done"]


def test_headers_and_cull_settings() -> None:
    assert "default-src 'none'" in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert "script-src" not in CONTENT_SECURITY_POLICY and "http" not in CONTENT_SECURITY_POLICY
    assert SECURITY_HEADERS["Cache-Control"] == "no-store"
    assert SECURITY_HEADERS["Referrer-Policy"] == "same-origin"
    assert CULL_SETTINGS["cull_idle_timeout"] > 0 and CULL_SETTINGS["cull_busy"] is True


def test_base_url() -> None:
    assert base_url("127.0.0.1", 8866) == "http://127.0.0.1:8866"
    assert base_url("::1", 80) == "http://[::1]:80"
    with pytest.raises(ValueError, match=r"^port: "):
        base_url("127.0.0.1", 0)


def test_a_person_reloading_their_page_is_never_throttled_but_junk_tokens_are() -> None:
    """With the server's own limits: a patient opens their link (one request on the link,
    one on the session it opens), reloads four times in a minute, opens the link from the
    email again twice; all is served. A client trying unknown tokens is stopped within the
    minute."""
    limits = Limits()
    clock = Clock()
    link = RateLimiter(limits.views_per_minute, limits.burst, clock=clock)
    session = RateLimiter(limits.session_views_per_minute, limits.session_burst, clock=clock)
    for second, key in (
        (0, "open"),
        (5, "s1"),
        (9, "s1"),
        (14, "s1"),
        (20, "s1"),
        (30, "open"),
        (41, "open"),
    ):
        clock.now = 1000.0 + second
        if key == "open":
            link.take("link-1")
            session.take(f"s{second}")  # the redirect to the page: a new session
        else:
            session.take(key)
    for _ in range(8):  # and a restless few seconds of reloads after that
        clock.now += 1
        session.take("s41")
    address = RateLimiter(
        limits.bad_credentials_per_minute, int(limits.bad_credentials_per_minute), clock=clock
    )
    with pytest.raises(Throttled):
        for _ in range(60):
            address.take("203.0.113.9")


def test_one_session_reloads_far_beyond_a_links_burst_but_a_flood_is_throttled() -> None:
    """A minute of reloading once a second (60 views, three times a link's burst) is served;
    a script hammering one session is stopped: the limit is per session, not unlimited."""
    limits = Limits()
    assert limits.session_burst >= 3 * limits.burst
    clock = Clock()
    session = RateLimiter(limits.session_views_per_minute, limits.session_burst, clock=clock)
    link = RateLimiter(limits.views_per_minute, limits.burst, clock=clock)
    for _ in range(60):
        clock.now += 1
        session.take("s1")
    with pytest.raises(Throttled):  # the same pace on the link is refused
        for _ in range(60):
            clock.now += 1
            link.take("link-1")
    session.take("s2")  # another session of the same link has its own bucket
    with pytest.raises(Throttled):
        for _ in range(limits.session_burst + 1):  # all at once
            session.take("s1")
