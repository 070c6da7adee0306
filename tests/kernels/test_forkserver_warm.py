"""The fork server's warm-up: work done once before it forks, dropped when a kernel's
environment makes it wrong."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from casebook.catalog import ENV_VAR, default_catalog
from casebook.kernels.forkserver import _forget_stale, _preload


@pytest.fixture
def fresh_catalog() -> Iterator[None]:
    default_catalog.cache_clear()
    yield
    default_catalog.cache_clear()


def test_an_entry_with_a_function_calls_it_once_imported(fresh_catalog: None) -> None:
    assert _preload(["casebook.catalog:default_catalog"]) == []
    assert default_catalog.cache_info().currsize == 1


def test_a_missing_casebook_module_is_skipped_warm_up_and_all() -> None:
    assert _preload(["casebook.no_such_module:warm"]) == ["casebook.no_such_module:warm"]


def test_a_kernel_with_the_servers_catalog_folder_keeps_the_loaded_catalog(
    fresh_catalog: None,
) -> None:
    default_catalog()
    _forget_stale({ENV_VAR: "/clinic"}, {ENV_VAR: "/clinic", "HOME": "/elsewhere"})
    assert default_catalog.cache_info().currsize == 1


@pytest.mark.parametrize(
    ("server", "kernel"),
    [({}, {ENV_VAR: "/clinic"}), ({ENV_VAR: "/clinic"}, {}), ({ENV_VAR: "/a"}, {ENV_VAR: "/b"})],
)
def test_a_kernel_naming_another_catalog_folder_reloads_it(
    fresh_catalog: None, server: dict[str, str], kernel: dict[str, str]
) -> None:
    default_catalog()
    _forget_stale(server, kernel)
    assert default_catalog.cache_info().currsize == 0


def test_the_altair_warm_up_starts_no_thread() -> None:
    # the fork server refuses to fork once it holds a second thread: a warm-up that drew
    # the chart (vl-convert's engine) would stop every batch's kernels from forking
    from casebook.kernels.forkserver import thread_count
    from casebook.kernels.imports import warm_altair
    from casebook.kernels.server import DEFAULT_PRELOAD

    assert "casebook.kernels.imports:warm_altair" in DEFAULT_PRELOAD
    _preload(["altair", "pandas"])  # numpy's BLAS pool starts at import, here (not so there)
    before = thread_count()
    warm_altair()
    assert thread_count() == before
