"""Kernels of the dashboard server: unreachable from a browser, gone after each page, bounded."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import signal
import threading
import time
import uuid

import psutil
import pytest
from serve_helpers import Server
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from casebook.serve.authz import ROUTES
from casebook.serve.server import build_app

pytestmark = pytest.mark.slow

MiB = 1024 * 1024


def _execute_request() -> str:
    msg_id = uuid.uuid4().hex
    return json.dumps(
        {
            "header": {
                "msg_id": msg_id,
                "msg_type": "execute_request",
                "username": "x",
                "session": uuid.uuid4().hex,
                "version": "5.3",
                "date": "",
            },
            "parent_header": {},
            "metadata": {},
            "channel": "shell",
            "buffers": [],
            "content": {"code": "import os; os.remove('casebook.db')", "silent": False},
        }
    )


async def _websocket(server: Server, kernel_id: str, cookie: str) -> int:
    """The handshake status of the kernel channel (101 if it opened; then it sends an
    execute_request and waits briefly for any reply)."""
    request = HTTPRequest(
        f"ws://127.0.0.1:{server.port}/api/kernels/{kernel_id}/channels",
        headers={"Cookie": f"casebook_session={cookie}"},
    )
    try:
        conn = await websocket_connect(request)
    except HTTPClientError as exc:
        return exc.code
    await conn.write_message(_execute_request())
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(conn.read_message(), 2)
    conn.close()
    return 101


def _wait(predicate, what: str, limit: float = 120.0) -> None:  # type: ignore[no-untyped-def]
    """Poll until `predicate()` holds (a liveness wait, not a timing assertion)."""
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting for {what}")
        time.sleep(0.05)


def _rss(server: Server) -> int:
    total = 0
    for proc in server.processes():
        try:
            total += proc.memory_info().rss
        except psutil.Error:  # exited while we counted
            continue
    return total


def test_no_kernel_is_reachable_during_or_after_a_view(server: Server, serve_store) -> None:
    a, b = serve_store.patients[:2]
    token_a, token_b = server.session(a), server.session(b)
    before = set(server.kernel_ids())
    result: dict[str, int] = {}
    view = threading.Thread(
        target=lambda: result.update(status=server.request("/dashboard", cookie=token_a).status)
    )
    view.start()
    _wait(lambda: set(server.kernel_ids()) - before, "the view's kernel to start")
    (kernel_id,) = set(server.kernel_ids()) - before
    # Its own patient may not open, interrupt or shut down the kernel of its page, and
    # neither may anyone else: the routes do not exist.
    assert asyncio.run(_websocket(server, kernel_id, token_a)) == 404
    assert asyncio.run(_websocket(server, kernel_id, token_b)) == 404
    for method, path in (
        ("DELETE", f"/api/kernels/{kernel_id}"),
        ("POST", f"/api/kernels/{kernel_id}/interrupt"),
        ("POST", f"/api/kernels/{kernel_id}/restart"),
        ("POST", f"/voila/api/shutdown/{kernel_id}"),
        ("GET", f"/voila/query/{kernel_id}"),
        ("GET", f"/voila/execution/{kernel_id}"),
    ):
        for cookie in (token_a, token_b):
            res = server.request(path, method=method, cookie=cookie, body=b"")
            assert res.status == 404, f"{method} {path}: {res.status}"
    view.join(timeout=180)
    assert result.get("status") == 200
    _wait(lambda: f"Kernel shutdown: {kernel_id}" in server.log(), "the kernel to be shut down")
    _wait(lambda: not server.kernels(), "kernel processes to exit")


def test_the_app_is_locked_down_in_process(serve_store) -> None:
    """No override, no preheat, no progressive rendering; and even a kernel channel added by
    mistake would forward no code: as in stock standalone Voilà, only comm and kernel-info
    messages pass."""
    sigterm = signal.getsignal(signal.SIGTERM)
    app = build_app(serve_store.url, port=1, forked=False)
    try:
        settings = app.init_settings()
        allowed = set(app.kernel_manager.allowed_message_types)
        assert "execute_request" not in allowed
        assert allowed <= {
            "comm_open",
            "comm_close",
            "comm_msg",
            "comm_info_request",
            "kernel_info_request",
            "shutdown_request",
        }
        assert app.kernel_manager.cull_idle_timeout > 0 and app.kernel_manager.cull_busy
        assert {path for path, *_ in app.init_handlers()} == {
            "/",
            r"/dashboard",
            r"/dashboard/summary\.pdf",
            r"/static/dashboard\.css",
            r"/checkin",
            r"/checkin/([0-9a-f]{32})",
        }
        assert set(ROUTES) == {
            "/",
            "/dashboard",
            "/dashboard/summary.pdf",
            "/static/dashboard.css",
            "/checkin",
            "/checkin/<id>",
        }
        conf = app.voila_configuration
        assert (conf.allow_template_override, conf.allow_theme_override) == ("NO", "NO")
        assert not conf.preheat_kernel and not conf.progressive_rendering
        assert conf.strip_sources and not conf.show_tracebacks and conf.http_header_envs == []
        assert settings["identity_provider"].store is app.store
        assert not settings["authorizer"].is_authorized(None, None, "read", "kernels")
    finally:
        app.store.close()
        shutil.rmtree(app.root_dir, ignore_errors=True)
        signal.signal(signal.SIGTERM, sigterm)  # Voilà's initialize installs its own


@pytest.mark.timeout(1800)  # 50 real views; a loaded 2-core machine may need minutes
def test_fifty_views_leave_memory_bounded(server: Server, serve_store) -> None:
    tokens = [server.session(serve_store.patients[i % 4]) for i in range(10)]
    _wait(lambda: not server.kernels(), "no kernel before the views")
    processes_before = len(server.processes())
    rss_before = _rss(server)
    statuses = []
    for i in range(50):
        statuses.append(server.request("/dashboard", cookie=tokens[i % 10]).status)
    assert statuses == [200] * 50
    _wait(lambda: not server.kernels(), "every kernel to exit after the views")
    _wait(lambda: len(server.processes()) == processes_before, "the processes of before")
    grown = (_rss(server) - rss_before) / MiB
    print(
        f"50 views: server and fork server RSS {rss_before / MiB:.0f} MiB -> "
        f"{(rss_before / MiB) + grown:.0f} MiB"
    )
    # One stock Voilà kernel alone holds ~147 MiB; 50 leaked kernels would be gigabytes.
    assert grown < 120, f"server and fork server grew by {grown:.0f} MiB over 50 views"


def test_views_print_no_kernel_or_zmq_warnings(server: Server, serve_store) -> None:
    """What `casebook serve` prints while it renders: no ipykernel warning about TCP
    without encryption (kernels use IPC), no zmq or kernel warning at all."""
    page = server.request("/dashboard", cookie=server.session(serve_store.patients[1]))
    assert page.status == 200
    log = server.log()
    assert "Kernel started" in log  # the log does hold the kernels' lines
    for noise in (
        "without encryption",
        "ZMQError",
        "zmq",
        "Kernel died",
        "Warning",
        "WARNING",
        "Traceback",
    ):
        assert noise not in log, f"{noise!r} in the server's output:\n{log[-3000:]}"
