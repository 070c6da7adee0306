"""A chart renderer shared by the dashboard kernels: vl-convert started once, not per view.

vl-convert's JavaScript engine takes ~0.6 s of CPU to start in every new process, and it
cannot be started before a fork (it owns threads), so a forked kernel would pay it on every
view. `ChartService` runs `python -m casebook.serve.chartd SOCKET`: one process that starts
the engine once and turns Vega-Lite specs into SVG for any kernel that asks over a Unix
socket (mode 0600, in a 0700 folder). It keeps nothing between requests, may fetch no URL
(`allowed_base_urls=[]`), and runs no notebook code. Kernels find it through
`CASEBOOK_CHART_SOCKET`; if it is missing or fails they render in-process as before.

Protocol: the client sends a 4-byte big-endian length and a JSON spec; the server answers a
status byte (0 ok, 1 error), a 4-byte length and UTF-8 text (the SVG, or the error).
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

__all__ = ["ENV_VAR", "READY", "ChartService", "main", "render_remote"]

ENV_VAR = "CASEBOOK_CHART_SOCKET"
READY = "casebook-chartd ready"
_MAX = 16 << 20  # bytes of spec or SVG


def _recv(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(min(65536, size - len(data)))
        if not chunk:
            raise OSError("connection closed early")
        data += chunk
    return data


def render_remote(spec: Mapping[str, Any], socket_path: str, timeout: float = 20.0) -> str:
    """SVG of a Vega-Lite `spec` from the service at `socket_path`; OSError or ValueError."""
    payload = json.dumps(spec).encode("utf-8")
    if len(payload) > _MAX:
        raise ValueError("chart spec too large")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        conn.connect(socket_path)
        conn.sendall(struct.pack(">I", len(payload)) + payload)
        status, size = struct.unpack(">BI", _recv(conn, 5))
        if size > _MAX:
            raise OSError("answer too large")
        text = _recv(conn, size).decode("utf-8")
    if status != 0:
        raise ValueError(f"chart service: {text}")
    return text


def _serve_one(conn: socket.socket, convert: Any, config: Mapping[str, Any]) -> None:
    conn.settimeout(10)
    try:
        (size,) = struct.unpack(">I", _recv(conn, 4))
        if size > _MAX:
            raise ValueError("chart spec too large")
        spec = json.loads(_recv(conn, size))
        status, text = 0, convert(spec, config=dict(config), allowed_base_urls=[])
    except OSError:
        return
    except Exception as exc:  # vl-convert reports every failure as a plain ValueError
        status, text = 1, f"{type(exc).__name__}: {exc}"[:2000]
    body = str(text).encode("utf-8")
    try:
        conn.sendall(struct.pack(">BI", status, len(body)) + body)
    except OSError:
        return


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m casebook.serve.chartd SOCKET", file=sys.stderr)
        return 2
    import vl_convert

    from casebook.charts import RENDER_CONFIG, warm_up

    # Ctrl-C in a terminal reaches the whole process group; the owner stops this helper
    # (by closing its stdin) when it shuts down, so the helper itself ignores SIGINT.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    warm_up()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(args[0])
    os.chmod(args[0], 0o600)
    listener.listen(64)
    print(READY, flush=True)
    stdin = sys.stdin.fileno()
    try:
        while True:
            ready, _, _ = select.select([listener, stdin], [], [])
            if stdin in ready and not os.read(stdin, 4096):
                return 0  # the owner is gone or asked us to stop
            if listener in ready:
                conn, _ = listener.accept()
                with conn:
                    _serve_one(conn, vl_convert.vegalite_to_svg, RENDER_CONFIG)
    finally:
        listener.close()


class ChartService:
    """Owns one `chartd` process: `start()` waits until its engine is warm, `stop()` ends it."""

    def __init__(self, *, stderr: int | IO[Any] | None = None) -> None:
        self.stderr = stderr
        self.process: subprocess.Popen[str] | None = None
        self.folder: Path | None = None

    @property
    def socket_path(self) -> str:
        if self.folder is None:
            raise RuntimeError("the chart service is not started")
        return str(self.folder / "charts.sock")

    def start(self) -> ChartService:
        self.folder = Path(tempfile.mkdtemp(prefix="casebook-charts-"))  # 0700
        self.process = subprocess.Popen(
            [sys.executable, "-m", "casebook.serve.chartd", self.socket_path],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        self.process.stdout.close()
        if line != READY:
            code = self.process.wait()
            self.stop()
            raise RuntimeError(f"the chart service did not start (exit status {code})")
        return self

    def stop(self) -> None:
        proc, self.process = self.process, None
        if proc is not None:
            if proc.stdin is not None:
                proc.stdin.close()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


if __name__ == "__main__":
    sys.exit(main())
