"""A real JupyterHub for the tests: its REST API, and code run in a user's own kernel."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
STARTUP_S = 300  # the most a hub, a server or a kernel may take on a busy machine


def proxy_binary() -> str | None:
    """configurable-http-proxy as `.ci/run` installs it (.cache/hub), else on PATH."""
    local = ROOT / ".cache" / "hub" / "node_modules" / ".bin" / "configurable-http-proxy"
    return str(local) if local.exists() else shutil.which("configurable-http-proxy")


@dataclass
class Hub:
    url: str  # http://127.0.0.1:PORT
    proc: subprocess.Popen[bytes]
    log_path: Path
    admin_token: str
    tokens: dict[str, str] = field(default_factory=dict)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def api(
        self, method: str, path: str, token: str | None = None, body: Any = None
    ) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", f"token {token or self.admin_token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=120) as res:  # local hub
                raw = res.read()
                return res.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as err:
            with err:
                return err.code, err.read().decode(errors="replace")

    def get(self, path: str, cookie: str = "") -> tuple[int, str, str]:
        """GET through the hub's proxy: status, body, and the session cookie it set."""
        req = urllib.request.Request(self.url + path)
        if cookie:
            req.add_header("Cookie", cookie)
        try:
            with urllib.request.urlopen(req, timeout=120) as res:
                set_cookies = res.headers.get_all("Set-Cookie") or []
                session = next(
                    (c.split(";", 1)[0] for c in set_cookies if c.startswith("casebook_session=")),
                    "",
                )
                return res.status, res.read().decode(), session
        except urllib.error.HTTPError as err:
            with err:
                return err.code, err.read().decode(errors="replace"), ""

    def sign_in(self, user: str) -> str:
        """A token of `user`'s own (as their browser session would hold)."""
        status, body = self.api("POST", f"/hub/api/users/{user}/tokens", body={"note": "test"})
        assert status in (200, 201), (status, body)
        self.tokens[user] = body["token"]
        return str(body["token"])

    def start_server(self, user: str) -> None:
        token = self.tokens[user]
        status, body = self.api("POST", f"/hub/api/users/{user}/server", token=token)
        assert status in (201, 202), (status, body, self.log()[-3000:])
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            status, info = self.api("GET", f"/hub/api/users/{user}", token=token)
            server = (info or {}).get("servers", {}).get("") if status == 200 else None
            if server and server.get("ready"):
                return
            time.sleep(0.5)
        raise AssertionError(f"{user}'s server did not start:\n{self.log()[-3000:]}")

    def run(self, user: str, code: str) -> str:
        """Run `code` in a fresh kernel of `user`'s server; its stdout and errors."""
        return asyncio.run(_run_in_kernel(self.url, user, self.tokens[user], code))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wait_for_hub(hub: Hub) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if hub.proc.poll() is not None:
            raise RuntimeError(f"the hub exited:\n{hub.log()[-4000:]}")
        try:
            if hub.api("GET", "/hub/api/")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the hub did not answer:\n{hub.log()[-4000:]}")


async def _run_in_kernel(base: str, user: str, token: str, code: str) -> str:
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    auth = {"Authorization": f"token {token}"}
    prefix = f"{base}/user/{user}/api/kernels"
    kernel = await asyncio.to_thread(_post_json, prefix, auth, {"name": "python3"})
    ws_url = prefix.replace("http", "ws", 1) + f"/{kernel['id']}/channels"
    conn = await websocket_connect(HTTPRequest(ws_url, headers=auth, connect_timeout=120))
    msg_id = uuid.uuid4().hex
    conn.write_message(
        json.dumps(
            {
                "header": {
                    "msg_id": msg_id,
                    "msg_type": "execute_request",
                    "username": user,
                    "session": uuid.uuid4().hex,
                    "version": "5.3",
                },
                "parent_header": {},
                "metadata": {},
                "content": {"code": code, "silent": False, "stop_on_error": True},
                "channel": "shell",
                "buffers": [],
            }
        )
    )
    out: list[str] = []
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        raw = await asyncio.wait_for(conn.read_message(), STARTUP_S)
        if raw is None:
            break
        msg = json.loads(raw)
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            out.append(content["text"])
        elif kind == "error":
            out.append(f"{content['ename']}: {content['evalue']}")
        elif kind == "status" and content["execution_state"] == "idle":
            break
    conn.close()
    return "".join(out)


def _post_json(url: str, headers: dict[str, str], body: Any) -> Any:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    for key, value in {**headers, "Content-Type": "application/json"}.items():
        req.add_header(key, value)
    with urllib.request.urlopen(req, timeout=STARTUP_S) as res:  # local hub
        return json.loads(res.read())
