"""Fixtures for the batch tests: a small store of three patients, one shared fork server."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from casebook.kernels import ForkServer
from casebook.models import Case
from casebook.store import CaseStore, import_cases


@pytest.fixture(scope="session")
def session_fork_server() -> Iterator[ForkServer]:
    """One fork server for the whole session: batches find it on JUPYTER_PATH and reuse it
    instead of paying the imports again (the batch's own server is tested in
    test_batch_process.py and test_forked_kernels.py)."""
    with ForkServer(stderr=subprocess.DEVNULL) as server:
        yield server


@pytest.fixture
def batch_url(
    sqlite_url: str,
    demo_cases: list[Case],
    session_fork_server: ForkServer,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[str]:
    """A store with three patients: demo-0001, demo-0002 (fails in failing.ipynb), demo-0003."""
    monkeypatch.setenv("JUPYTER_PATH", session_fork_server.jupyter_path)
    with CaseStore(sqlite_url, create=True, actor="tester") as store:
        import_cases(store, demo_cases[:3])
    yield sqlite_url
