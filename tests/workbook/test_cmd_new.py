"""`casebook new PATIENT [--execute] [--out DIR]`."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

import casebook.notebooks
from casebook.cli import main


@pytest.fixture
def no_papermill(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("papermill must not run")

    monkeypatch.setattr(casebook.notebooks, "run_notebook", refuse)


def test_new_writes_the_notebook_and_prints_its_path(
    demo_store,
    workbook_names,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    pid = demo_store.patient_ids[1]
    assert main(["--db", demo_store.url, "new", pid]) == 0
    path = Path(capsys.readouterr().out.strip())
    # named after the patient: JupyterLab's tab says whose record it is
    assert path == tmp_path / "notebooks" / pid / workbook_names[pid]
    assert path.name.endswith(f"-{pid}.ipynb") and path.name != f"case-{pid}.ipynb"
    nb = nbformat.read(path, as_version=4)
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert f'patient_id = "{pid}"' in injected.source
    assert injected.metadata["jupyter"] == {"source_hidden": True}  # as the parameters cell
    assert all(c.get("outputs", []) == [] for c in nb.cells if c.cell_type == "code")


@pytest.mark.slow
def test_new_with_out_and_execute(
    demo_store,
    workbook_names,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    pid = demo_store.patient_ids[0]
    assert (
        main(["--db", demo_store.url, "new", pid, "--execute", "--out", str(tmp_path / "out")]) == 0
    )
    out, err = capfd.readouterr()
    # no kernel warning (e.g. "running over TCP without encryption"); the one line that
    # says the `casebook` kernel was installed shows only when this test runs first
    warnings = [ln for ln in err.splitlines() if not ln.startswith("Jupyter kernel 'casebook'")]
    assert warnings == []
    path = Path(out.strip())
    assert path == (tmp_path / "out" / pid / workbook_names[pid]).resolve()
    nb = nbformat.read(path, as_version=4)
    assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code")


def test_an_unknown_patient_is_refused(
    demo_store,
    tmp_path: Path,
    no_papermill: None,  # type: ignore[no-untyped-def]
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--db", demo_store.url, "new", "demo-9999", "--out", str(tmp_path)]) == 1
    assert "no patient 'demo-9999'" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    "hostile",
    ["../../etc", "a/b", "x y", "x;rm -rf", "é", "", "a" * 65, "{patient_id}", "..", "\x00"],
)
def test_hostile_ids_are_refused_before_papermill(
    hostile: str,
    demo_store,
    tmp_path: Path,  # type: ignore[no-untyped-def]
    no_papermill: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--db", demo_store.url, "new", hostile, "--out", str(tmp_path)]) == 1
    assert "patient_id" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_new_writes_what_papermill_prepares(
    demo_store,
    tmp_path: Path,  # type: ignore[no-untyped-def]
    capsys: pytest.CaptureFixture[str],
) -> None:
    from casebook.notebooks import case_parameters, output_path, run_notebook, template_path

    pid = demo_store.patient_ids[0]
    assert main(["--db", demo_store.url, "new", pid, "--out", str(tmp_path / "fast")]) == 0
    fast = Path(capsys.readouterr().out.strip())
    slow = output_path(tmp_path / "slow", pid, fast.name)
    run_notebook(
        template_path("case.ipynb"), slow, case_parameters(pid, demo_store.url), execute=False
    )
    assert fast.read_text().replace("/fast/", "/out/") == slow.read_text().replace(
        "/slow/", "/out/"
    )


def test_new_without_execute_imports_nothing_heavy(
    demo_store, workbook_names, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from casebook.cli import main\n"
        f"rc = main(['--db', {demo_store.url!r}, 'new', {demo_store.patient_ids[0]!r}])\n"
        "heavy = {'pandas', 'altair', 'sqlalchemy', 'papermill', 'nbclient', 'pydantic', 'zmq'}\n"
        "print(rc, sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert done.stdout.splitlines()[-1] == "0 []"
    pid = demo_store.patient_ids[0]
    assert (tmp_path / "notebooks" / pid / workbook_names[pid]).is_file()


def test_the_fast_path_follows_the_store_url_rules(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from casebook.notebooks._parameters import public_database_url
    from casebook.store import resolve_url
    from casebook.store.peek import fast_sqlite_url

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CASEBOOK_DB", raising=False)
    for given in (None, "sqlite:///x.db", "sqlite:////abs/y.db", "sqlite:///a/b-c_d.db"):
        fast = fast_sqlite_url(given)
        assert fast is not None
        assert fast[0] == public_database_url(resolve_url(given))
    monkeypatch.setenv("CASEBOOK_DB", "sqlite:///env.db")
    assert fast_sqlite_url(None) == (f"sqlite:///{tmp_path}/env.db", tmp_path / "env.db")
    for other in (
        "postgresql+psycopg://u@h/db",
        "sqlite://",
        "sqlite:///:memory:",
        "sqlite:///x.db?mode=ro",
        "sqlite:///with space.db",
    ):
        assert fast_sqlite_url(other) is None


def test_a_renamed_patient_keeps_one_workbook(
    demo_store,
    workbook_names,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A workbook under an older name (or `case.ipynb`, from an older casebook) is renamed
    to the patient's current name, never left beside a second one; then kept unless
    --force, the refusal naming the folder (the file name carries the patient's name)."""
    pid = demo_store.patient_ids[2]
    out = tmp_path / "nb"
    assert main(["--db", demo_store.url, "new", pid, "--out", str(out)]) == 0
    made = Path(capsys.readouterr().out.strip())
    old = made.with_name("case.ipynb")
    made.replace(old)
    (out / pid / "notes.ipynb").write_text("{}")  # not a workbook of ours: left alone
    assert main(["--db", demo_store.url, "new", pid, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert str(out.resolve() / pid) in err and workbook_names[pid] not in err
    assert sorted(p.name for p in (out / pid).iterdir()) == sorted(
        ["notes.ipynb", workbook_names[pid]]
    )
    assert main(["--db", demo_store.url, "new", pid, "--out", str(out), "--force"]) == 0
    assert sorted(p.name for p in (out / pid).iterdir()) == sorted(
        ["notes.ipynb", workbook_names[pid]]
    )
