"""One batch job: build one notebook (and its HTML copy), in any process.

A `Job` says which notebook (a patient's, or the clinic's across patients: `CLINIC`);
`Kernels` says how every job of the batch gets its kernel (forked or plain, the cell
timeout, the fork server, the kernel's extra environment): one object for the batch,
made once by the planner and completed once by the executor. `build(job, kernels)` is
what the local pool and the Dask workers run. It never raises for a
notebook's own failure: it returns an `Outcome` (built or failed, with the cell and the
error). A stalled notebook (a cell whose execute reply never came) is retried once in a
fresh kernel, and reported as failed if it stalls again. A kernel that dies before its
first reply (`casebook.kernels.died_before_reply`) is replaced once by a fresh one, with a
note in the outcome.

Incremental builds: beside each notebook, a hidden sidecar `.<name>.inputs.json` records
the hash of its inputs (the patient's record version, the template's content, casebook's
version, the parameters). It is written after the notebook (and HTML copy) are in place,
so a crash in between only costs a rebuild.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import casebook
from casebook.notebooks._parameters import ParameterValue
from casebook.notebooks._run import NotebookFailed, NotebookStalled, run_notebook, write_atomic

if TYPE_CHECKING:
    from casebook.kernels import ForkServer

__all__ = [
    "CLINIC",
    "Job",
    "KernelMode",
    "Kernels",
    "Outcome",
    "Status",
    "build",
    "input_hash",
    "is_current",
    "job_inputs",
    "sidecar_path",
    "stale_temp_files",
    "warm_imports",
    "write_html",
]

Status = Literal["built", "skipped", "failed"]
KernelMode = Literal["forked", "plain"]

CLINIC = "(clinic)"
"""The `patient_id` of the clinic notebook's job and outcome (it reads every patient)."""


@dataclass(frozen=True)
class Job:
    """Which notebook to build; plain data, picklable."""

    patient_id: str  # or CLINIC
    template: str  # absolute path of the template
    output: str  # absolute path of the notebook to write
    parameters: dict[str, ParameterValue]
    inputs: dict[str, Any]  # what the hash is made of (shown in the sidecar)
    digest: str  # input_hash(inputs)
    html: str | None = None  # absolute path of the HTML copy, if wanted

    @property
    def notebook(self) -> str:
        return Path(self.output).name


@dataclass(frozen=True)
class Kernels:
    """How every job of one batch gets its kernel; plain data, picklable."""

    mode: KernelMode = "forked"
    cell_timeout: float = 120.0
    retries: int = 1  # extra attempts after a stall
    # The JUPYTER_PATH entry of a running fork server's kernelspec (the batch's shared
    # one); None: a forked job starts its process's own server.
    fork_server: str | None = None
    # Added to each kernel's environment only (PGPASSWORD, the chart service's socket);
    # never to a process's os.environ, never to a notebook. Local executors only.
    env: dict[str, str] = field(default_factory=dict, repr=False)


