"""A demo store shared by the workbook tests (3 seeded synthetic patients)."""

from __future__ import annotations

import pytest

from casebook.demo import DemoResult, build_demo


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return build_demo(tmp_path_factory.mktemp("demo"), patients=3)


@pytest.fixture(scope="module")
def workbook_names(demo_store: DemoResult) -> dict[str, str]:
    """Each demo patient's case workbook file name (named after the patient)."""
    from casebook.notebooks import case_notebook_name
    from casebook.store import CaseStore

    with CaseStore(demo_store.url) as store:
        return {p.id: case_notebook_name(p.id, p.name) for p in store.patients()}
