"""Starting the dashboard server: `run(url, host, port)`, and the base URL links point at.

Links point at `http://HOST:PORT` unless a public URL is given (`--public-url`, or once in
the environment as `CASEBOOK_PUBLIC_URL`): the https address of a TLS proxy in front of the
server. With an https public URL the session cookie is Secure; `trust_proxy` makes the
server take the client's address and scheme from the proxy's X-Forwarded-* headers (only
set it when a proxy that overwrites them is the sole way in).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from casebook.errors import InputError
from casebook.serve.limits import Limits
from casebook.serve.tokens import check_base_url

if TYPE_CHECKING:  # voila is imported only when a server starts
    from casebook.serve.app import DashboardApp

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "PUBLIC_URL_ENV",
    "base_url",
    "build_app",
    "check_port_free",
    "link_base",
    "public_url",
    "run",
]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8866
PUBLIC_URL_ENV = "CASEBOOK_PUBLIC_URL"
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$"
)


def _check_host(host: str) -> str:
    """`host` if it is a host name or an IP address; InputError otherwise (a URL, a path,
    spaces, ...)."""
    if isinstance(host, str) and _HOSTNAME.fullmatch(host):
        return host
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        raise InputError(
            "--host: must be a host name or IP address, without scheme, port or path "
            "(for an https address in links, use --public-url)"
        ) from None


def base_url(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> str:
    """`http://HOST:PORT`, the start of every link to a server listening there."""
    if not 0 < port < 65536:
        raise InputError(f"port: must be 1-65535 (got {port})")
    host = _check_host(host)
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def public_url(given: str | None = None) -> str:
    """The checked public base URL: `given`, else `$CASEBOOK_PUBLIC_URL`, else ''."""
    if given:
        return check_base_url(given, "--public-url")
    configured = os.environ.get(PUBLIC_URL_ENV, "")
    return check_base_url(configured, PUBLIC_URL_ENV) if configured else ""


def link_base(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, public: str | None = None) -> str:
    """Where links point: the public URL (given or configured), else `http://HOST:PORT`."""
    return public_url(public) or base_url(host, port)


def check_port_free(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """InputError naming the port if something already listens on HOST:PORT. Checked
    before any work (a demo build, a server start), binding as the server will
    (SO_REUSEADDR, every address of the host), so a port the server could take passes."""
    base_url(host, port)  # validates the host and port
    try:
        addresses = socket.getaddrinfo(
            host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
        )
    except socket.gaierror:
        raise InputError(f"--host: {host!r} is not an address of this machine") from None
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                raise InputError(
                    f"port {port} on {host} is in use ({exc.strerror or exc}): stop what "
                    "listens there or choose another with --port"
                ) from None


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
    public: str | None = None,
    trust_proxy: bool = False,
) -> DashboardApp:
    """A configured, initialized `DashboardApp` (not yet listening)."""
    from casebook.kernels.imports import import_jsonschema_quickly

    import_jsonschema_quickly()  # ~0.7 s less start-up (see casebook.kernels.imports)
    from casebook.notebooks import template_path
    from casebook.serve.app import DashboardApp
    from casebook.store import resolve_url

    base_url(host, port)  # validates the host and port
    public = public_url(public)
    app = DashboardApp(
        database_url=resolve_url(database_url),
        notebook=str(notebook or template_path("dashboard.ipynb")),
        ip=host,
        port=port,
        limits=limits or Limits(),
        kernel_name=kernel_name,
        forked=forked,
        shared_charts=shared_charts,
        public_url=public,
        trust_proxy=trust_proxy,
    )
    app.initialize()
    return app


class _ClosedStreamRace(logging.Filter):
    """Drops pyzmq's "Got events for closed stream": a view's kernel shut down while one of
    its sockets still had events queued, now and then on a busy machine. Nothing is lost
    (the view was sent, the kernel is gone); in a clinic's server log it is only noise.
    pyzmq logs it through tornado's `tornado.general` logger; every other record passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg != "Got events for closed stream %s"


_CLOSED_STREAM_RACE = _ClosedStreamRace()


def _log_to_stderr() -> None:
    general = logging.getLogger("tornado.general")
    if _CLOSED_STREAM_RACE not in general.filters:
        general.addFilter(_CLOSED_STREAM_RACE)
    logger = logging.getLogger("casebook.serve")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(
            logging.Formatter("[casebook serve %(asctime)s] %(message)s", "%H:%M:%S")
        )
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
    public: str | None = None,
    trust_proxy: bool = False,
    on_ready: Callable[[str], None] | None = None,
) -> int:
    """Serve dashboards until Ctrl-C or SIGTERM; 0 on a clean stop.

    The "dashboards at" line (and `on_ready(base)`, base being where links point) comes
    once the server accepts connections, not before: a link printed then opens at once."""
    check_port_free(host, port)  # before the 10 s of start-up, not after
    app = build_app(
        database_url,
        host=host,
        port=port,
        limits=limits,
        notebook=notebook,
        kernel_name=kernel_name,
        forked=forked,
        shared_charts=shared_charts,
        public=public,
        trust_proxy=trust_proxy,
    )
    _log_to_stderr()
    base = app.public_url or base_url(host, port)

    def ready() -> None:
        print(
            f"casebook serve: dashboards at {base}/dashboard "
            "(open a link from `casebook access grant PATIENT`; Ctrl-C stops)",
            file=sys.stderr,
            flush=True,
        )
        if on_ready is not None:
            on_ready(base)

    app.on_ready = ready
    app.start()
    return 0
