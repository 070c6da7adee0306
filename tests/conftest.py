"""Shared fixtures (a store on SQLite and, where configured, on PostgreSQL; the session's
JupyterLab for the browser tests) and how a run is ordered and spread over workers."""

from __future__ import annotations

import functools
import os
import tempfile
import uuid
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from page_checks import CHROMIUM_SKIP
from sqlalchemy.engine import make_url

from casebook.demo.synthetic import generate_cases
from casebook.models import Case
from casebook.store import CaseStore

if TYPE_CHECKING:
    from tests.workbook.lab import Lab

PG_ENV = "CASEBOOK_TEST_DATABASE_URL"
PG_SKIP = (
    f"{PG_ENV} is unset: PostgreSQL store tests skipped (set it to e.g. "
    "postgresql+psycopg://postgres@127.0.0.1:5432/test; .ci/run starts that server)"
)
# What casebook.letters says when WeasyPrint cannot load (casebook/letters/_pdf.py).
_NO_PDF = "PDF letters need WeasyPrint and Debian's Pango"
PANGO_SKIP = (
    "Pango is missing: PDF letter tests skipped (apt-get install libpango-1.0-0 "
    "libpangoft2-1.0-0 fonts-dejavu-core; .ci/run installs them)"
)
# Skips that many tests share: reported once, at this file (see pytest_runtest_makereport).
_FOLDED_SKIPS = (PG_SKIP, PANGO_SKIP, CHROMIUM_SKIP)


@pytest.fixture
def close_widgets() -> Iterator[None]:
    """Close the widgets the test made, so that no test sees another's."""
    from ipywidgets.widgets import widget as widget_module

    before = set(widget_module._instances)
    yield
    for key in set(widget_module._instances) - before:
        widget_module._instances[key].close()


@pytest.fixture(scope="session", autouse=True)
def _own_jupyter_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """`casebook init`, `new` and `demo` install the `casebook` kernelspec into the user's
    Jupyter data folder: in the tests that is a folder of the session, never the home.
    So do SQLite stores' audit keys (`casebook.store.audit_key`)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_DATA_DIR", str(tmp_path_factory.mktemp("jupyter-data")))
        mp.setenv("CASEBOOK_AUDIT_KEYS", str(tmp_path_factory.mktemp("audit-keys")))
        yield


def pytest_report_header() -> str:
    url = os.environ.get(PG_ENV)
    return f"casebook PostgreSQL tests: {'on' if url else 'off'} ({PG_ENV})"


# Run first: the cheap checks that fail most often (ruff, mypy). Run last: the browser
# tests, the slowest and the ones that need Debian's chromium. The README's command and
# .ci/run get the same order without options.
_FIRST = ("tests/test_lint.py", "tests/test_typing.py")


def _order(item: pytest.Item) -> int:
    path = item.nodeid.split("::", 1)[0]
    if path in _FIRST:
        return _FIRST.index(path)
    return len(_FIRST) + (1 if item.get_closest_marker("browser") else 0)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_order)  # stable: each group keeps the order pytest collected it in


# The README's command (`python -m pytest`, no paths: pytest takes `testpaths`) runs on two
# workers (pytest-xdist), a file at a time each, so that a file's module fixtures are made
# once; the files go out in the order above (no reordering by size): ruff and mypy start
# first, the browser tests last. Most of the suite waits on something (a server or a kernel
# starting, chromium, PostgreSQL, a subprocess), which the second worker overlaps. Given
# paths (`python -m pytest tests/x.py -x`), `-n`, `--dist`, `-p no:xdist`, `--pdb` or
# `--collect-only`, pytest runs as it was asked.
WORKERS = 2
# Files that share a session fixture too costly to make twice go to the same worker.
_SAME_WORKER = {
    # one JupyterLab (`jupyterlab` below) for the tests that drive it
    "tests/clinic/test_clinic_browser.py": "jupyterlab",
    "tests/workbook/test_right_patient_browser.py": "jupyterlab",
    "tests/workbook/test_workbook_browser.py": "jupyterlab",
}


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    option = config.option
    if (
        config.args_source is pytest.Config.ArgsSource.TESTPATHS
        and config.pluginmanager.hasplugin("xdist")
        and not hasattr(config, "workerinput")  # a worker runs the share it is sent
        and getattr(option, "numprocesses", None) is None
        and getattr(option, "dist", "no") == "no"
        and not option.usepdb
        and not option.collectonly
    ):
        option.numprocesses = WORKERS
        option.dist = "loadfile"
        option.tx = ["popen"] * WORKERS
        option.loadscopereorder = False  # keep the order above


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """`--dist loadfile`, where the files of `_SAME_WORKER` count as one."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class Scheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            scope = super()._split_scope(nodeid)
            return _SAME_WORKER.get(scope, scope)

    return Scheduling(config, log)


