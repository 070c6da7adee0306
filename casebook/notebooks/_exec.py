"""Where batch jobs run: in this process, in a local process pool, or on a Dask cluster.

Every executor yields one `Outcome` per job as jobs finish, in any order. The jobs and
the worker function (`_jobs.build`) are the same everywhere, so the
notebooks are too. The local executors share one fork server and one chart service
started here (`batch_helpers`, `_ready`; the batch's `Kernels` carries their kernelspec
folder and socket); Dask
workers each start their own fork server on first use. Nothing here changes
`os.environ`.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import subprocess
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import replace
from typing import TYPE_CHECKING

from casebook.notebooks._jobs import Job, KernelMode, Kernels, Outcome, build, warm_imports

if TYPE_CHECKING:
    from casebook.kernels.helper import HelperProcess

__all__ = ["batch_helpers", "run_dask", "run_local"]


def _worker_init() -> None:
    """Runs once in each pool worker: pay the imports now."""
    warm_imports()


def _warm() -> int:
    return os.getpid()


@contextlib.contextmanager
def batch_helpers(mode: KernelMode, *, local: bool = True) -> Iterator[list[HelperProcess]]:
    """The helper processes of a local batch, stopped when it ends. The fork server (when
    `mode` is forked and no serving one is already first on `JUPYTER_PATH`) is launched
    here, first: `run_batch` enters this before it reads the store and plans, so the
    server imports meanwhile (its start-up is the batch's critical path: no kernel starts
    before it serves). The chart service is added by `_ready`, when the workers are up.
    Dask batches (`local=False`) start nothing here."""
    from casebook.kernels.server import ForkServer

    helpers: list[HelperProcess] = []
    try:
        if local and mode == "forked" and _serving() is None:
            helpers.append(ForkServer(stderr=subprocess.DEVNULL).launch())
        yield helpers
    finally:
        for helper in helpers:
            helper.stop()


def _serving() -> str | None:
    from casebook.kernels.server import serving_jupyter_path

    return serving_jupyter_path()


def _ready(kernels: Kernels, helpers: list[HelperProcess], renderers: int) -> Kernels:
    """`kernels` told where the batch's kernels come from: with `renderers`, a chart
    service's socket in the kernels' environment, and the fork server's `JUPYTER_PATH`
    entry once it serves (plain kernels if it could not start). The service is launched
    here (added to `helpers`), when this process has done its own start-up work and only
    waits for the fork server: launched beside the fork server, it would take a core from
    the server's imports, which no kernel can start without. The jobs never wait for it:
    a kernel connects to its socket (bound before the engine starts: the request waits)
    or, if it is gone, draws its charts itself."""
    from casebook.charts.remote import CHART_SOCKET_ENV
    from casebook.kernels.chart_service import ChartService
    from casebook.kernels.server import ForkServer, ForkServerError

    env = dict(kernels.env)
    if renderers:
        service = ChartService(renderers=renderers, stderr=subprocess.DEVNULL).launch()
        helpers.append(service)
        env[CHART_SOCKET_ENV] = service.socket_path
    fork_server = _serving() if kernels.mode == "forked" else None
    for helper in helpers:
        if isinstance(helper, ForkServer):
            try:
                fork_server = helper.wait_ready().jupyter_path
            except ForkServerError:
                fork_server = None  # its kernels start the plain way
    if kernels.mode == "forked" and fork_server is None:
        return replace(kernels, mode="plain", env=env)
    return replace(kernels, fork_server=fork_server, env=env)


def run_local(
    jobs: Sequence[Job],
    kernels: Kernels,
    workers: int,
    helpers: list[HelperProcess] | None = None,
) -> Iterator[Outcome]:
    """Run `jobs` here (`workers == 1`) or in a pool of `workers` spawned processes;
    `kernels.env` is added to each kernel's environment (not to any process's).
    `helpers`: the batch's, from `batch_helpers` (None: own ones). Two notebooks or more
    share a chart service with one renderer per worker (at most one per core): no
    worker's kernel waits while another's chart is drawn."""
    if not jobs:
        return
    workers = max(1, min(workers, len(jobs)))
    renderers = min(workers, os.cpu_count() or 1) if len(jobs) > 1 else 0
    with contextlib.ExitStack() as stack:
        if helpers is None:
            helpers = stack.enter_context(batch_helpers(kernels.mode))
        if workers == 1:
            warm_imports()  # while the helpers import
            ready = _ready(kernels, helpers, renderers)
            for job in jobs:
                yield build(job, ready)
            return
        pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_init,
        )
        try:
            # Spawn the workers (they import papermill) while the helpers import.
            warm = [pool.submit(_warm) for _ in range(workers)]
            ready = _ready(kernels, helpers, renderers)
            wait(warm)
            pending: dict[Future[Outcome], Job] = {
                pool.submit(build, job, ready): job for job in jobs
            }
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield _result(future, pending.pop(future))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _crashed(job: Job, exc: BaseException) -> Outcome:
    """The outcome of a job whose worker died (killed, out of memory, cluster gone, ...)."""
    return Outcome(
        job.patient_id,
        job.notebook,
        "failed",
        job.output,
        ename=type(exc).__name__,
        evalue=str(exc)[:2000] or "the worker process died",
    )


def _result(future: Future[Outcome], job: Job) -> Outcome:
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - a crashed job is an outcome; the batch goes on
        return _crashed(job, exc)


def run_dask(jobs: Sequence[Job], kernels: Kernels, scheduler: str) -> Iterator[Outcome]:
    """Send `jobs` to the Dask cluster at `scheduler` (tcp://HOST:PORT).

    The workers must see the same filesystem (the templates and the output folder) and
    the same database URL as this process. `kernels.env` stays here: the workers' kernels
    read a password from the workers' own environment or ~/.pgpass, and each worker
    starts its own fork server.
    """
    kernels = replace(kernels, env={}, fork_server=None)
    if not jobs:
        return
    try:
        from distributed import Client, as_completed
    except ImportError:  # pragma: no cover - the dask extra is part of the test install
        raise ValueError(
            "--executor dask needs the dask extra: pip install 'casebook[dask]'"
        ) from None
    with Client(scheduler, set_as_default=False) as client:
        futures = {
            client.submit(
                build, job, kernels, pure=False, key=f"casebook-{job.digest[:16]}-{i}"
            ): job
            for i, job in enumerate(jobs)
        }
        for future in as_completed(list(futures), loop=client.loop):
            job = futures[future]
            try:
                yield future.result()
            except Exception as exc:  # noqa: BLE001 - a worker died twice, the cluster went...
                yield _crashed(job, exc)
