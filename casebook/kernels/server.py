"""The owner's side of a fork server: start it, describe it as a kernelspec, stop it."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from casebook.errors import CasebookError

__all__ = [
    "DEFAULT_PRELOAD",
    "KERNEL_NAME",
    "PROVISIONER_NAME",
    "ForkServer",
    "ForkServerError",
    "kernelspec",
    "serving_jupyter_path",
    "use_forked_kernels",
]

KERNEL_NAME = "casebook-forked"
"""The kernelspec name that selects forked kernels (in the folder `ForkServer` writes)."""

PROVISIONER_NAME = "casebook-forked"
"""The `jupyter_client.kernel_provisioners` entry point of `ForkedProvisioner`."""

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
    "casebook.scoring",
    "casebook.redflags",
    "casebook.frames",
    "casebook.charts",
    "casebook.widgets",
    "casebook.workbook",
    "casebook.dashboard",
)
"""What every forked kernel finds already imported (casebook modules not present are skipped)."""

_SERVER_ENV = {
    "OPENBLAS_NUM_THREADS": "1",  # numpy must not start a thread pool before a fork
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",  # debugpy's frozen-modules note at import
}


class ForkServerError(CasebookError, RuntimeError):
    """The fork server could not start (an import failed, or it held threads)."""


def kernelspec(socket_path: str) -> dict[str, Any]:
    """A kernel.json that forks from the server at `socket_path`.

    `argv` is a plain ipykernel command: the provisioner uses it when the server is gone.
    """
    return {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (casebook, forked)",
        "language": "python",
        "interrupt_mode": "signal",
        "metadata": {
            "kernel_provisioner": {
                "provisioner_name": PROVISIONER_NAME,
                "config": {"socket_path": socket_path},
            }
        },
    }


class ForkServer:
    """A pre-importing process that forks fresh kernels; one per owning process.

    ```python
    with ForkServer() as server:            # imports once (a few seconds)
        os.environ["JUPYTER_PATH"] = server.jupyter_path   # or use_forked_kernels()
        papermill.execute_notebook(..., kernel_name=KERNEL_NAME)
    ```
    Kernel output the server's kernels write to their file descriptors goes to `stderr`
    (inherited by default; pass `subprocess.DEVNULL` or a file to quiet it).
    """

    def __init__(
        self,
        preload: Sequence[str] = DEFAULT_PRELOAD,
        *,
        stderr: int | IO[Any] | None = None,
    ) -> None:
        self.preload = tuple(preload)
        self.stderr = stderr
        self.process: subprocess.Popen[str] | None = None
        self.folder: Path | None = None
        self.skipped: list[str] = []

    def __repr__(self) -> str:
        state = f"pid {self.process.pid}" if self.alive else "stopped"
        return f"<ForkServer {state}>"

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def socket_path(self) -> str:
        if self.folder is None:
            raise ForkServerError("the fork server is not started")
        return str(self.folder / "fork.sock")

    @property
    def jupyter_path(self) -> str:
        """A `JUPYTER_PATH` entry whose `kernels/` holds the `casebook-forked` kernelspec."""
        if self.folder is None:
            raise ForkServerError("the fork server is not started")
        return str(self.folder / "jupyter")

    def start(self) -> ForkServer:
        """Launch the server and wait until it serves (its imports take a few seconds)."""
        return self.launch().wait_ready()

    def launch(self) -> ForkServer:
        """Launch the server without waiting; `jupyter_path` is usable at once."""
        if self.process is not None:
            return self
        self.folder = Path(tempfile.mkdtemp(prefix="casebook-kernels-"))  # 0700
        spec_dir = Path(self.jupyter_path) / "kernels" / KERNEL_NAME
        spec_dir.mkdir(parents=True)
        (spec_dir / "kernel.json").write_text(json.dumps(kernelspec(self.socket_path), indent=1))
        env = {**os.environ, **_SERVER_ENV}
        cmd = [sys.executable, "-m", "casebook.kernels.forkserver", self.socket_path]
        self.process = subprocess.Popen(
            [*cmd, *self.preload],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env=env,
            text=True,
        )
        return self

    def wait_ready(self) -> ForkServer:
        """Block until the launched server listens; `ForkServerError` if it died instead."""
        from casebook.kernels.forkserver import READY

        if self.process is None:
            raise ForkServerError("the fork server is not launched")
        if self.process.stdout is None or self.process.stdout.closed:
            return self  # already ready
        line = self.process.stdout.readline()
        try:
            ready = json.loads(line) if line else {}
        except ValueError:
            ready = {}
        if ready.get("ready") != READY:
            code = self.process.wait()
            self.stop()
            raise ForkServerError(
                f"the fork server did not start (exit status {code}); see its standard error"
            )
        self.skipped = list(ready.get("skipped", []))
        self.process.stdout.close()
        return self

    def stop(self) -> None:
        """Stop the server; kernels it forked exit with it (their parent poller sees it go)."""
        proc, self.process = self.process, None
        if proc is not None:
            if proc.stdin is not None:
                proc.stdin.close()  # the server exits on EOF
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def __enter__(self) -> ForkServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


_per_process: dict[int, ForkServer] = {}


def use_forked_kernels(
    preload: Sequence[str] = DEFAULT_PRELOAD,
    *,
    stderr: int | IO[Any] | None = None,
    while_starting: Callable[[], object] | None = None,
) -> str:
    """The kernel name to pass to papermill/nbclient for forked kernels.

    Reuses a serving `casebook-forked` kernelspec already first on `JUPYTER_PATH` (a batch
    shares one server among its workers); otherwise starts one server for this process
    (stopped at exit) and puts its kernelspec first on `JUPYTER_PATH`. `while_starting`
    runs while the server imports (e.g. the caller's own imports).
    Raises `ForkServerError` when the server cannot start.
    """
    if serving_jupyter_path() is not None:
        return KERNEL_NAME
    paths = [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    server = _per_process.get(os.getpid())
    if server is None or not server.alive:
        server = ForkServer(preload, stderr=stderr).launch()
        try:
            if while_starting is not None:
                while_starting()
            server.wait_ready()
        except BaseException:
            server.stop()
            raise
        _per_process[os.getpid()] = server
        atexit.register(server.stop)
    paths = [server.jupyter_path, *(p for p in paths if "casebook-kernels-" not in p)]
    os.environ["JUPYTER_PATH"] = os.pathsep.join(paths)
    return KERNEL_NAME


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
