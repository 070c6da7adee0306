"""A dashboard server in a subprocess, plain HTTP helpers, and a patient full of payloads."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import psutil
import sqlalchemy as sa
from page_checks import CHROMIUM, CHROMIUM_ARGS

from casebook.models import HistoryEntry, Medication, Note, Patient, PlanItem, TestResult, Visit
from casebook.serve import grant
from casebook.store import CaseStore
from casebook.store import tables as t

# The status line tornado writes for 413: its reason phrase is http.client's, "Request
# Entity Too Large" up to Python 3.12 and "Content Too Large" (RFC 9110) from 3.13.
TOO_LARGE = f"HTTP/1.1 413 {http.client.responses[413]}"

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "PAYLOADS",
    "Response",
    "Server",
    "add_payload_patient",
    "free_port",
    "start_server",
]


# Each payload would set window.__xss (or open a dialog) if it ever ran as markup or script.
PAYLOADS = (
    "<script>window.__xss=1;alert(1)</script>",
    '<img src=x onerror="window.__xss=2;alert(2)">',
    "javascript:window.__xss=3;alert(3)",
    "</style><script>window.__xss=4</script><style>",
    '"><svg onload="window.__xss=5">',
    '</textarea></title><iframe srcdoc="<script>parent.__xss=6</script>"></iframe>',
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: str

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    @property
    def cookies(self) -> list[str]:
        return self.headers.get_all("Set-Cookie") or []

    @property
    def session(self) -> str:
        """The session id this answer set in the cookie ('' if none)."""
        for cookie in self.cookies:
            if cookie.startswith("casebook_session="):
                return cookie.split(";", 1)[0].split("=", 1)[1]
        return ""


@dataclass
class Server:
    """A running `python -m casebook.serve` with its own store."""

    port: int
    db_url: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(
        self,
        path: str,
        *,
        method: str = "GET",
        cookie: str | None = None,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        timeout: float = 120,
    ) -> Response:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        sent = dict(headers or {})
        if cookie is not None:
            sent["Cookie"] = f"casebook_session={cookie}"
        try:
            conn.request(method, path, body=body, headers=sent)
            res = conn.getresponse()
            return Response(res.status, res.headers, res.read().decode("utf-8", "replace"))
        finally:
            conn.close()

    def token(self, patient_id: str, days: int = 30) -> str:
        with CaseStore(self.db_url, actor="test") as store:
            url = grant(store, patient_id, days, base_url=self.base)
        return url.split("token=", 1)[1]

    def open(self, token: str) -> str:
        """Open a link as a browser does; the session id its cookie holds."""
        opened = self.request(f"/dashboard?token={token}")
        if opened.status != 200 or not opened.session:
            raise AssertionError(f"the link did not open: {opened.status}")
        return opened.session

    def session(self, patient_id: str) -> str:
        """A new link of `patient_id`, opened: its session id."""
        return self.open(self.token(patient_id))

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def kernel_ids(self) -> list[str]:
        return re.findall(r"Kernel started: ([0-9a-f-]{36})", self.log())

    def processes(self) -> list[psutil.Process]:
        """The server and every live process under it (fork server, kernels)."""
        root = psutil.Process(self.proc.pid)
        alive = []
        for proc in [root, *root.children(recursive=True)]:
            try:
                if proc.status() != psutil.STATUS_ZOMBIE:  # a zombie is being reaped
                    alive.append(proc)
            except psutil.NoSuchProcess:
                continue
        return alive

    def kernels(self) -> list[psutil.Process]:
        """Live kernel processes (children of the fork server, or of the server itself)."""
        found = []
        for proc in psutil.Process(self.proc.pid).children(recursive=True):
            try:
                cmd = " ".join(proc.cmdline())
                if proc.status() == psutil.STATUS_ZOMBIE:
                    continue
            except psutil.NoSuchProcess:
                continue
            if "ipykernel" in cmd or proc.ppid() != self.proc.pid:
                found.append(proc)
        return found

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_server(db_url: str, folder: Path, *extra: str, render_cache_mb: int = 0) -> Server:
    """Start a dashboard server on a free port and wait until it answers. Its render cache
    is off unless asked for: most tests here follow the per-view kernel path."""
    port = free_port()
    log_path = folder / f"server-{port}.log"
    env = {
        **os.environ,
        "PYTHONWARNINGS": "ignore",
        "CASEBOOK_RENDER_CACHE_MB": str(render_cache_mb),
    }
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "casebook.serve", "--db", db_url, "--port", str(port), *extra],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=folder,
        )
    server = Server(port, db_url, proc, log_path)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the dashboard server exited:\n{server.log()}")
        try:
            if server.request("/static/dashboard.css", timeout=5).status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"the dashboard server did not answer in time:\n{server.log()}")


def add_payload_patient(store: CaseStore, pid: str = "xss-0001") -> str:
    """A patient whose every free-text field holds script and event-handler payloads."""
    p = list(PAYLOADS)
    store.add_patient(
        Patient(id=pid, name=f"Zoe {p[0]}", birth_date=date(1980, 1, 2), sex="female")
    )
    today = date.today()
    visit = store.save(
        Visit(patient_id=pid, kind="intake", visit_date=today - timedelta(days=9), summary=p[1])
    )
    store.save(
        HistoryEntry(
            patient_id=pid,
            notes=p[2],
            data=Medication(drug_class="supplement", name=p[3], dose=p[4]),
        )
    )
    for i, payload in enumerate(p):
        store.save(
            PlanItem(
                patient_id=pid,
                category="herbal",
                no_substance_reason="Synthetic test item, no catalog substance",
                name=f"Item {i} {payload}",
                dose=payload[:200],
                frequency=payload[:200],
                status="active",
                start=today - timedelta(days=5),
                instructions=payload,
                rationale=payload,
            )
        )
        store.save(
            Note(
                patient_id=pid,
                written_on=today,
                text=payload,
                author=payload[:200],
                visibility="shared" if i % 2 == 0 else "practitioner",
                visit_id=visit.id,
            )
        )
    numeric = store.save(
        TestResult(
            patient_id=pid, test="ferritin", value=50.0, collected_on=today - timedelta(days=8)
        )
    )
    text = store.save(
        TestResult(
            patient_id=pid,
            test="giardia_antigen",
            value_text="negative",
            unit=p[4][:200],
            collected_on=today - timedelta(days=8),
        )
    )
    # Fields the store validates are written raw, as an older or damaged record might hold.
    with store.engine.begin() as conn:
        conn.execute(
            sa.update(t.test_results).where(t.test_results.c.id == text.id).values(value_text=p[0])
        )
        conn.execute(
            sa.update(t.test_results)
            .where(t.test_results.c.id == numeric.id)
            .values(unit=p[5][:200])
        )
    return pid