@functools.cache
def _pango_is_missing() -> bool:
    """WeasyPrint cannot load here because a system library (Pango, GObject) is missing."""
    try:
        import weasyprint  # noqa: F401
    except OSError:
        return True
    return False


_ASKED_FOR_PDF = pytest.StashKey[bool]()


@pytest.fixture(autouse=True)
def _note_pdf_requests(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where Pango is missing, note on the test that it asked for a PDF in this process."""
    if not _pango_is_missing():
        return
    from casebook.letters import _pdf

    load = _pdf._weasyprint

    def noted() -> object:
        request.node.stash[_ASKED_FOR_PDF] = True
        return load()

    monkeypatch.setattr(_pdf, "_weasyprint", noted)


def _skip_without_pango(item: pytest.Item, exc: Exception) -> None:
    """A test that failed (or whose fixture failed) where Pango is missing, after asking for
    a PDF, here or in a `casebook` subprocess whose message it shows, is skipped with one
    reason: an ordinary user cannot apt-get Pango. With Pango it fails as it should."""
    asked = item.stash.get(_ASKED_FOR_PDF, False) or _NO_PDF in str(exc)
    if asked and _pango_is_missing():
        pytest.skip(PANGO_SKIP)


def _skipping_without_pango(item: pytest.Item) -> Generator[None, None, None]:
    try:
        return (yield)
    except Exception as exc:
        _skip_without_pango(item, exc)
        raise


# the same wrapper around a test's setup (its fixtures) and around the test itself
pytest_runtest_setup = pytest.hookimpl(wrapper=True)(_skipping_without_pango)
pytest_runtest_call = pytest_runtest_setup


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport() -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """The PostgreSQL, Pango and chromium skips are reported at this file, with no line, so
    that `-ra` folds each kind into one line that says how to turn them on (not one line per
    test)."""
    report = yield
    if (
        report.skipped
        and isinstance(report.longrepr, tuple)
        and report.longrepr[2].endswith(_FOLDED_SKIPS)
    ):
        report.longrepr = (str(Path(__file__)), None, report.longrepr[2])
    return report


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(PG_SKIP)
    schema = f"t_{uuid.uuid4().hex[:16]}"
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """The same test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'casebook.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def sqlite_url(tmp_path) -> str:  # type: ignore[no-untyped-def]
    return f"sqlite:///{tmp_path / 'casebook.db'}"


@pytest.fixture
def store(db_url: str) -> Iterator[CaseStore]:
    s = CaseStore(db_url, create=True, actor="tester")
    yield s
    s.close()


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[CaseStore]:
    s = CaseStore(sqlite_url, create=True, actor="tester")
    yield s
    s.close()


@pytest.fixture(scope="session")
def demo_cases() -> list[Case]:
    """Four seeded synthetic cases (patient 0 has alarm features)."""
    return generate_cases(4, seed=7)


@pytest.fixture(scope="session")
def jupyterlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    """One JupyterLab (tests/workbook/lab.py) for the browser tests of the session: (base
    URL, token, root). Tests take `lab`, which gives each its own folder and clean state."""
    from tests.workbook.lab import LabError, running_lab

    root = tmp_path_factory.mktemp("lab")
    try:
        with running_lab(root) as (base, token):
            yield base, token, root
    except LabError as exc:
        pytest.fail(str(exc))


@pytest.fixture
def lab(jupyterlab: tuple[str, str, Path]) -> Iterator[Lab]:
    """The session's JupyterLab and a new folder of this test's own under its root. What the
    test left running there (sessions, kernels, saved tabs) is closed afterwards."""
    from tests.workbook.lab import Lab, reset_lab

    base, token, root = jupyterlab
    folder = Path(tempfile.mkdtemp(prefix="test-", dir=root))
    try:
        yield Lab(base, token, root, folder)
    finally:
        reset_lab(base, token)
