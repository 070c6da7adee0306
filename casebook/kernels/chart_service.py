"""A chart renderer shared by the dashboard kernels: vl-convert started once, not per view.

vl-convert's JavaScript engine takes ~0.6 s of CPU to start in every new process, and it
cannot be started before a fork (it owns threads), so a forked kernel would pay it on every
view. `ChartService` runs `python -m casebook.kernels.chart_service SOCKET`: one process
that starts the engine once and turns Vega-Lite specs into SVG for any kernel that asks
over a Unix socket (mode 0600, in a 0700 folder). vl-convert draws one chart at a time per
process (one JavaScript engine), so `ChartService(renderers=N)` forks N-1 more renderers
before any engine starts, each with its own engine, all accepting on the one socket: N
kernels' charts are drawn side by side instead of queueing (a batch asks for one per
worker). It keeps nothing between requests, may
fetch no URL (`allowed_base_urls=[]`), and runs no notebook code. It lives beside the fork
server and shares its lifecycle (private folder, ready line, stop on stdin EOF:
`casebook.kernels.helper`).

The client side (the variable `CHART_SOCKET_ENV` that tells a kernel the socket, the wire
protocol, `render_remote`) belongs to the charts layer: `casebook.charts.remote`. Kernels
render in-process when the service is missing or fails.

Fonts: vl-convert measures every text it lays out (labels, titles, legends, each point's
number) with its font database, which opens and maps the font's file afresh for every
measurement when the font comes from the system (~2,500 opens a chart, half of a chart's
CPU), but reads from memory the Liberation Sans it bundles. On Linux the service gives
vl-convert a font configuration whose one font folder is empty (`FONTCONFIG_FILE`, read
here by vl-convert's font database alone: the service runs nothing else), so "sans-serif"
is that bundled Liberation Sans: the family vl-convert picks anyway when the system has no
Arial or Helvetica (it prefers those, then Liberation Sans: the same widths by design).
Measured on the demo's charts: ~77 -> ~34 ms of CPU a chart, the same SVG to the byte
(tests/serve). The SVG names `sans-serif`, so the viewer's browser draws the text in its
own font either way; only text in a script Liberation Sans lacks (CJK, Arabic, emoji, ✓)
is measured without a system fallback font: a label may sit a few pixels off.
"""

from __future__ import annotations

import json
import mmap
import os
import socket
import struct
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape as xml_escape

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
    "bundled_font_env",
    "main",
    "own_chart_service",
    "process_chart_service",
    "render_remote",
]

READY = "casebook-chartd ready"

_NO_FONT_FOLDERS = """\
<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<!-- casebook's chart service: no system font, so vl-convert measures text with its own
     in-memory Liberation Sans (see casebook/kernels/chart_service.py) -->
<fontconfig><dir>{folder}</dir></fontconfig>
"""


def bundled_font_env(folder: Path) -> dict[str, str]:
    """The environment that makes vl-convert measure text with its bundled font alone: a
    font configuration in `folder` naming one empty font folder beside it (none at all would
    make vl-convert's font database fall back to the system's folders)."""
    fonts = folder / "no-fonts"
    fonts.mkdir(mode=0o700, exist_ok=True)
    config = folder / "fonts.conf"
    config.write_text(_NO_FONT_FOLDERS.format(folder=xml_escape(str(fonts))), encoding="utf-8")
    return {**os.environ, "FONTCONFIG_FILE": str(config)}


class _Renderer:
    """Turns specs into SVG and counts the charts drawn by every renderer of the service:
    renderer `slot` counts in its own 8 bytes of `counts`, memory shared across the fork."""

    def __init__(
        self, convert: Any, config: Mapping[str, Any], counts: mmap.mmap, slot: int = 0
    ) -> None:
        self.convert, self.config, self.counts, self.slot = convert, dict(config), counts, slot

    @property
    def renders(self) -> int:
        return sum(count for (count,) in struct.iter_unpack("<Q", self.counts))

    def answer(self, spec: Any) -> str:
        if spec == COUNT_REQUEST:
            return str(self.renders)
        svg = str(self.convert(spec, config=dict(self.config), allowed_base_urls=[]))
        (mine,) = struct.unpack_from("<Q", self.counts, 8 * self.slot)
        struct.pack_into("<Q", self.counts, 8 * self.slot, mine + 1)
        return svg

    def warm_up(self) -> None:
        """Start the engine now; the warm-up is no chart anyone asked for."""
        spec = json.loads(json.dumps(dict(WARM_UP_SPEC)))
        self.convert(spec, config=dict(self.config), allowed_base_urls=[])


def _serve_one(conn: socket.socket, renderer: _Renderer) -> None:
    conn.setblocking(True)  # accepted from a non-blocking listener
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


def _fork_renderers(renderers: int) -> int:
    """Fork `renderers - 1` more renderers (before any engine starts: it owns threads);
    this process's slot (0: the first, which prints the ready line)."""
    for slot in range(1, renderers):
        if os.fork() == 0:
            return slot
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not 1 <= len(args) <= 2 or not (len(args) == 1 or args[1].isdigit()):
        print("usage: python -m casebook.kernels.chart_service SOCKET [RENDERERS]", file=sys.stderr)
        return 2
    renderers = max(1, int(args[1])) if len(args) == 2 else 1
    ignore_interrupts()
    import vl_convert  # and not Altair (nor jsonschema's grammars): ~2-3 s of CPU at start

    listener = listen(args[0])
    listener.setblocking(False)  # every renderer waits on it: one accepts, the rest go on
    counts = mmap.mmap(-1, 8 * renderers)  # shared with the forked renderers
    slot = _fork_renderers(renderers)
    renderer = _Renderer(vl_convert.vegalite_to_svg, RENDER_CONFIG, counts, slot)
    if slot == 0:  # the others start their engines on their first chart: not at start-up,
        renderer.warm_up()  # when a batch's fork server wants the cores
        print(READY, flush=True)
    serve(listener, lambda conn: _serve_one(conn, renderer))
    return 0


class ChartService(HelperProcess):
    """Owns one `chartd` process: `start()` waits until its engine is warm, `stop()` ends it."""

    def __init__(self, *, renderers: int = 1, stderr: int | IO[Any] | None = None) -> None:
        """`renderers`: charts drawn at once (one process and one engine each)."""
        super().__init__(
            "casebook.kernels.chart_service",
            socket_name="charts.sock",
            folder_prefix="casebook-charts-",
            description="chart service",
            stderr=stderr,
        )
        self.renderers = max(1, renderers)

    def start(self) -> ChartService:
        """Launch the service and wait until its engine is warm."""
        return self.launch().wait_ready()

    def launch(self) -> ChartService:
        """Launch the service without waiting; `socket_path` is usable at once."""
        args = () if self.renderers == 1 else (str(self.renderers),)
        self.spawn(args, env=bundled_font_env(self.make_folder()))
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
