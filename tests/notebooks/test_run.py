"""casebook.notebooks: parameter checks, templates, safe output paths, atomic writes, no secrets."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import papermill
import pytest

import casebook
from casebook.notebooks import (
    TEMPLATES_DIR,
    NotebookFailed,
    NotebookStalled,
    ParameterError,
    _run,
    case_parameters,
    check_parameters,
    output_path,
    public_database_url,
    run_notebook,
    template_path,
    write_atomic,
)

TEST_TEMPLATES = Path(__file__).parent / "templates"
SECRET = "hunter2-Sekr3t"
PG_URL = f"postgresql+psycopg://clinic:{SECRET}@db.example.internal:5432/casebook"
HOSTILE_IDS = ["../x", "a/b", "$(id)", "x" * 65, "", ".", "..", "a b", "é", "a\x00b", "-\n"]


# --- parameters -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "name", ["x=1;import os", "__class__", "for", "match", "", "1x", "a-b", "x y", "ß"]
)
def test_hostile_parameter_names_are_refused(name: str) -> None:
    with pytest.raises(ParameterError) as info:
        check_parameters({name: "v"})
    assert "parameter name" in str(info.value)


def test_a_non_string_name_is_refused() -> None:
    with pytest.raises(ParameterError, match="identifier"):
        check_parameters({3: "v"})  # type: ignore[dict-item]


@pytest.mark.parametrize(
    "value", [None, [1], {"a": 1}, object(), b"bytes", (1,), float("nan"), float("inf"), "a\x00"]
)
def test_bad_value_types_are_refused_naming_the_parameter(value: object) -> None:
    with pytest.raises(ParameterError) as info:
        check_parameters({"good": 1, "visit_count": value})
    assert info.value.name == "visit_count"
    assert str(info.value).startswith("visit_count: ")


def test_allowed_values_pass_unchanged() -> None:
    params = {"patient_id": "007", "n": 3, "x": 1.5, "flag": True, "_private": "ok"}
    assert check_parameters(params) == params
    assert check_parameters(params) is not params


@pytest.mark.parametrize("pid", HOSTILE_IDS)
def test_hostile_patient_ids_are_refused_everywhere(pid: str, tmp_path: Path) -> None:
    with pytest.raises(ParameterError) as info:
        check_parameters({"patient_id": pid})
    assert info.value.name == "patient_id"
    with pytest.raises(ParameterError):
        output_path(tmp_path, pid, "case.ipynb")
    with pytest.raises(ParameterError):
        case_parameters(pid, "sqlite:///x.db")
    assert list(tmp_path.iterdir()) == []


def test_a_url_with_a_password_never_passes_as_a_parameter() -> None:
    with pytest.raises(ParameterError, match="password") as info:
        check_parameters({"database_url": PG_URL})
    assert SECRET not in str(info.value)
    with pytest.raises(ParameterError, match="password"):
        check_parameters({"url": "postgresql://u@h/db?sslmode=require&password=x"})


# --- URLs -----------------------------------------------------------------------------
def test_public_database_url_removes_the_password() -> None:
    public = public_database_url(PG_URL)
    assert public == "postgresql+psycopg://clinic@db.example.internal:5432/casebook"
    assert SECRET not in public and "***" not in public
    query = public_database_url("postgresql+psycopg://u:p@h/db?sslmode=require&password=p2")
    assert query == "postgresql+psycopg://u@h/db?sslmode=require"


def test_public_database_url_makes_sqlite_absolute(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    assert public_database_url("sqlite:///rel/case.db") == f"sqlite:///{tmp_path}/rel/case.db"
    assert public_database_url(f"sqlite:///{tmp_path}/a.db") == f"sqlite:///{tmp_path}/a.db"
    assert public_database_url("sqlite://") == "sqlite://"


@pytest.mark.parametrize("url", ["", "   ", "not a url", "://x"])
def test_public_database_url_refuses_garbage(url: str) -> None:
    with pytest.raises(ParameterError) as info:
        public_database_url(url)
    assert info.value.name == "database_url"


def test_case_parameters() -> None:
    assert case_parameters("00123", PG_URL) == {
        "patient_id": "00123",
        "database_url": "postgresql+psycopg://clinic@db.example.internal:5432/casebook",
    }


# --- paths ----------------------------------------------------------------------------
def test_output_path_stays_inside_root(tmp_path: Path) -> None:
    assert output_path(tmp_path, "demo-0001", "case.ipynb") == (
        tmp_path.resolve() / "demo-0001" / "case.ipynb"
    )
    for name in ["../case.ipynb", "a/b.ipynb", ".hidden", "", "{patient_id}.ipynb", ".."]:
        with pytest.raises(ParameterError) as info:
            output_path(tmp_path, "demo-0001", name)
        assert info.value.name == "name"


def test_output_path_refuses_a_symlink_escape(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "demo-0001").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ParameterError, match="outside"):
        output_path(root, "demo-0001", "case.ipynb")
    (root / "demo-0002").mkdir()
    (root / "demo-0002" / "case.ipynb").symlink_to(outside / "case.ipynb")
    with pytest.raises(ParameterError, match="outside"):
        output_path(root, "demo-0002", "case.ipynb")


def test_template_path_explains_what_is_missing(tmp_path: Path) -> None:
    expected = Path(casebook.__file__).resolve().parents[1] / "templates"  # the checkout's
    assert expected == TEMPLATES_DIR
    with pytest.raises(FileNotFoundError, match="no templates folder"):
        template_path("case.ipynb", tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match=r"no template 'nope.ipynb'.*widgets.ipynb"):
        template_path("nope.ipynb", TEST_TEMPLATES)
    assert template_path("widgets.ipynb", TEST_TEMPLATES) == TEST_TEMPLATES / "widgets.ipynb"


# --- templates ------------------------------------------------------------------------
def _check_template_parameters(path: Path) -> None:
    declared = papermill.inspect_notebook(str(path))
    wanted = case_parameters("demo-0001", "sqlite:///casebook.db")
    missing = set(wanted) - set(declared)
    assert not missing, f"{path.name}: parameters cell lacks {sorted(missing)}"
    for name, value in wanted.items():
        assert declared[name]["inferred_type_name"] == type(value).__name__, (
            f"{path.name}: {name} is typed {declared[name]['inferred_type_name']!r}"
        )
        assert declared[name]["help"], f"{path.name}: {name} has no comment"


def _shipped_templates() -> list[Path]:
    found = sorted(TEMPLATES_DIR.glob("*.ipynb")) if TEMPLATES_DIR.is_dir() else []
    return [p for p in found if p.name != "clinic.ipynb"]  # its own: tests/clinic


@pytest.mark.parametrize("path", _shipped_templates(), ids=lambda p: p.name)
def test_shipped_templates_take_exactly_the_case_parameters(path: Path) -> None:
    _check_template_parameters(path)
    declared = papermill.inspect_notebook(str(path))
    assert set(declared) == {"patient_id", "database_url"}, f"{path.name}: {sorted(declared)}"


@pytest.mark.parametrize("path", sorted(TEST_TEMPLATES.glob("*.ipynb")), ids=lambda p: p.name)
def test_test_templates_take_the_case_parameters(path: Path) -> None:
    _check_template_parameters(path)


# --- running --------------------------------------------------------------------------
def _texts(nb: nbformat.NotebookNode) -> str:
    return "".join(out.get("text", "") for cell in nb.cells for out in cell.get("outputs", []))


def test_prepare_only_injects_checked_parameters_and_no_password(tmp_path: Path) -> None:
    out = output_path(tmp_path, "demo-0001", "case.ipynb")
    params = case_parameters("demo-0001", PG_URL)
    assert run_notebook(TEST_TEMPLATES / "widgets.ipynb", out, params, execute=False) == out
    raw = out.read_text()
    assert SECRET not in raw
    nb = nbformat.reads(raw, as_version=4)
    nbformat.validate(nb)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and 'patient_id = "demo-0001"' in injected[0].source
    meta = nb.metadata.papermill
    assert meta.parameters == params and meta.output_path == str(out)
    assert meta.environment_variables == {}
    assert not [c for c in nb.cells if c.cell_type == "code" and c.outputs]
    assert sorted(p.name for p in out.parent.iterdir()) == ["case.ipynb"]


def test_an_executed_notebook_holds_no_password(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PGPASSWORD", SECRET)  # how the kernel would get it
    hostile = 'x"\\n\'); raise SystemExit("pwned")  # {patient_id}'
    params = {**case_parameters("demo-0001", PG_URL), "fail_for": hostile}
    out = output_path(tmp_path, "demo-0001", "case.ipynb")
    run_notebook(TEST_TEMPLATES / "failing.ipynb", out, params, timeout=60)
    raw = out.read_text()
    assert SECRET not in raw
    nb = nbformat.reads(raw, as_version=4)
    nbformat.validate(nb)
    assert f"fail_for {hostile!r}" in _texts(nb)  # the value arrived verbatim, as data
    assert "cell 4 ran" in _texts(nb)
    assert json.loads(raw)["metadata"]["papermill"]["parameters"]["fail_for"] == hostile


def test_a_failing_cell_is_named_and_nothing_is_written(tmp_path: Path) -> None:
    out = output_path(tmp_path, "demo-0002", "case.ipynb")
    out.parent.mkdir(parents=True)
    out.write_text("previous good notebook")
    params = case_parameters("demo-0002", "sqlite:///unused.db")
    with pytest.raises(NotebookFailed) as info:
        run_notebook(TEST_TEMPLATES / "failing.ipynb", out, params, timeout=60)
    exc = info.value
    assert not isinstance(exc, NotebookStalled)
    assert (exc.cell_index, exc.ename) == (4, "ValueError")
    assert exc.evalue == "chosen failure for demo-0002"
    assert "cell 4 raised ValueError" in str(exc) and "failing.ipynb" in str(exc)
    assert out.read_text() == "previous good notebook"
    assert sorted(p.name for p in out.parent.iterdir()) == ["case.ipynb"]


def test_a_cell_that_never_replies_is_a_stall_not_a_build(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CASEBOOK_TEST_HANG", "always")
    out = output_path(tmp_path, "demo-0001", "case.ipynb")
    params = case_parameters("demo-0001", "sqlite:///unused.db")
    with pytest.raises(NotebookStalled) as info:
        run_notebook(TEST_TEMPLATES / "hang.ipynb", out, params, timeout=2)
    assert info.value.cell_index == 4 and info.value.ename == "CellTimeoutError"
    assert not out.exists() and list(out.parent.iterdir()) == []


def test_a_bad_parameter_stops_before_papermill(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def boom(*a: object, **k: object) -> None:
        raise AssertionError("papermill was called")

    monkeypatch.setattr(papermill, "execute_notebook", boom)
    monkeypatch.setattr(_run, "_execute_notebook", boom)  # run_notebook's way into papermill
    out = tmp_path / "x" / "case.ipynb"
    for params in ({"x=1;import os": 1}, {"patient_id": "../x"}, {"database_url": PG_URL}):
        with pytest.raises(ParameterError):
            run_notebook(TEST_TEMPLATES / "widgets.ipynb", out, params)
    assert not out.exists()


def test_write_atomic_leaves_nothing_when_the_rename_fails(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "a" / "case.ipynb"
    write_atomic(target, "old")

    def fail(*a: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in target.parent.iterdir()] == ["case.ipynb"]


def test_a_killed_run_leaves_no_notebook_and_no_temp_file(tmp_path: Path) -> None:
    marker = tmp_path / "sleeping"
    out = output_path(tmp_path / "out", "demo-0001", "case.ipynb")
    script = textwrap.dedent(
        f"""
        from casebook.notebooks import run_notebook
        run_notebook({str(TEST_TEMPLATES / "sleepy.ipynb")!r}, {str(out)!r},
                     {{"patient_id": "demo-0001", "seconds": 120.0, "marker": {str(marker)!r}}})
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, "the run ended before the sleep began"
            assert time.monotonic() < deadline, "the notebook never began to sleep"
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the runner and its kernel
        proc.wait()
    assert not out.exists()
    assert list(out.parent.iterdir()) == []
