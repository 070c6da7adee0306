"""casebook batch: selection, incremental builds, failure isolation, stalls, HTML, hostile input."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import nbformat
import pytest
from batch_helpers import TEMPLATES, normalized

from casebook.cli import main
from casebook.notebooks import (
    BatchInputError,
    BatchOptions,
    ParameterError,
    parse_since,
    plan_jobs,
    read_patient_csv,
    run_batch,
    select_patients,
)
from casebook.notebooks._jobs import sidecar_path
from casebook.store import CaseStore

WIDGETS = TEMPLATES / "widgets.ipynb"
FAILING = TEMPLATES / "failing.ipynb"
HANG = TEMPLATES / "hang.ipynb"
IDS = ["demo-0001", "demo-0002", "demo-0003"]


def _noop_modules(url: str, out: Path, template: Path) -> dict[str, object]:
    """The same batch (with HTML copies) in a fresh process: how many notebooks it skipped,
    and whether it imported SQLAlchemy or papermill (a batch with nothing to build over a
    SQLite file is planned from a read-only peek at it)."""
    code = (
        "import json, sys\nfrom pathlib import Path\n"
        "from casebook.notebooks import BatchOptions, run_batch\n"
        f"r = run_batch(BatchOptions({url!r}, out=Path({str(out)!r}), "
        f"templates=[Path({str(template)!r})], html=True))\n"
        "print(json.dumps({'skipped': r.counts['skipped'], "
        "'sqlalchemy': 'sqlalchemy' in sys.modules, 'papermill': 'papermill' in sys.modules}))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=out
    )
    return dict(json.loads(proc.stdout))


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_same_inputs_same_notebooks_skip_force_and_plain_kernels(
    batch_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "nb"
    options = BatchOptions(batch_url, out=out, templates=[WIDGETS], workers=2, html=True)
    first = run_batch(options)
    assert first.ok, first.summary_text()
    assert first.counts == {"built": 3, "skipped": 0, "failed": 0}
    built = {pid: normalized(out / pid / "widgets.ipynb") for pid in IDS}
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    for pid in IDS:
        text = json.dumps(built[pid])
        assert f"{pid} " in text  # the notebook read this patient's case from the store
        assert "<model>" in text  # the widgets were displayed
        html = (out / pid / "widgets.html").read_text()
        assert "<script" not in html.lower() and 'src="http' not in html
        assert "Content-Security-Policy" in html and pid in html
        assert "import altair" not in html  # code hidden

    again = run_batch(options)
    assert again.counts == {"built": 0, "skipped": 3, "failed": 0}
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == stamps
    assert _noop_modules(batch_url, out, WIDGETS) == {
        "skipped": 3,
        "sqlalchemy": False,
        "papermill": False,
    }

    plain = run_batch(
        BatchOptions(
            batch_url,
            out=out,
            templates=[WIDGETS],
            workers=1,
            html=True,
            force=True,
            kernel="plain",
            patients=[IDS[0]],
        )
    )
    assert plain.counts == {"built": 1, "skipped": 0, "failed": 0}, plain.summary_text()
    assert normalized(out / IDS[0] / "widgets.ipynb") == built[IDS[0]]
    assert _files(out) == sorted(
        f"{pid}/{name}"
        for pid in IDS
        for name in ("widgets.ipynb", "widgets.html", ".widgets.ipynb.inputs.json")
    )


def test_changed_record_or_template_rebuilds_only_what_changed(
    batch_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "nb"
    template = tmp_path / "custom.ipynb"
    template.write_bytes(FAILING.read_bytes())
    options = BatchOptions(
        batch_url, out=out, templates=[template], patients=["demo-0001", "demo-0003"], workers=1
    )
    assert run_batch(options).counts["built"] == 2
    truncated = out / "demo-0001" / ".custom.ipynb.k1x2.tmp"  # a killed run's leftover
    truncated.write_text('{"cells": [', encoding="utf-8")
    with CaseStore(batch_url, actor="tester") as store:
        case = store.load_case("demo-0003")
        store.save_patient(case.patient.model_copy(update={"name": "Renamed Person"}))
    assert {o.patient_id: o.status for o in run_batch(options).outcomes} == {
        "demo-0001": "skipped",
        "demo-0003": "built",
    }
    assert not truncated.exists()  # cleaned up beside a skipped notebook too
    nb = nbformat.read(template, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("print('new cell')"))
    nbformat.write(nb, template)
    assert run_batch(options).counts == {"built": 2, "skipped": 0, "failed": 0}
    recorded = json.loads(sidecar_path(out / "demo-0003" / "custom.ipynb").read_text())
    assert recorded["inputs"]["record_version"] >= 2
    assert set(recorded["inputs"]) == {
        "record_version",
        "template_sha256",
        "casebook_version",
        "parameters",
    }


def test_a_failing_patient_never_stops_the_others(
    batch_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, report = tmp_path / "nb", tmp_path / "report.json"
    argv = [
        "--db",
        batch_url,
        "batch",
        "--template",
        str(FAILING),
        "--out",
        str(out),
        "--workers",
        "2",
        "--report",
        str(report),
    ]
    assert main(argv) == 1
    printed = capsys.readouterr().out
    assert "2 built, 0 skipped, 1 failed" in printed
    assert "demo-0002: failing.ipynb FAILED in cell 4: ValueError: chosen failure" in printed
    assert "demo-0001: failing.ipynb built" in printed
    assert "demo-0003: failing.ipynb built" in printed
    data = json.loads(report.read_text())
    assert data["counts"] == {"built": 2, "skipped": 0, "failed": 1}
    failed = data["patients"]["demo-0002"]["failing.ipynb"]
    assert (failed["status"], failed["cell_index"], failed["ename"]) == ("failed", 4, "ValueError")
    assert failed["evalue"] == "chosen failure for demo-0002"
    assert not (out / "demo-0002" / "failing.ipynb").exists()
    assert not sidecar_path(out / "demo-0002" / "failing.ipynb").exists()
    assert data["patients"]["demo-0001"]["failing.ipynb"]["status"] == "built"
    # the failure is retried on the next run; the good ones are skipped
    assert main(argv) == 1
    assert "0 built, 2 skipped, 1 failed" in capsys.readouterr().out


def test_a_stall_is_retried_once_in_a_fresh_kernel(
    batch_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    monkeypatch.setenv("CASEBOOK_TEST_HANG", str(markers))  # hangs once per patient
    out = tmp_path / "nb"
    options = BatchOptions(
        batch_url, out=out, templates=[HANG], patients=["demo-0001"], workers=1, cell_timeout=2
    )
    report = run_batch(options)
    (outcome,) = report.outcomes
    assert (outcome.status, outcome.attempts, outcome.stalled) == ("built", 2, False)
    assert outcome.notes == ["attempt 1: cell 4 stalled"]
    assert "no hang" in (out / "demo-0001" / "hang.ipynb").read_text()
    assert "hang.ipynb built (after a stall)" in report.summary_text()


def test_a_notebook_that_stalls_twice_is_failed_not_built(
    batch_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASEBOOK_TEST_HANG", "always")
    out = tmp_path / "nb"
    options = BatchOptions(
        batch_url, out=out, templates=[HANG], patients=["demo-0002"], workers=1, cell_timeout=2
    )
    report = run_batch(options)
    (outcome,) = report.outcomes
    assert (outcome.status, outcome.stalled, outcome.attempts) == ("failed", True, 2)
    assert (outcome.cell_index, outcome.ename) == (4, "CellTimeoutError")
    assert report.exit_code == 1
    assert "FAILED in cell 4, stalled 2 times" in report.summary_text()
    assert _files(out) == []


@pytest.mark.parametrize("pid", ["../x", "a/b", "$(id)", "x" * 65, "", "..", "a b"])
def test_hostile_patient_ids_are_refused_before_anything_runs(
    batch_url: str, tmp_path: Path, pid: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "nb"
    code = main(
        [
            "--db",
            batch_url,
            "batch",
            "--template",
            str(WIDGETS),
            "--out",
            str(out),
            "--patient",
            "demo-0001",
            "--patient",
            pid,
        ]
    )
    assert code == 1
    assert "--patient" in capsys.readouterr().err
    assert not out.exists()


def test_unknown_patients_and_bad_csv_lines_are_named(batch_url: str, tmp_path: Path) -> None:
    with CaseStore(batch_url) as store:
        with pytest.raises(BatchInputError, match="not in the store: nobody"):
            select_patients(store, patients=["demo-0001", "nobody"])
        csv_file = tmp_path / "ids.csv"
        csv_file.write_text("name,patient_id\nA,demo-0003\nB,../etc\nC,\nD,demo-0001\n")
        with pytest.raises(BatchInputError) as info:
            select_patients(store, from_csv=csv_file)
        assert "ids.csv: line 3: patient_id: '../etc'" in str(info.value)
        assert "ids.csv: line 4: patient_id: ''" in str(info.value)
        csv_file.write_text("\ufeffpatient_id\ndemo-0003\ndemo-0001\ndemo-0003\n")
        assert read_patient_csv(csv_file) == ["demo-0003", "demo-0001"]
        assert select_patients(store, from_csv=csv_file) == [("demo-0001", 1), ("demo-0003", 1)]
        (tmp_path / "bad.csv").write_text("id\nx\n")
        with pytest.raises(BatchInputError, match="line 1: no patient_id column"):
            read_patient_csv(tmp_path / "bad.csv")


def test_since_selects_patients_changed_since(batch_url: str) -> None:
    with CaseStore(batch_url, actor="tester") as store:
        assert [p for p, _ in select_patients(store)] == IDS
        newest = max(s.updated_at for s in store.patients())
        before = newest + timedelta(microseconds=1)
        assert select_patients(store, since=before) == []
        case = store.load_case("demo-0002")
        store.save_patient(case.patient.model_copy(update={"name": "Changed"}))
        changed = select_patients(store, since=before)
        assert [p for p, _ in changed] == ["demo-0002"]
        assert select_patients(store, patients=["demo-0001"], since=before) == []
    assert parse_since("2026-01-05").tzinfo is not None
    with pytest.raises(BatchInputError, match="--since"):
        parse_since("last tuesday")


def test_no_password_reaches_a_job(tmp_path: Path) -> None:
    secret = "pw-Sekr3t-42"
    options = BatchOptions(f"postgresql+psycopg://clinic:{secret}@db/casebook", out=tmp_path)
    from dataclasses import replace

    from casebook.notebooks import public_database_url

    options = replace(options, database_url=public_database_url(options.database_url))
    jobs, skipped = plan_jobs([("demo-0001", 3)], [WIDGETS], options, {"demo-0001": "A B"})
    assert not skipped and secret not in repr(jobs)
    assert jobs[0].parameters["database_url"] == "postgresql+psycopg://clinic@db/casebook"
    with pytest.raises(ParameterError):
        plan_jobs([("../x", 1)], [WIDGETS], options, {})


def test_bad_options_are_refused(batch_url: str, tmp_path: Path) -> None:
    for bad, message in [
        ({"executor": "dask"}, "--scheduler"),
        ({"workers": 0}, "--workers"),
        ({"cell_timeout": 0}, "--cell-timeout"),
        ({"templates": [tmp_path / "missing.ipynb"]}, "no template"),
    ]:
        with pytest.raises(BatchInputError, match=message):
            run_batch(BatchOptions(batch_url, out=tmp_path / "nb", **bad))  # type: ignore[arg-type]
    assert not (tmp_path / "nb").exists()
