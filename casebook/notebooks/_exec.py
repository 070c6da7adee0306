"""Where batch jobs run: in this process, in a local process pool, or on a Dask cluster.

Every executor yields one `Outcome` per job as jobs finish, in any order. The jobs and
the worker function (`_jobs.build`) are the same everywhere, so the
notebooks are too. With forked kernels, the local executors share one fork server
started here; Dask workers each start their own on first use.
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

from casebook.notebooks._jobs import Job, Outcome, build, warm_imports

if TYPE_CHECKING:
    from casebook.kernels import ForkServer

__all__ = ["run_dask", "run_local"]


def _prepend_jupyter_path(path: str | None) -> None:
    if path:
        current = os.environ.get("JUPYTER_PATH", "")
        os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in (path, current) if p)


def _worker_init(jupyter_path: str | None) -> None:
    """Runs once in each pool worker: find the shared kernelspec, pay the imports now."""
    _prepend_jupyter_path(jupyter_path)
    warm_imports()


def _warm() -> int:
    return os.getpid()


@contextlib.contextmanager
def _fork_server(jobs: Sequence[Job]) -> Iterator[ForkServer | None]:
    """A fork server for this batch, launched (not yet ready) when any job wants one."""
    from casebook.kernels import ForkServer, serving_jupyter_path

    if not any(job.kernel == "forked" for job in jobs) or serving_jupyter_path():
        yield None  # plain kernels, or a serving fork server is already on JUPYTER_PATH
        return

    server = ForkServer(stderr=subprocess.DEVNULL).launch()
    try:
        yield server
    finally:
        server.stop()


def _ready(server: ForkServer | None) -> str | None:
    """The server's JUPYTER_PATH entry once it serves; None when it could not start
    (build() then starts its own or falls back to plain kernels, and says so)."""
    from casebook.kernels import ForkServerError

    if server is None:
        return None
    try:
        return server.wait_ready().jupyter_path
    except ForkServerError:
        return None


def run_local(jobs: Sequence[Job], workers: int) -> Iterator[Outcome]:
    """Run `jobs` here (`workers == 1`) or in a pool of `workers` spawned processes."""
    if not jobs:
        return
    workers = max(1, min(workers, len(jobs)))
    with _fork_server(jobs) as server:
        if workers == 1:
            saved = os.environ.get("JUPYTER_PATH")
            warm_imports()  # while the fork server imports
            ready = _ready(server)
            if ready is None and server is not None:
                jobs = [replace(job, kernel="plain") for job in jobs]
            _prepend_jupyter_path(ready)
            try:
                for job in jobs:
                    yield build(job)
            finally:
                _restore("JUPYTER_PATH", saved)
            return
        path = server.jupyter_path if server is not None else None
        pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_init,
            initargs=(path,),
        )
        try:
            # Spawn the workers (they import papermill) while the fork server imports.
            warm = [pool.submit(_warm) for _ in range(workers)]
            if _ready(server) is None and server is not None:
                jobs = [replace(job, kernel="plain") for job in jobs]
            wait(warm)
            pending: dict[Future[Outcome], Job] = {pool.submit(build, job): job for job in jobs}
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield _result(future, pending.pop(future))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _restore(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


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
    except Exception as exc:
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
            except Exception as exc:  # a worker died twice, the cluster went away, ...
                yield _crashed(job, exc)
