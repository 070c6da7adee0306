"""Starting the dashboard server: `run(url, host, port)`, and the base URL links point at."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from casebook.errors import InputError
from casebook.serve.limits import Limits

if TYPE_CHECKING:  # voila is imported only when a server starts
    from casebook.serve.app import DashboardApp

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "base_url", "build_app", "run"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8866


def base_url(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> str:
    """`http://HOST:PORT`, the start of every link to a server listening there."""
    if not 0 < port < 65536:
        raise InputError(f"port: must be 1-65535 (got {port})")
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def build_app(
    database_url: str | None,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    limits: Limits | None = None,
    notebook: str | Path | None = None,
    kernel_name: str = "",
    forked: bool = True,
    shared_charts: bool = True,
) -> DashboardApp:
    """A configured, initialized `DashboardApp` (not yet listening)."""
    from casebook.kernels.imports import import_jsonschema_quickly

    import_jsonschema_quickly()  # ~0.7 s less start-up (see casebook.kernels.imports)
    from casebook.notebooks import template_path
    from casebook.serve.app import DashboardApp
    from casebook.store import resolve_url

    base_url(host, port)  # validates the port
    app = DashboardApp(
        database_url=resolve_url(database_url),
        notebook=str(notebook or template_path("dashboard.ipynb")),
        ip=host,
        port=port,
        limits=limits or Limits(),
        kernel_name=kernel_name,
        forked=forked,
        shared_charts=shared_charts,
    )
    app.initialize()
    return app


def _log_to_stderr() -> None:
    logger = logging.getLogger("casebook.serve")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("[casebook serve %(asctime)s] %(message)s",
                                               "%H:%M:%S"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def run(
    database_url: str | None = None,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    limits: Limits | None = None,
    notebook: str | Path | None = None,
    kernel_name: str = "",
    forked: bool = True,
    shared_charts: bool = True,
) -> int:
    """Serve dashboards until Ctrl-C or SIGTERM; 0 on a clean stop."""
    app = build_app(database_url, host=host, port=port, limits=limits, notebook=notebook,
                    kernel_name=kernel_name, forked=forked, shared_charts=shared_charts)
    _log_to_stderr()
    print(f"casebook serve: dashboards at {base_url(host, port)}/dashboard "
          "(open a link from `casebook access grant PATIENT`; Ctrl-C stops)",
          file=sys.stderr, flush=True)
    app.start()
    return 0
