"""One dashboard view: a fresh kernel runs the template for the link's patient, and dies.

The notebook is read once at start-up. Per view it is copied, the patient id (from the
token, never from the URL) and the store URL (without its password) are injected after the
`parameters` cell by Papermill, and Voilà's `NotebookRenderer` executes it cell by cell in a
new kernel and streams the page through the `casebook` template. The kernel's environment
is the server's minus anything request-shaped: no query string, no URL, no header reaches
it. As soon as the last cell has run (or the client goes away, or the view times out) the
kernel is shut down (killed: it has nothing left to save): the page is static, nothing on
it talks to a kernel.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import nbformat
from jupyter_core.utils import ensure_async
from jupyter_server.services.kernels.kernelmanager import ServerKernelManager
from sqlalchemy.engine import make_url
from traitlets import DottedObjectName, Type
from voila.notebook_renderer import NotebookRenderer

from casebook.charts.remote import CHART_SOCKET_ENV
from casebook.dashboard import VOILA_TEMPLATES
from casebook.errors import InputError
from casebook.kernels.client import ReadyKernelClient, ipc_transport
from casebook.serve.cache import RenderOutcome
from casebook.serve.headers import STYLE_ELEMENT

__all__ = [
    "NOTEBOOK_NAME",
    "TEMPLATE_DIR",
    "DashboardKernelManager",
    "DashboardRenderer",
    "ViewContext",
    "kernel_environment",
    "load_template",
    "prepare_notebook",
    "render_view",
]

log = logging.getLogger("casebook.serve")

NOTEBOOK_NAME = "dashboard.ipynb"
TEMPLATE_DIR = VOILA_TEMPLATES
"""Holds the `casebook` Voilà template (index.html.j2): no script, its stylesheet inline."""

# Names that carry request data in stock Voilà, or secrets the kernel gets another way.
_DROPPED = frozenset(
    {
        "CASEBOOK_DB",
        "PGPASSWORD",
        CHART_SOCKET_ENV,
        "QUERY_STRING",
        "SCRIPT_NAME",
        "PATH_INFO",
        "SERVER_NAME",
        "SERVER_PORT",
        "SERVER_PROTOCOL",
        "SERVER_SOFTWARE",
    }
)
_DROPPED_PREFIXES = ("VOILA_", "HTTP_", "JPY_")


def load_template(path: str | os.PathLike[str]) -> nbformat.NotebookNode:
    """The dashboard template, read and checked once: it must have a `parameters` cell."""
    nb: nbformat.NotebookNode = nbformat.read(os.fspath(path), as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1:
        raise InputError(f"{path}: a dashboard template needs exactly one 'parameters' cell")
    nb.metadata.setdefault("papermill", {})
    for cell in nb.cells:
        cell.metadata.setdefault("tags", [])  # Papermill reads every cell's tags
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def prepare_notebook(
    template: nbformat.NotebookNode, parameters: Mapping[str, str]
) -> nbformat.NotebookNode:
    """A copy of `template` with `parameters` injected after its `parameters` cell."""
    from papermill.parameterize import parameterize_notebook

    from casebook.notebooks import check_parameters

    prepared: nbformat.NotebookNode = parameterize_notebook(
        copy.deepcopy(template), check_parameters(parameters)
    )
    return prepared


def kernel_environment(
    database_url: str, base: Mapping[str, str] | None = None, *, chart_socket: str = ""
) -> dict[str, str]:
    """The environment of a dashboard kernel: the server's, minus request-shaped names and
    the store URL; plus PGPASSWORD when the store URL carries a password (the notebook
    receives the URL without it), and the shared chart renderer's socket if there is one."""
    source = os.environ if base is None else base
    env = {
        k: v for k, v in source.items() if k not in _DROPPED and not k.startswith(_DROPPED_PREFIXES)
    }
    password = make_url(database_url).password
    if password:
        env["PGPASSWORD"] = str(password)
    if chart_socket:
        env[CHART_SOCKET_ENV] = chart_socket
    return env


