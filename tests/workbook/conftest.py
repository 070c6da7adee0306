"""A demo store shared by the workbook tests (3 seeded synthetic patients)."""

from __future__ import annotations

import pytest

from casebook.demo import DemoResult, build_demo


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return build_demo(tmp_path_factory.mktemp("demo"), patients=3)
