"""The owner's side of a fork server: start it, describe it as a kernelspec, stop it."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from casebook.errors import CasebookError
from casebook.kernels.helper import (
    HelperProcess,
    owned_helper,
    process_helper,
    stop_owned_helper,
)
from casebook.kernels.spec import KERNEL_NAME, PROVISIONER_NAME, kernelspec

__all__ = [
    "DEFAULT_PRELOAD",
    "KERNEL_NAME",
    "PROVISIONER_NAME",
    "ForkServer",
    "ForkServerError",
    "kernelspec",
    "own_fork_server",
    "own_kernel_dirs",
    "process_fork_server",
    "serving_jupyter_path",
    "stop_process_fork_server",
    "use_forked_kernels",
]

DEFAULT_PRELOAD: tuple[str, ...] = (
    "numpy",
    "pandas",
    "altair",
    "ipywidgets",
    "vl_convert",
    "sqlalchemy",
    "casebook",
    "casebook.models",
    "casebook.store",
    "casebook.store.casestore",
    "casebook.store.migrate",
    "casebook.clinical.scoring",
    "casebook.clinical.red_flags",
    "casebook.interop.frames",
    "casebook.charts",
    "casebook.charts.render",
    "casebook.charts.visits",
    "casebook.charts.plan",
    "casebook.charts.results",
    "casebook.workbook.widgets",
    "casebook.workbook.widgets.session",
    "casebook.workbook.widgets.header",
    "casebook.workbook.widgets.visits",
    "casebook.workbook.widgets.history",
    "casebook.workbook.widgets.symptoms",
    "casebook.workbook.widgets.instruments",
    "casebook.workbook.widgets.orders",
    "casebook.workbook.widgets.results",
    "casebook.workbook.widgets.plan",
    "casebook.workbook.widgets.notes",
    "casebook.workbook",
    "casebook.dashboard.sections",
    # loaded and compiled once here, not in every kernel (the forked child keeps them)
    "casebook.catalog:default_catalog",
    "casebook.store.migrate:head_revision",  # every kernel opens a store
    "casebook.dashboard:warm_templates",
    "casebook.clinic",  # the batch's clinic notebook: ~0.65 s of imports per kernel otherwise
    "casebook.kernels.imports:warm_altair",  # narwhals' plugin scan, Altair's first chart
)
"""What every forked kernel finds already imported (casebook modules not present are
skipped); `module:function` also calls the function once, before any fork."""

_SERVER_ENV = {
    "OPENBLAS_NUM_THREADS": "1",  # numpy must not start a thread pool before a fork
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",  # debugpy's frozen-modules note at import
}


class ForkServerError(CasebookError, RuntimeError):
    """The fork server could not start (an import failed, or it held threads)."""


class ForkServer(HelperProcess):
    """A pre-importing process that forks fresh kernels; one per owning process.

    ```python
    with ForkServer() as server:  # imports once (a few seconds)
        papermill.execute_notebook(
            ...,
            kernel_name=KERNEL_NAME,
            kernel_manager_class=kernel_manager_class(server.jupyter_path),
        )
    ```
    A Jupyter or Voilà server finds the kernelspec through `server.kernels_dir`
    (`CasebookKernelSpecManager.extra_kernel_dirs`); any process passes the string
    `server.jupyter_path` to `casebook.kernels.client.kernel_manager_class`.
    Kernel output the server's kernels write to their file descriptors goes to `stderr`
    (inherited by default; pass `subprocess.DEVNULL` or a file to quiet it).
    Stopping the server ends the kernels it forked (their parent poller sees it go).
    """

    def __init__(
        self,
        preload: Sequence[str] = DEFAULT_PRELOAD,
        *,
        stderr: int | IO[Any] | None = None,
    ) -> None:
        super().__init__(
            "casebook.kernels.forkserver",
            socket_name="fork.sock",
            folder_prefix="casebook-kernels-",
            description="fork server",
            error=ForkServerError,
            stderr=stderr,
        )
        self.preload = tuple(preload)
        self.skipped: list[str] = []

    def __repr__(self) -> str:
        state = f"pid {self.process.pid}" if self.process and self.alive else "stopped"
        return f"<ForkServer {state}>"

    @property
    def jupyter_path(self) -> str:
        """A Jupyter data folder whose `kernels/` holds the `casebook-forked` kernelspec."""
        if self.folder is None:
            raise ForkServerError("the fork server is not started")
        return str(self.folder / "jupyter")

    @property
    def kernels_dir(self) -> str:
        """The kernelspec folder holding `casebook-forked` (for a kernelspec manager)."""
        return str(Path(self.jupyter_path) / "kernels")

    def start(self) -> ForkServer:
        """Launch the server and wait until it serves (its imports take a few seconds)."""
        return self.launch().wait_ready()

    def launch(self) -> ForkServer:
        """Launch the server without waiting; `jupyter_path` is usable at once."""
        if self.process is not None:
            return self
        self.make_folder()
        spec_dir = Path(self.kernels_dir) / KERNEL_NAME
        spec_dir.mkdir(parents=True)
        (spec_dir / "kernel.json").write_text(json.dumps(kernelspec(self.socket_path), indent=1))
        self.spawn(self.preload, env={**os.environ, **_SERVER_ENV})
        return self

    def wait_ready(self) -> ForkServer:
        """Block until the launched server listens; `ForkServerError` if it died instead."""
        from casebook.kernels.forkserver import READY

        def is_ready(line: str) -> bool:
            try:
                return bool(json.loads(line).get("ready") == READY)
            except (ValueError, AttributeError):
                return False

        self.skipped = list(json.loads(self.read_ready(is_ready)).get("skipped", []))
        return self

    def __enter__(self) -> ForkServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


_OWNED_NAME = "fork server"


def process_fork_server(
    preload: Sequence[str] = DEFAULT_PRELOAD,
    *,
    stderr: int | IO[Any] | None = None,
    while_starting: Callable[[], object] | None = None,
) -> ForkServer:
    """This process's own fork server: started on first use (blocking until it serves;
    `while_starting` runs meanwhile), reused while it lives, stopped at exit. Thread-safe,
    so an event loop may call it through `asyncio.to_thread`. Raises `ForkServerError`."""

    def start() -> ForkServer:
        server = ForkServer(preload, stderr=stderr).launch()
        try:
            if while_starting is not None:
                while_starting()
            return server.wait_ready()
        except BaseException:
            server.stop()
            raise

    return process_helper(_OWNED_NAME, start)


def own_fork_server() -> ForkServer | None:
    """This process's own fork server if it serves (never starts one)."""
    server = owned_helper(_OWNED_NAME)
    return server if isinstance(server, ForkServer) else None


