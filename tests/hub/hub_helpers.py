"""A real JupyterHub for the tests: its REST API, and code run in a user's own kernel."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
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

    def stop_server(self, user: str) -> None:
        """Stop `user`'s server and wait until the hub says it is gone."""
        status, body = self.api("DELETE", f"/hub/api/users/{user}/server")
        assert status in (202, 204), (status, body)
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            status, info = self.api("GET", f"/hub/api/users/{user}")
            if status == 200 and not (info or {}).get("servers"):
                return
            time.sleep(0.2)
        raise AssertionError(f"{user}'s server did not stop:\n{self.log()[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_hub(jupyterhub: str, proxy: str, folder: Path, port: int, log_path: Path) -> Hub:
    """Run JupyterHub with the clinic config in `folder` (from `casebook hub init`), plus a
    test-only service whose token may make tokens for the users; wait until it answers."""
    admin_token = uuid.uuid4().hex
    with open(folder / "jupyterhub_config.py", "a", encoding="utf-8") as config:
        config.write(
            "\nc.JupyterHub.services.append("
            f"{{'name': 'tester', 'api_token': {admin_token!r}}})\n"
            "c.JupyterHub.load_roles = [{'name': 'tester', 'services': ['tester'], "
            "'scopes': ['admin:users', 'admin:servers', 'tokens', 'list:users', "
            "'read:users']}]\n"
            "c.Spawner.start_timeout = 600\nc.Spawner.http_timeout = 600\n"
            # the hub's own ports, free ones: other hubs may run on this machine
            f"c.JupyterHub.hub_port = {free_port()}\n"
            f"c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{free_port()}'\n"
        )
    env = {**os.environ, "PATH": f"{Path(proxy).parent}{os.pathsep}{os.environ['PATH']}"}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [jupyterhub, "-f", str(folder / "jupyterhub_config.py")],
            cwd=folder,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    hub = Hub(f"http://127.0.0.1:{port}", proc, log_path, admin_token)
    wait_for_hub(hub)
    return hub


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
    # Wait for the close handshake, so that no socket outlives the event loop (a
    # ResourceWarning at the end of the session otherwise).
    try:
        while await asyncio.wait_for(conn.read_message(), 60) is not None:
            pass
    except TimeoutError:
        pass
    return "".join(out)


def _post_json(url: str, headers: dict[str, str], body: Any) -> Any:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    for key, value in {**headers, "Content-Type": "application/json"}.items():
        req.add_header(key, value)
    with urllib.request.urlopen(req, timeout=STARTUP_S) as res:  # local hub
        return json.loads(res.read())
