"""Bounded requests: no request body is read or buffered, and junk tokens cannot touch a
real link's rate limit."""

from __future__ import annotations

import http.client
import secrets
import socket
from collections.abc import Iterator

import pytest
from serve_helpers import TOO_LARGE, Server, start_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def strict_server(serve_store) -> Iterator[Server]:  # type: ignore[no-untyped-def]
    """A server whose links refill almost never (one view per 100 minutes, burst 2) and
    whose client address may present any number of bad tokens."""
    srv = start_server(
        serve_store.url,
        serve_store.folder,
        "--no-fork",
        "--no-shared-charts",
        "--views-per-minute",
        "0.01",
        "--burst",
        "2",
        "--bad-credentials-per-minute",
        "100000",
    )
    yield srv
    srv.stop()


def _raw(server: Server, head: str, body: bytes = b"") -> str:
    """Send `head` (and `body`) on a fresh connection; the first line of the answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(head.encode("ascii") + body)
        answer = b""
        while b"\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer.split(b"\r\n", 1)[0].decode("ascii", "replace")


@pytest.mark.parametrize("path", ["/dashboard", "/", "/static/dashboard.css", "/nowhere"])
def test_a_large_announced_body_is_refused_before_it_is_sent(
    strict_server: Server, path: str
) -> None:
    # 100 MB announced, nothing sent: an answer now means the server did not wait to read it.
    head = f"GET {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n"
    assert _raw(strict_server, head) == TOO_LARGE


def test_a_large_chunked_body_is_refused(strict_server: Server) -> None:
    # 8 KiB sent and the body left open: the server refuses rather than wait for the rest.
    chunk = b"x" * 8192
    body = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    head = "GET /dashboard HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert _raw(strict_server, head, body) == TOO_LARGE


def test_a_small_body_on_a_get_is_still_answered(strict_server: Server) -> None:
    res = strict_server.request("/static/dashboard.css", body=b"x" * 100)
    assert res.status == 200


def test_junk_tokens_do_not_refill_a_throttled_link(strict_server: Server, serve_store) -> None:  # type: ignore[no-untyped-def]
    token = strict_server.token(serve_store.patients[1])
    codes = [strict_server.request(f"/dashboard?token={token}").status for _ in range(3)]
    assert codes == [200, 200, 429]
    # More junk tokens than the limiter keeps buckets for, on one kept-alive connection.
    conn = http.client.HTTPConnection("127.0.0.1", strict_server.port, timeout=60)
    try:
        junk = []
        for _ in range(10_200):
            conn.request("GET", f"/dashboard?token={secrets.token_urlsafe(32)}")
            res = conn.getresponse()
            res.read()
            junk.append(res.status)
    finally:
        conn.close()
    assert set(junk) == {403}, set(junk)
    assert strict_server.request(f"/dashboard?token={token}").status == 429