def stop_process_fork_server() -> None:
    """Stop this process's own fork server (the next use starts a fresh one)."""
    stop_owned_helper(_OWNED_NAME)


def use_forked_kernels(
    preload: Sequence[str] = DEFAULT_PRELOAD,
    *,
    stderr: int | IO[Any] | None = None,
    while_starting: Callable[[], object] | None = None,
) -> str:
    """The kernel name to pass to papermill/nbclient, with
    `kernel_manager_class=CasebookKernelManager`, for forked kernels.

    Reuses a serving `casebook-forked` kernelspec already first on `JUPYTER_PATH` (as
    jupyter itself would find it); otherwise starts one server for this process (stopped
    at exit), whose kernelspec folder `CasebookKernelManager` searches first
    (`own_kernel_dirs`). The process environment is read, never changed. `while_starting`
    runs while the server imports (e.g. the caller's own imports).
    Raises `ForkServerError` when the server cannot start.
    """
    if serving_jupyter_path() is None:
        process_fork_server(preload, stderr=stderr, while_starting=while_starting)
    return KERNEL_NAME


def own_kernel_dirs() -> list[str]:
    """The kernelspec folder of the fork server `use_forked_kernels` started in this
    process, if it still serves (searched first by `CasebookKernelManager`)."""
    server = own_fork_server()
    return [server.kernels_dir] if server is not None else []


def serving_jupyter_path() -> str | None:
    """The first `JUPYTER_PATH` entry if it holds a `casebook-forked` kernelspec whose
    server is listening (so a batch started from a process that has one reuses it)."""
    paths = [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    return paths[0] if paths and _serving(Path(paths[0])) else None


def _serving(jupyter_dir: Path) -> bool:
    try:
        spec = json.loads((jupyter_dir / "kernels" / KERNEL_NAME / "kernel.json").read_text())
        socket_path = spec["metadata"]["kernel_provisioner"]["config"]["socket_path"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return Path(socket_path).exists()