@dataclass
class Outcome:
    """What happened to one job. `cell_index` counts every cell of the executed notebook."""

    patient_id: str
    notebook: str
    status: Status
    output: str
    seconds: float = 0.0
    attempts: int = 0
    stalled: bool = False
    cell_index: int | None = None
    ename: str | None = None
    evalue: str | None = None
    html: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def input_hash(inputs: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def job_inputs(
    record_version: int, template_digest: str, parameters: dict[str, ParameterValue]
) -> dict[str, Any]:
    return {
        "record_version": record_version,
        "template_sha256": template_digest,
        "casebook_version": casebook.__version__,
        "parameters": parameters,
    }


def sidecar_path(output: Path) -> Path:
    return output.with_name(f".{output.name}.inputs.json")


def is_current(output: Path, digest: str, html: Path | None = None) -> bool:
    """True when `output` (and `html`, if wanted) exist and were built from `digest`."""
    if not output.is_file() or (html is not None and not html.is_file()):
        return False
    try:
        recorded = json.loads(sidecar_path(output).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(recorded, dict) and recorded.get("digest") == digest


def stale_temp_files(output: Path) -> list[Path]:
    """Temporary files a killed run left beside `output` (write_atomic's naming)."""
    names = (output.name, sidecar_path(output).name, output.with_suffix(".html").name)
    if not output.parent.is_dir():
        return []
    return [
        p
        for p in output.parent.iterdir()
        if p.suffix == ".tmp" and any(p.name.startswith(f".{n}.") for n in names)
    ]


def build(job: Job, kernels: Kernels) -> Outcome:
    """Build one notebook; every failure becomes a failed `Outcome`, never an exception."""
    start = time.perf_counter()
    outcome = Outcome(job.patient_id, job.notebook, "failed", job.output)
    try:
        kwargs = _kernel_kwargs(job, kernels, kernels.mode)
    except Exception as exc:  # noqa: BLE001 - no fork server: say so, use plain kernels
        outcome.notes.append(f"forked kernels unavailable ({exc}); plain kernel used")
        kwargs = _kernel_kwargs(job, kernels, "plain")
    try:
        for attempt in range(1, kernels.retries + 2):
            outcome.attempts = attempt
            try:
                _run(job, kwargs, kernels.cell_timeout, outcome)
            except NotebookStalled as exc:
                _record(outcome, exc)
                outcome.stalled = True
                outcome.notes.append(f"attempt {attempt}: cell {exc.cell_index} stalled")
                continue
            outcome.stalled = False
            break
        else:
            return _finish(outcome, start)
        if job.html:
            write_html(Path(job.output), Path(job.html))
            outcome.html = job.html
        inputs = {"digest": job.digest, "inputs": job.inputs}
        write_atomic(sidecar_path(Path(job.output)), json.dumps(inputs, indent=1) + "\n")
        outcome.status = "built"
        outcome.cell_index = outcome.ename = outcome.evalue = None
    except NotebookFailed as exc:
        _record(outcome, exc)
    except Exception as exc:  # noqa: BLE001 - a kernel that would not start, a full disk...
        outcome.ename, outcome.evalue = type(exc).__name__, str(exc)[:2000]
    return _finish(outcome, start)


def _run(job: Job, kwargs: dict[str, Any], timeout: float, outcome: Outcome) -> None:
    """Run the job's notebook once; if its kernel dies before its first reply, once more in
    a fresh kernel (noted in `outcome`)."""
    from casebook.kernels.client import died_before_reply

    def run() -> None:
        run_notebook(
            Path(job.template), Path(job.output), job.parameters, timeout=timeout, **kwargs
        )

    try:
        run()
    except Exception as exc:
        if not died_before_reply(exc):
            raise
        outcome.notes.append(
            "the kernel died before its first reply; retried once in a fresh kernel"
        )
        run()


def _record(outcome: Outcome, exc: NotebookFailed) -> None:
    outcome.cell_index, outcome.ename, outcome.evalue = exc.cell_index, exc.ename, exc.evalue


def _finish(outcome: Outcome, start: float) -> Outcome:
    outcome.seconds = round(time.perf_counter() - start, 3)
    return outcome


def _kernel_kwargs(job: Job, kernels: Kernels, mode: KernelMode) -> dict[str, Any]:
    """How papermill starts this job's kernel: the kernelspec folders and the environment
    go to the kernel manager (see `_kernel`), never into `os.environ`."""
    from casebook.notebooks._kernel import kernel_settings

    kernel_dirs: list[str] = []
    kwargs: dict[str, Any] = {"shutdown_kernel": "immediate"}  # killed after the last cell
    if mode == "forked":
        from casebook.kernels.spec import KERNEL_NAME

        jupyter_path = kernels.fork_server or _own_fork_server()
        kernel_dirs.append(os.path.join(jupyter_path, "kernels"))
        kwargs["kernel_name"] = KERNEL_NAME
    else:
        from casebook.kernels.spec import plain_kernel_name

        kwargs["kernel_name"] = plain_kernel_name(Path(job.template))
    return {**kwargs, **kernel_settings(kernel_dirs, kernels.env)}


def _own_fork_server() -> str:
    """The `JUPYTER_PATH` entry of this process's own fork server (a Dask worker, or a job
    built outside a batch), started on first use and stopped at exit."""
    server = _process_fork_server(os.getpid())
    if not server.alive:
        _process_fork_server.cache_clear()
        server = _process_fork_server(os.getpid())
    return server.jupyter_path


@functools.cache
def _process_fork_server(pid: int) -> ForkServer:
    import atexit
    import subprocess

    from casebook.kernels import ForkServer

    server = ForkServer(stderr=subprocess.DEVNULL).launch()
    try:
        warm_imports()  # while the server imports
        server.wait_ready()
    except BaseException:
        server.stop()
        raise
    atexit.register(server.stop)
    return server


def warm_imports() -> None:
    """What `build` imports, paid once per process (jsonschema without its iri grammars)."""
    from casebook.kernels.imports import import_jsonschema_quickly

    import_jsonschema_quickly()
    import nbformat  # noqa: F401
    import papermill  # noqa: F401


def write_html(notebook: Path, html: Path) -> Path:
    """A standalone HTML copy of `notebook` with the code hidden, written atomically."""
    from casebook.notebooks._html import notebook_html

    return write_atomic(html, notebook_html(notebook))