class DashboardKernelManager(ServerKernelManager):
    """jupyter_server's kernel manager with casebook's client, which is ready as soon as its
    kernel is (no fixed 0.2 s wait per view; see casebook.kernels.client), and kernels on
    IPC transport: their sockets sit beside the connection file, in the server's private
    connection folder (mode 0700), so no two kernels can race for a TCP port."""

    client_class = DottedObjectName("casebook.kernels.client.ReadyKernelClient")
    client_factory = Type(klass=ReadyKernelClient, default_value=ReadyKernelClient)
    transport = ipc_transport()


class DashboardRenderer(NotebookRenderer):  # type: ignore[misc]  # voila is untyped
    """Voilà's renderer, fed the prepared notebook instead of a file under a root dir."""

    def __init__(self, notebook: nbformat.NotebookNode, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._prepared = notebook

    async def load_notebook(self, path: str) -> nbformat.NotebookNode:
        return self._prepared


@dataclass
class ViewContext:
    """What every view shares: the app's Voilà pieces and the kernel's surroundings."""

    voila_configuration: Any
    traitlet_config: Any
    kernel_manager: Any
    kernel_spec_manager: Any
    config_manager: Any
    contents_manager: Any
    template: nbformat.NotebookNode
    database_url: str
    public_url: str
    workdir: str
    kernel_name: str = ""
    base_url: str = "/"
    chart_socket: str = ""
    shutdowns: set[asyncio.Future[Any]] = field(default_factory=set)


async def render_view(
    ctx: ViewContext, patient_id: str, outcome: RenderOutcome | None = None
) -> AsyncIterator[str]:
    """The page of `patient_id` in HTML snippets, from a kernel started for it alone and
    shut down when the page is complete or the caller stops iterating. `outcome` learns
    whether the page finished and how many cells failed (the render cache keeps only a
    finished page without a failed cell)."""
    begun = time.perf_counter()
    nb = prepare_notebook(ctx.template, {"patient_id": patient_id, "database_url": ctx.public_url})
    renderer = DashboardRenderer(
        nb,
        request_handler=None,
        voila_configuration=ctx.voila_configuration,
        traitlet_config=ctx.traitlet_config,
        notebook_path=NOTEBOOK_NAME,
        template_paths=[str(TEMPLATE_DIR / "casebook"), str(TEMPLATE_DIR)],
        config_manager=ctx.config_manager,
        contents_manager=ctx.contents_manager,
        base_url=ctx.base_url,
        kernel_spec_manager=ctx.kernel_spec_manager,
        page_config={},
    )
    await renderer.initialize()
    renderer.resources["casebook_style"] = STYLE_ELEMENT  # inline: nothing to fetch first
    km = ctx.kernel_manager
    kernel_id = str(uuid.uuid4())  # chosen here, so a failed start is still shut down
    started = time.perf_counter()
    try:
        await ensure_async(
            km.start_kernel(
                kernel_id=kernel_id,
                kernel_name=ctx.kernel_name or renderer.notebook.metadata.kernelspec.name,
                path=ctx.workdir,
                env=kernel_environment(ctx.database_url, chart_socket=ctx.chart_socket),
            )
        )
        ready = time.perf_counter()
        async for snippet, _ in renderer.generate_content_generator(
            kernel_id, km.get_kernel(kernel_id)
        ):
            yield snippet
        if outcome is not None:
            outcome.errors = sum(
                out.get("output_type") == "error"
                for cell in renderer.notebook.cells
                for out in cell.get("outputs", ())
            )
            outcome.complete = True
        log.info(
            "view rendered in %.2f s (prepared %.2f s, kernel ready %.2f s, cells %.2f s)",
            time.perf_counter() - begun,
            started - begun,
            ready - started,
            time.perf_counter() - ready,
        )
    finally:
        if kernel_id in km:  # killed at once, while the response is being finished
            done = asyncio.ensure_future(ensure_async(km.shutdown_kernel(kernel_id, now=True)))
            ctx.shutdowns.add(done)
            done.add_done_callback(ctx.shutdowns.discard)
