"""Where batch jobs run: in this process, in a local process pool, or on a Dask cluster.

Every executor yields one `Outcome` per job as jobs finish, in any order. The jobs and
the worker function (`_jobs.build`) are the same everywhere, so the
notebooks are too. The local executors share one fork server and one chart service
started here (the batch's `Kernels` carries their kernelspec folder and socket); Dask
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

from casebook.notebooks._jobs import Job, Kernels, Outcome, build, warm_imports

if TYPE_CHECKING:
    from casebook.kernels.helper import HelperProcess

__all__ = ["run_dask", "run_local"]


def _worker_init() -> None:
    """Runs once in each pool worker: pay the imports now."""
    warm_imports()


def _warm() -> int:
    return os.getpid()


@contextlib.contextmanager
def _helpers(jobs: Sequence[Job], kernels: Kernels) -> Iterator[list[HelperProcess]]:
    """This batch's helper processes, launched (not yet ready) so they start while the
    workers import: a fork server when kernels are forked and no serving one is already
    first on `JUPYTER_PATH`; a chart service (one warm vl-convert for every kernel's
    charts) when there are two notebooks or more. Stopped when the batch ends."""
    from casebook.kernels.chart_service import ChartService
    from casebook.kernels.server import ForkServer

    helpers: list[HelperProcess] = []
    try:
        if kernels.mode == "forked" and _serving() is None:
            helpers.append(ForkServer(stderr=subprocess.DEVNULL).launch())
        if len(jobs) > 1:
            helpers.append(ChartService(stderr=subprocess.DEVNULL).launch())
        yield helpers
    finally:
        for helper in helpers:
            helper.stop()


def _serving() -> str | None:
    from casebook.kernels.server import serving_jupyter_path

    return serving_jupyter_path()


def _ready(kernels: Kernels, helpers: Sequence[HelperProcess]) -> Kernels:
    """`kernels` told where the batch's kernels come from: the fork server's `JUPYTER_PATH`
    entry once it serves (plain kernels if it could not start), and the chart service's
    socket in the kernels' environment at once (a kernel that finds it not yet listening,
    or gone, draws its charts itself: the jobs never wait for it)."""
    from casebook.charts.remote import CHART_SOCKET_ENV
    from casebook.kernels.chart_service import ChartService
    from casebook.kernels.server import ForkServer, ForkServerError

    fork_server = _serving() if kernels.mode == "forked" else None
    env = dict(kernels.env)
    for helper in helpers:
        if isinstance(helper, ChartService):
            env[CHART_SOCKET_ENV] = helper.socket_path
        elif isinstance(helper, ForkServer):
            try:
                fork_server = helper.wait_ready().jupyter_path
            except ForkServerError:
                fork_server = None  # its kernels start the plain way
    if kernels.mode == "forked" and fork_server is None:
        return replace(kernels, mode="plain", env=env)
    return replace(kernels, fork_server=fork_server, env=env)


def run_local(jobs: Sequence[Job], kernels: Kernels, workers: int) -> Iterator[Outcome]:
    """Run `jobs` here (`workers == 1`) or in a pool of `workers` spawned processes;
    `kernels.env` is added to each kernel's environment (not to any process's)."""
    if not jobs:
        return
    workers = max(1, min(workers, len(jobs)))
    with _helpers(jobs, kernels) as helpers:
        if workers == 1:
            warm_imports()  # while the helpers import
            ready = _ready(kernels, helpers)
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
            ready = _ready(kernels, helpers)
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
