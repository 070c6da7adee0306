"""`DashboardApp`: a standalone Voilà application that serves patient dashboards only.

It is `voila.app.Voila` with its doors closed:

- configuration is fixed in code (no voila.json/voila.py is read, no command line is
  parsed): the `casebook` template (no script, no CDN), no template or theme override, no
  preheated kernels, no progressive rendering, sources stripped, no tracebacks, no request
  header passed to kernels;
- the routes are `authz.ROUTES` and nothing else (no tree, render, contents, files, kernels,
  shutdown, query/execution sockets, themes, labextensions, login);
- identity is `PatientIdentityProvider` (a link's token or its cookie, checked against the
  store on every request), the Jupyter authorizer refuses everything;
- kernels: one per view, shut down when the page is rendered, culled if idle (`limits`);
  kernel messages other than comm and kernel-info ones are dropped, as in stock Voilà.
  With `forked` (the default) each view's kernel is forked, after the request is
  authorized, from a `casebook.kernels.ForkServer` that only imported libraries and never
  ran patient code; the kernel learns its patient from the injected parameters alone.
  With `shared_charts` (the default) kernels hand their Vega-Lite specs to one warm
  vl-convert process (`chartd`) instead of starting a JavaScript engine each.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from typing import TYPE_CHECKING, Any, cast

import tornado.ioloop
import tornado.web
from tornado import web
from tornado.ioloop import IOLoop
from traitlets import Bool, Callable, Instance, Int, Unicode, default
from traitlets.config import Config
from voila.app import Voila

from casebook.errors import InputError
from casebook.serve.authz import PatientAuthorizer
from casebook.serve.cache import RenderCache, live_patients, template_digest
from casebook.serve.checkin_handlers import (
    CheckinFormHandler,
    CheckinStartHandler,
    CheckinState,
    checkin_state,
)
from casebook.serve.connections import BoundedHTTPServer, server_options
from casebook.serve.handlers import (
    DashboardHandler,
    NotFoundHandler,
    ServeState,
    StylesheetHandler,
    SummaryHandler,
)
from casebook.serve.identity import PatientIdentityProvider
from casebook.serve.limits import (
    CULL_SETTINGS,
    Limits,
    RateLimiter,
    ViewGate,
)
from casebook.serve.render import TEMPLATE_DIR, ViewContext, load_template, prepare_notebook

if TYPE_CHECKING:
    from casebook.store import CaseStore

__all__ = ["LOCKED_CONFIGURATION", "DashboardApp", "log_request"]

access_log = logging.getLogger("casebook.serve.access")

LOCKED_CONFIGURATION: dict[str, Any] = {
    "template": "casebook",
    "theme": "light",
    "allow_template_override": "NO",
    "allow_theme_override": "NO",
    "strip_sources": True,
    "show_tracebacks": False,
    "preheat_kernel": False,
    "progressive_rendering": False,
    "http_header_envs": [],
    "file_allowlist": [],
    "file_denylist": [".*"],
    "resources": {},
}
"""VoilaConfiguration values the dashboard server runs with, and checks at start-up."""


def log_request(handler: web.RequestHandler) -> None:
    """Access log without the query string or cookies (a token never reaches the log)."""
    status = handler.get_status()
    level = logging.INFO if status < 400 else logging.WARNING
    access_log.log(
        level,
        "%d %s %s %.0fms",
        status,
        handler.request.method,
        handler.request.path,
        1000.0 * handler.request.request_time(),
    )


class _Application(tornado.web.Application):
    """The tornado application whose HTTP server bounds connections in number and time,
    reads no large body and buffers little (`casebook.serve.connections`)."""

    def listen(self, port: int, address: str | None = None, **kwargs: Any) -> Any:
        options = server_options(
            self.settings.get("casebook_limits") or Limits(),
            xheaders=bool(self.settings.get("casebook_trust_proxy")),
        )
        server = BoundedHTTPServer(self, **{**options, **kwargs})
        server.listen(port, address or "")
        ready = self.settings.get("casebook_on_ready")
        if ready is not None:  # runs once the loop starts: the socket already listens
            IOLoop.current().add_callback(ready)
        return server


class DashboardApp(Voila):  # type: ignore[misc]  # voila is untyped
    """The patient dashboard server. Set `database_url` and `notebook`, then `initialize()`
    and `start()` (blocks until stopped)."""

    name = "casebook-serve"
    description = Unicode("Serves patient dashboards, one patient per link.")
    database_url = Unicode(help="The store (its password, if any, never reaches a notebook)")
    notebook = Unicode(help="The dashboard template (.ipynb with a 'parameters' cell)")
    kernel_name = Unicode("", help="Kernel to run dashboards in ('' = the notebook's own)")
    limits = Instance(Limits, kw={}, help="Rate and concurrency limits")
    forked = Bool(True, help="Fork each view's kernel from a pre-importing process")
    shared_charts = Bool(True, help="Render charts in one warm process shared by kernels")
    public_url = Unicode(
        "",
        help="The https (or http) address links point at, e.g. behind "
        "a TLS proxy; https makes the session cookie Secure",
    )
    trust_proxy = Bool(
        False,
        help="Take the client address and scheme from X-Forwarded-* "
        "/ X-Real-Ip headers (only behind a proxy that sets them)",
    )
    on_ready = Callable(
        None, allow_none=True, help="Called once the server accepts connections (prints the links)"
    )
    render_cache_mb = Int(
        help="Memory for rendered pages, in MiB (0: render every view); "
        "default $CASEBOOK_RENDER_CACHE_MB or 64"
    )
    store = Instance("casebook.store.CaseStore", allow_none=True)
    fork_server = Instance("casebook.kernels.ForkServer", allow_none=True)
    chart_service = Instance("casebook.kernels.chart_service.ChartService", allow_none=True)

    @default("config_file_paths")
    def _no_config_files(self) -> list[str]:
        return []  # nothing from voila.json / voila.py in the working directory

    @default("render_cache_mb")
    def _cache_from_env(self) -> int:
        raw = os.environ.get("CASEBOOK_RENDER_CACHE_MB") or "64"
        if not raw.isdigit():
            raise InputError(
                f"CASEBOOK_RENDER_CACHE_MB: must be a whole number of MiB (got {raw!r})"
            )
        return int(raw)

    @default("open_browser")
    def _no_browser(self) -> bool:
        return False

    @default("port_retries")
    def _no_port_retries(self) -> int:
        return 0  # the printed links name this port: never silently take another

    def initialize(self, argv: Any = None) -> None:
        from casebook.store import CaseStore

        self._template = load_template(self.notebook)
        self.store = CaseStore(self.database_url or None, actor="casebook serve")
        config = Config()
        config.VoilaConfiguration = Config(LOCKED_CONFIGURATION)
        config.MappingKernelManager = Config(CULL_SETTINGS)
        config.VoilaExecutor = Config({"timeout": 30, "allow_errors": True})
        # A client that is ready as soon as its kernel is (no fixed 0.2 s wait per view),
        # kernels on IPC transport, and kernelspecs found through the manager's own
        # arguments (`extra_kernel_dirs`, set when the fork server starts).
        config.AsyncMappingKernelManager = Config(
            {"kernel_manager_class": "casebook.serve.render.DashboardKernelManager"}
        )
        config.VoilaConfiguration.kernel_spec_manager_class = (
            "casebook.kernels.client.CasebookKernelSpecManager"
        )
        self.update_config(config)
        self.identity_provider_class = PatientIdentityProvider
        self.authorizer_class = PatientAuthorizer
        self._workdir = tempfile.mkdtemp(prefix="casebook-serve-")
        self.root_dir = self._workdir  # contents and kernel cwd: an empty private folder
        super().initialize([])
        self._check_locked()
        # Import Papermill's parameterizer now rather than during the first view.
        prepare_notebook(self._template, {"patient_id": "x", "database_url": "sqlite://"})

    def _check_locked(self) -> None:
        conf = self.voila_configuration
        wrong = [k for k, v in LOCKED_CONFIGURATION.items() if getattr(conf, k) != v]
        if wrong:  # pragma: no cover - only reachable if Voilà changes how config loads
            raise RuntimeError(f"dashboard server configuration was changed: {wrong}")

    def setup_template_dirs(self) -> None:
        self.template_paths = [str(TEMPLATE_DIR / "casebook"), str(TEMPLATE_DIR)]
        self.static_paths: list[str] = []

    def init_settings(self) -> dict[str, Any]:
        settings: dict[str, Any] = super().init_settings()
        store = cast("CaseStore", self.store)  # opened by initialize(), before this
        self.identity_provider.store = store
        self.identity_provider.secure_cookies = self.public_url.startswith("https://")
        limits = self.limits
        view = ViewContext(
            voila_configuration=self.voila_configuration,
            traitlet_config=self.config,
            kernel_manager=self.kernel_manager,
            kernel_spec_manager=self.kernel_spec_manager,
            config_manager=self.config_manager,
            contents_manager=self.contents_manager,
            template=self._template,
            database_url=store.url,
            public_url=_public_url(store.url),
            workdir="",
            kernel_name=self.kernel_name,
            chart_socket=self.chart_service.socket_path if self.chart_service else "",
        )
        settings.update(
            casebook=ServeState(
                identity=self.identity_provider,
                view=view,
                link_limiter=RateLimiter(limits.views_per_minute, limits.burst),
                session_limiter=RateLimiter(limits.session_views_per_minute, limits.session_burst),
                address_limiter=RateLimiter(
                    limits.bad_credentials_per_minute,
                    max(1, int(limits.bad_credentials_per_minute)),
                ),
                gate=ViewGate(limits),
                render_timeout=limits.render_timeout,
                cache=RenderCache(
                    max(0, self.render_cache_mb) * 1024 * 1024,
                    template=template_digest(self._template),
                ),
            ),
            casebook_checkins=checkin_state(store),
            casebook_trust_proxy=self.trust_proxy,
            casebook_limits=limits,
            default_handler_class=NotFoundHandler,
            log_function=log_request,
            xsrf_cookies=False,
            serve_traceback=False,
            static_path=None,
            autoreload=False,
        )
        return settings

    def init_handlers(self) -> list[Any]:
        return [
            (r"/", DashboardHandler),
            (r"/dashboard", DashboardHandler),
            (r"/dashboard/summary\.pdf", SummaryHandler),
            (r"/static/dashboard\.css", StylesheetHandler),
            (r"/checkin", CheckinStartHandler),
            (r"/checkin/([0-9a-f]{32})", CheckinFormHandler),
        ]

    def start_fork_server(self) -> None:
        """Start the pre-importing process and select its kernelspec (before any kernel):
        the kernelspec manager Voilà makes in `init_settings` searches its folder first."""
        from casebook.kernels import DEFAULT_PRELOAD, KERNEL_NAME, ForkServer

        self.fork_server = ForkServer((*DEFAULT_PRELOAD, "casebook.serve.preload")).start()
        config = Config()
        config.CasebookKernelSpecManager = Config(
            {"extra_kernel_dirs": [self.fork_server.kernels_dir]}
        )
        self.update_config(config)
        self.kernel_name = self.kernel_name or KERNEL_NAME

    def start(self) -> None:
        if self.shared_charts:
            from casebook.kernels.chart_service import ChartService

            self.chart_service = ChartService().start()
        if self.forked:
            self.start_fork_server()
        self.connection_dir = tempfile.mkdtemp(prefix="cbk-serve-", dir=self.connection_dir_root)
        settings = self.init_settings()
        settings["casebook_on_ready"] = self.on_ready
        self.app = _Application(**settings)
        self.app.add_handlers(".*$", self.init_handlers())
        cache, store = settings["casebook"].cache, self.store
        tornado.ioloop.PeriodicCallback(  # pages of revoked links and deleted patients go
            lambda: cache.sweep(lambda ids: live_patients(store, ids)), 60_000
        ).start()
        try:
            self.listen()  # runs the loop; Voilà's listen calls stop() when the loop ends
        except SystemExit:  # the port was taken: Voilà exits before its loop starts
            self.stop()
            raise

    def stop(self) -> None:
        try:
            super().stop()
        finally:
            try:
                self._close_page_lookup()
            finally:
                if self.fork_server is not None:
                    self.fork_server.stop()
                if self.chart_service is not None:
                    self.chart_service.stop()
                if self.store is not None:
                    self.store.close()
                shutil.rmtree(self._workdir, ignore_errors=True)

    def _close_page_lookup(self) -> None:
        """Close the check-in pages' own connection to the store (`PageLookup`); there is
        none when `start()` stopped before making the application."""
        server = getattr(self, "app", None)
        checkins = server.settings.get("casebook_checkins") if server is not None else None
        if isinstance(checkins, CheckinState):
            checkins.lookup.close()


def _public_url(url: str) -> str:
    from casebook.notebooks import public_database_url

    return public_database_url(url)
