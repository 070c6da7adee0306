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


def test_new_writes_the_notebook_and_prints_its_path(demo_store, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    pid = demo_store.patient_ids[1]
    assert main(["--db", demo_store.url, "new", pid]) == 0
    path = Path(capsys.readouterr().out.strip())
    assert path == tmp_path / "notebooks" / pid / "case.ipynb"
    nb = nbformat.read(path, as_version=4)
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert f'patient_id = "{pid}"' in injected.source
    assert all(c.get("outputs", []) == [] for c in nb.cells if c.cell_type == "code")


@pytest.mark.slow
def test_new_with_out_and_execute(demo_store, tmp_path: Path,  # type: ignore[no-untyped-def]
                                  capsys: pytest.CaptureFixture[str]) -> None:
    pid = demo_store.patient_ids[0]
    assert main(["--db", demo_store.url, "new", pid, "--execute", "--out",
                 str(tmp_path / "out")]) == 0
    path = Path(capsys.readouterr().out.strip())
    assert path == (tmp_path / "out" / pid / "case.ipynb").resolve()
    nb = nbformat.read(path, as_version=4)
    assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code")


def test_an_unknown_patient_is_refused(demo_store, tmp_path: Path, no_papermill: None,  # type: ignore[no-untyped-def]
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", demo_store.url, "new", "demo-9999", "--out", str(tmp_path)]) == 1
    assert "no patient 'demo-9999'" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("hostile", ["../../etc", "a/b", "x y", "x;rm -rf", "é", "",
                                     "a" * 65, "{patient_id}", "..", "\x00"])
def test_hostile_ids_are_refused_before_papermill(hostile: str, demo_store, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                  no_papermill: None,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", demo_store.url, "new", hostile, "--out", str(tmp_path)]) == 1
    assert "patient_id" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
