"""The client side of the shared chart service: its socket's variable name and its wire.

A warm vl-convert engine may run in another process (`casebook.kernels.chart_service`,
started by `casebook serve` and by the `casebook` kernel's provisioner). A kernel finds its
Unix socket in the environment variable `CHART_SOCKET_ENV` (named here only; the kernels
layer reads it from here) and asks it with `render_remote`; `render_svg` falls back to an
in-process engine when it is missing or fails.

Protocol: the client sends a 4-byte big-endian length and a JSON spec; the server answers a
status byte (0 ok, 1 error), a 4-byte length and UTF-8 text (the SVG, or the error). The
request `COUNT_REQUEST` is answered with the number of charts rendered so far.
"""

from __future__ import annotations

import json
import socket
import struct
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

__all__ = [
    "CHART_SOCKET_ENV",
    "COUNT_REQUEST",
    "MAX_BYTES",
    "RENDER_CONFIG",
    "WARM_UP_SPEC",
    "recv_exact",
    "render_remote",
]

CHART_SOCKET_ENV = "CASEBOOK_CHART_SOCKET"
"""The environment variable that gives a kernel the shared chart service's socket."""

MAX_BYTES = 16 << 20
"""The largest spec or SVG either side sends."""

COUNT_REQUEST: Mapping[str, str] = {"casebook-chartd": "renders"}
"""The request answered with how many charts the service has rendered."""

# Applied at render time (not stored in the charts, so they stay composable); read-only.
# Here, not in `render`, so that the chart service uses it without importing Altair.
RENDER_CONFIG: Mapping[str, Any] = MappingProxyType(
    {
        "background": "white",
        "font": "sans-serif",
        "padding": 8,
        # A chart's `width` is the width of the whole picture (axes, legend and padding inside),
        # so a patient chart of width 340 fits a phone without scaling.
        "autosize": {"type": "fit-x", "contains": "padding"},
        "view": {"stroke": None},
        "axis": {
            "labelColor": "#333",
            "titleColor": "#333",
            "gridColor": "#e6e6e6",
            "domainColor": "#888",
            "tickColor": "#888",
        },
        "legend": {"labelColor": "#333", "titleColor": "#333"},
        "title": {"color": "#222"},
    }
)

WARM_UP_SPEC: Mapping[str, Any] = MappingProxyType(
    {
        "mark": "point",
        "data": {"values": [{"x": 0}]},
        "encoding": {"x": {"field": "x", "type": "quantitative"}},
    }
)
"""A one-point chart drawn to start vl-convert's engine before the first real one."""


def recv_exact(conn: socket.socket, size: int) -> bytes:
    """Exactly `size` bytes from `conn`; OSError if it closes first."""
    data = b""
    while len(data) < size:
        chunk = conn.recv(min(65536, size - len(data)))
        if not chunk:
            raise OSError("connection closed early")
        data += chunk
    return data


def render_remote(spec: Mapping[str, Any], socket_path: str, timeout: float = 20.0) -> str:
    """SVG of a Vega-Lite `spec` from the service at `socket_path`; OSError or ValueError."""
    payload = json.dumps(dict(spec)).encode("utf-8")
    if len(payload) > MAX_BYTES:
        raise ValueError("chart spec too large")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        conn.connect(socket_path)
        conn.sendall(struct.pack(">I", len(payload)) + payload)
        status, size = struct.unpack(">BI", recv_exact(conn, 5))
        if size > MAX_BYTES:
            raise OSError("answer too large")
        text = recv_exact(conn, size).decode("utf-8")
    if status != 0:
        raise ValueError(f"chart service: {text}")
    return text
