"""A chart renderer shared by the dashboard kernels: vl-convert started once, not per view.

vl-convert's JavaScript engine takes ~0.6 s of CPU to start in every new process, and it
cannot be started before a fork (it owns threads), so a forked kernel would pay it on every
view. `ChartService` runs `python -m casebook.kernels.chart_service SOCKET`: one process
that starts the engine once and turns Vega-Lite specs into SVG for any kernel that asks
over a Unix socket (mode 0600, in a 0700 folder). It keeps nothing between requests, may
fetch no URL (`allowed_base_urls=[]`), and runs no notebook code. It lives beside the fork
server and shares its lifecycle (private folder, ready line, stop on stdin EOF:
`casebook.kernels.helper`).

The client side (the variable `CHART_SOCKET_ENV` that tells a kernel the socket, the wire
protocol, `render_remote`) belongs to the charts layer: `casebook.charts.remote`. Kernels
render in-process when the service is missing or fails.
"""

from __future__ import annotations

import json
import socket
import struct
import sys
from collections.abc import Mapping, Sequence
from typing import IO, Any

from casebook.charts.remote import (
    COUNT_REQUEST,
    MAX_BYTES,
    RENDER_CONFIG,
    WARM_UP_SPEC,
    recv_exact,
    render_remote,
)
from casebook.kernels.helper import (
    HelperProcess,
    exit_now,
    ignore_interrupts,
    listen,
    owned_helper,
    process_helper,
    serve,
)

__all__ = [
    "READY",
    "ChartService",
    "main",
    "own_chart_service",
    "process_chart_service",
    "render_remote",
]

READY = "casebook-chartd ready"


class _Renderer:
    """Turns specs into SVG and counts the charts it rendered."""

    def __init__(self, convert: Any, config: Mapping[str, Any]) -> None:
        self.convert, self.config, self.renders = convert, dict(config), 0

    def answer(self, spec: Any) -> str:
        if spec == COUNT_REQUEST:
            return str(self.renders)
        svg = str(self.convert(spec, config=dict(self.config), allowed_base_urls=[]))
        self.renders += 1
        return svg


def _serve_one(conn: socket.socket, renderer: _Renderer) -> None:
    conn.settimeout(10)
    try:
        (size,) = struct.unpack(">I", recv_exact(conn, 4))
        if size > MAX_BYTES:
            raise ValueError("chart spec too large")
        status, text = 0, renderer.answer(json.loads(recv_exact(conn, size)))
    except OSError:
        return
    except Exception as exc:  # noqa: BLE001 - every bad request is answered, not fatal
        status, text = 1, f"{type(exc).__name__}: {exc}"[:2000]
    body = str(text).encode("utf-8")
    try:
        conn.sendall(struct.pack(">BI", status, len(body)) + body)
    except OSError:
        return


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m casebook.kernels.chart_service SOCKET", file=sys.stderr)
        return 2
    ignore_interrupts()
    import vl_convert  # and not Altair (nor jsonschema's grammars): ~2-3 s of CPU at start

    renderer = _Renderer(vl_convert.vegalite_to_svg, RENDER_CONFIG)
    renderer.answer(json.loads(json.dumps(dict(WARM_UP_SPEC))))  # start the engine now
    renderer.renders = 0  # the warm-up is no chart anyone asked for
    listener = listen(args[0])
    print(READY, flush=True)
    serve(listener, lambda conn: _serve_one(conn, renderer))
    return 0


class ChartService(HelperProcess):
    """Owns one `chartd` process: `start()` waits until its engine is warm, `stop()` ends it."""

    def __init__(self, *, stderr: int | IO[Any] | None = None) -> None:
        super().__init__(
            "casebook.kernels.chart_service",
            socket_name="charts.sock",
            folder_prefix="casebook-charts-",
            description="chart service",
            stderr=stderr,
        )

    def start(self) -> ChartService:
        """Launch the service and wait until its engine is warm."""
        return self.launch().wait_ready()

    def launch(self) -> ChartService:
        """Launch the service without waiting; `socket_path` is usable at once."""
        self.spawn()
        return self

    def wait_ready(self) -> ChartService:
        """Block until the launched service listens; RuntimeError if it died instead."""
        self.read_ready(lambda line: line == READY)
        return self

    def renders(self) -> int:
        """How many charts the service has rendered since it started."""
        return int(render_remote(COUNT_REQUEST, self.socket_path))


_OWNED_NAME = "chart service"


def process_chart_service() -> ChartService:
    """This process's own chart service (started on first use, stopped at exit), for the
    kernels it starts: the `casebook` kernel's provisioner hands them its socket."""
    return process_helper(_OWNED_NAME, lambda: ChartService().start())


def own_chart_service() -> ChartService | None:
    """This process's own chart service if it serves (never starts one)."""
    service = owned_helper(_OWNED_NAME)
    return service if isinstance(service, ChartService) else None


if __name__ == "__main__":
    exit_now(main())
