"""Where batch jobs run: in this process, in a local process pool, or on a Dask cluster.

Every executor yields one `Outcome` per job as jobs finish, in any order. The jobs and
the worker function (`_jobs.build`) are the same everywhere, so the
notebooks are too. With forked kernels, the local executors share one fork server
started here (each job carries its kernelspec folder); Dask workers each start their own
on first use. Nothing here changes `os.environ`.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import replace
from typing import TYPE_CHECKING

from casebook.notebooks._jobs import Job, Outcome, build, warm_imports

if TYPE_CHECKING:
    from casebook.kernels import ForkServer

__all__ = ["run_dask", "run_local"]


def _worker_init() -> None:
    """Runs once in each pool worker: pay the imports now."""
    warm_imports()


def _warm() -> int:
    return os.getpid()


@contextlib.contextmanager
def _fork_server(jobs: Sequence[Job]) -> Iterator[ForkServer | None]:
    """A fork server for this batch, launched (not yet ready) when any job wants one and
    no serving one is already first on `JUPYTER_PATH`."""
    from casebook.kernels import ForkServer

    if not any(job.kernel == "forked" for job in jobs) or _serving() is not None:
        yield None
        return
    server = ForkServer(stderr=subprocess.DEVNULL).launch()
    try:
        yield server
    finally:
        server.stop()


def _serving() -> str | None:
    from casebook.kernels import serving_jupyter_path

    return serving_jupyter_path()


def _ready(server: ForkServer | None) -> str | None:
    """The server's `JUPYTER_PATH` entry once it serves (or a serving one found on
    `JUPYTER_PATH`); None when it could not start (the jobs then use plain kernels)."""
    from casebook.kernels import ForkServerError

    if server is None:
        return _serving()
    try:
        return server.wait_ready().jupyter_path
    except ForkServerError:
        return None


def _with_kernels(
    jobs: Sequence[Job], fork_server: str | None, env: Mapping[str, str]
) -> list[Job]:
    """`jobs` told where their kernels come from: the batch's fork server, else plain
    kernels; `env` goes to each kernel's environment."""
    ready = []
    for job in jobs:
        job = replace(job, kernel_env=dict(env))
        if job.kernel == "forked":
            job = replace(job, fork_server=fork_server) if fork_server else _plain(job)
        ready.append(job)
    return ready


def _plain(job: Job) -> Job:
    return replace(job, kernel="plain")


def run_local(
    jobs: Sequence[Job], workers: int, env: Mapping[str, str] | None = None
) -> Iterator[Outcome]:
    """Run `jobs` here (`workers == 1`) or in a pool of `workers` spawned processes;
    `env` is added to each kernel's environment (not to any process's)."""
    if not jobs:
        return
    workers = max(1, min(workers, len(jobs)))
    env = dict(env or {})
    with _fork_server(jobs) as server:
        if workers == 1:
            warm_imports()  # while the fork server imports
            for job in _with_kernels(jobs, _ready(server), env):
                yield build(job)
            return
        pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_init,
        )
        try:
            # Spawn the workers (they import papermill) while the fork server imports.
            warm = [pool.submit(_warm) for _ in range(workers)]
            ready = _with_kernels(jobs, _ready(server), env)
            wait(warm)
            pending: dict[Future[Outcome], Job] = {pool.submit(build, job): job for job in ready}
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


def run_dask(jobs: Sequence[Job], scheduler: str) -> Iterator[Outcome]:
    """Send `jobs` to the Dask cluster at `scheduler` (tcp://HOST:PORT).

    The workers must see the same filesystem (the templates and the output folder) and
    the same database URL as this process.
    """
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
            client.submit(build, job, pure=False, key=f"casebook-{job.digest[:16]}-{i}"): job
            for i, job in enumerate(jobs)
        }
        for future in as_completed(list(futures), loop=client.loop):
            job = futures[future]
            try:
                yield future.result()
            except Exception as exc:  # noqa: BLE001 - a worker died twice, the cluster went...
                yield _crashed(job, exc)
