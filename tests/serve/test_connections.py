"""Connections are bounded in number and in time: slow or idle clients are closed, one
connection too many is answered 503 (not reset), and refusals on a kept-alive connection
keep being answered.

The server here runs with short timeouts so the tests end quickly; each test waits on the
state it checks (the server closing the socket, an answer arriving) with a generous bound
and never asserts how long anything took."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Iterator

import pytest
from serve_helpers import TOO_LARGE, Server, start_server

from casebook.errors import InputError
from casebook.serve.limits import Limits

pytestmark = pytest.mark.slow

WAIT_S = 120  # the most a test waits for the server to close or answer (a busy machine)
MAX_CONNECTIONS = 4


@pytest.fixture(scope="module")
def tight_server(serve_store) -> Iterator[Server]:  # type: ignore[no-untyped-def]
    srv = start_server(
        serve_store.url,
        serve_store.folder,
        "--no-fork",
        "--no-shared-charts",
        "--header-timeout",
        "1",
        "--body-timeout",
        "1",
        "--max-connections",
        str(MAX_CONNECTIONS),
        "--bad-credentials-per-minute",
        "100000",
    )
    yield srv
    srv.stop()


def _connect(server: Server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=WAIT_S)


def _read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (b"" if it sent nothing);
    a socket timeout here means the server kept the connection open for WAIT_S."""
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
    return data


def _get(sock: socket.socket, path: str) -> None:
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode("ascii"))


def _answers(server: Server) -> bool:
    try:
        return server.request("/static/dashboard.css", timeout=30).status == 200
    except OSError:
        return False


def test_a_header_trickler_is_closed(tight_server: Server) -> None:
    with _connect(tight_server) as sock:
        sock.sendall(b"GET /dashboard HTTP/1.1\r\nHo")  # and never the rest
        assert _read_until_closed(sock) == b""
    assert _answers(tight_server)


def test_a_slow_body_is_closed(tight_server: Server) -> None:
    with _connect(tight_server) as sock:
        head = b"GET /static/dashboard.css HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"
        sock.sendall(head + b"x" * 10)  # 10 of the 100 bytes announced
        assert _read_until_closed(sock) == b""


def test_an_idle_kept_alive_connection_is_closed(tight_server: Server) -> None:
    with _connect(tight_server) as sock:
        _get(sock, "/static/dashboard.css")
        answer = _read_until_closed(sock)  # the answer, then nothing more: closed when idle
    assert answer.startswith(b"HTTP/1.1 200 ")


def test_one_connection_too_many_is_answered_busy_not_reset(tight_server: Server) -> None:
    held = [_connect(tight_server) for _ in range(MAX_CONNECTIONS)]
    try:
        # Each held connection is idle; the next one gets a 503 once its headers are in.
        with _connect(tight_server) as extra:
            _get(extra, "/dashboard")
            answer = _read_until_closed(extra)
        status, _, rest = answer.partition(b"\r\n")
        assert status == b"HTTP/1.1 503 Service Unavailable"
        assert b"Retry-After: 5" in rest and b"Connection: close" in rest
        assert b"busy" in rest
    finally:
        for sock in held:
            sock.close()
    # The held connections are gone (closed by their clients, or timed out): served again.
    conn_ok = False
    for _ in range(60):
        if conn_ok := _answers(tight_server):
            break
    assert conn_ok


def test_refusals_on_a_kept_alive_connection_keep_being_answered(tight_server: Server) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", tight_server.port, timeout=WAIT_S)
    statuses = []
    try:
        for i in range(300):
            path = ("/nowhere", "/dashboard", "/api/kernels", "/dashboard?token=x")[i % 4]
            conn.request("GET", path)
            res = conn.getresponse()
            res.read()
            statuses.append(res.status)
    finally:
        conn.close()
    assert set(statuses) == {401, 403, 404}, set(statuses)
    assert len(statuses) == 300


def test_a_chunked_body_over_the_limit_gets_413(tight_server: Server) -> None:
    chunk = b"x" * 8192
    body = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    head = b"GET /dashboard HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    with _connect(tight_server) as sock:
        sock.sendall(head + body)
        answer = _read_until_closed(sock)
    assert answer.split(b"\r\n", 1)[0] == TOO_LARGE.encode()


@pytest.mark.parametrize(
    ("name", "value"),
    [("header_timeout", 0), ("body_timeout", -1.0), ("max_connections", 0)],
)
def test_connection_limits_must_be_positive(name: str, value: float) -> None:
    with pytest.raises(InputError, match=name):
        Limits(**{name: value})  # type: ignore[arg-type]  # a wrong value on purpose
