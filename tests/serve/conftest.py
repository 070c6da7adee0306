"""Fixtures for the dashboard server: one synthetic store and one server for the session."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from page_checks import require_chromium
from serve_helpers import Server, add_payload_patient, start_server

from casebook.demo.synthetic import generate_cases
from casebook.store import CaseStore, import_cases

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "serve"


@dataclass(frozen=True)
class ServeStore:
    url: str
    patients: tuple[str, ...]  # synthetic patients; the first has alarm features
    payload_patient: str
    folder: Path


@pytest.fixture(scope="session")
def serve_store(tmp_path_factory: pytest.TempPathFactory) -> ServeStore:
    folder = tmp_path_factory.mktemp("serve")
    url = f"sqlite:///{folder / 'casebook.db'}"
    with CaseStore(url, create=True, actor="test") as store:
        cases = generate_cases(4, seed=7, catalog=store.catalog)
        import_cases(store, cases)
        payload = add_payload_patient(store)
    return ServeStore(url, tuple(c.patient.id for c in cases), payload, folder)


@pytest.fixture(scope="session")
def server(serve_store: ServeStore) -> Iterator[Server]:
    """The dashboard server as `casebook serve` runs it (forked kernels, default limits,
    except a generous limit on bad credentials: every test here comes from 127.0.0.1)."""
    srv = start_server(serve_store.url, serve_store.folder, "--bad-credentials-per-minute", "6000")
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def chromium() -> str:
    return require_chromium()
