"""The clinic notebook: its sections (escaped HTML, links to case workbooks, offline charts,
CSV export without names in the outcome files), its parameters, and a real Papermill run."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import papermill
import pytest

from casebook.cli import main
from casebook.clinic import (
    ClinicError,
    ClinicFilter,
    ClinicSession,
    clinic_notebook,
    export_section,
    filters_section,
    outcomes_section,
    worklist_section,
)
from casebook.notebooks import (
    CLINIC,
    BatchOptions,
    BatchReport,
    ParameterError,
    clinic_parameters,
    plan_clinic,
    run_batch,
    template_path,
)
from casebook.notebooks._jobs import Job
from casebook.store import CaseStore, import_cases
from tests.clinic.cases import TODAY, V, days, make_case

PLAN = [
    {
        "category": "herbal",
        "name": "Peppermint oil",
        "status": "active",
        "template": "low_fodmap_diet",
        "start": days(90),
    }
]


def _cases() -> list:
    cases = [
        make_case(
            "nb-1",
            [V(60, 20), V(5, 10)],
            name="<script>alert(1)</script>",
            plan=PLAN,
            results=[{"test": "crp", "collected_on": days(10), "value": 7.0, "unit": "mg/L"}],
        )
    ]
    cases += [
        make_case(f"nb-{i}", [V(80, 18 + i), V(10, 12)], name=f"Pat {i}", plan=PLAN)
        for i in range(2, 8)
    ]
    return cases


NB1 = "script-alert-1-script-nb-1.ipynb"  # nb-1's workbook: named after the patient

pytestmark = pytest.mark.usefixtures("close_widgets")  # tests/conftest.py


@pytest.fixture
def clinic_store(sqlite_store: CaseStore) -> CaseStore:
    import_cases(sqlite_store, _cases())
    return sqlite_store


def test_sections_escape_link_chart_and_export(clinic_store: CaseStore, tmp_path: Path) -> None:
    tmp_path = tmp_path / "export"
    tmp_path.mkdir()
    session = ClinicSession(
        clinic_store, ClinicFilter(), notebooks_dir="cases", export_dir=tmp_path, today=TODAY
    )
    html = worklist_section(session).value
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    # the workbook is named after the patient (escaped to letters and digits in the file
    # name); a plain relative link in a notebook output: JupyterLab opens it in place
    assert f'<a href="cases/nb-1/{NB1}" title="Open the case workbook of nb-1">' in html
    outcomes = outcomes_section(session).value
    assert "<svg" in outcomes and "regression to the mean" in outcomes
    assert "Pat 2" not in outcomes and "nb-2" not in outcomes  # groups only
    export = export_section(session)
    export.children[0].click()
    files = {p.name for p in tmp_path.iterdir()}
    assert files == {
        "clinic-worklist.csv",
        "clinic-outcomes-patients.csv",
        "clinic-outcomes-templates.csv",
        "clinic-outcomes-categories.csv",
    }
    worklist = list(csv.DictReader((tmp_path / "clinic-worklist.csv").read_text().splitlines()))
    assert {"patient_id", "name", "kind", "urgency", "detail", "since"} <= set(worklist[0])
    for name in files - {"clinic-worklist.csv"}:
        text = (tmp_path / name).read_text()
        assert "Pat " not in text and "script" not in text, name
    assert "Written: clinic-worklist.csv" in export.children[1].value


def test_filters_redraw_the_sections(clinic_store: CaseStore, tmp_path: Path) -> None:
    session = ClinicSession(clinic_store, ClinicFilter(), export_dir=tmp_path, today=TODAY)
    worklist = worklist_section(session)
    filters = filters_section(session)
    start, end, who = filters.children[0].children
    apply, status = filters.children[1].children
    assert "nb-1" in worklist.value
    who.value = "nobody-at-all"
    apply.click()
    assert "Nothing to act on for these filters" in worklist.value
    who.value, start.value, end.value = "", days(1), days(2)
    apply.click()
    assert "is before date_from" in status.value
    assert session.filter.practitioner == "nobody-at-all"  # a bad filter changes nothing


def test_parameters_match_the_template_and_are_checked(tmp_path: Path) -> None:
    declared = papermill.inspect_notebook(str(template_path("clinic.ipynb")))
    passed = clinic_parameters(f"sqlite:///{tmp_path}/c.db")
    assert set(declared) == set(passed)
    assert {name: p["inferred_type_name"] for name, p in declared.items()} == {
        name: "str" for name in passed
    }
    assert all(p["help"] for p in declared.values())  # every parameter is commented
    with pytest.raises(ParameterError, match=r"^date_from: 'soon' is not a date"):
        clinic_parameters("sqlite:///c.db", date_from="soon")
    with pytest.raises(ParameterError, match=r"^notebooks_dir: must be a folder relative"):
        clinic_parameters("sqlite:///c.db", notebooks_dir="/etc")
    with (  # the store closed: Python 3.13 warns of an unclosed sqlite3 connection
        CaseStore(f"sqlite:///{tmp_path}/c.db", create=True) as store,
        pytest.raises(ClinicError, match=r"^notebooks_dir: must be a folder relative"),
    ):
        ClinicSession(store, ClinicFilter(), notebooks_dir="C:\\cases")  # the same words


def test_clinic_notebook_executes_with_papermill(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with CaseStore(sqlite_url, create=True) as store:
        import_cases(store, _cases())
    out = tmp_path / "nbs"
    assert main(["--db", sqlite_url, "clinic", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out / "clinic.ipynb")
    path = clinic_notebook(sqlite_url, out, execute=True)
    nb = json.loads(path.read_text())
    assert nb["metadata"]["papermill"]["parameters"] == clinic_parameters(sqlite_url)
    outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
    assert not [o for o in outputs if o["output_type"] == "error"]
    views = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(views) == 4  # filters, worklist, outcomes, export
    state = json.dumps(nb["metadata"].get("widgets", {}))
    assert f"nb-1/{NB1}" in state and "<svg" in state


def _ran(report: BatchReport) -> dict[str, list[str]]:
    """Which notebooks the batch built, and which it skipped: (patient, notebook) names."""
    return {
        status: sorted(
            f"{o.patient_id}/{o.notebook}" for o in report.outcomes if o.status == status
        )
        for status in ("built", "skipped", "failed")
    }


def test_the_batch_plans_the_clinic_notebook_as_a_job(sqlite_url: str, tmp_path: Path) -> None:
    """Built once per batch; a re-run with nothing changed builds nothing; a changed
    patient rebuilds that patient's notebooks and the clinic notebook only."""
    with CaseStore(sqlite_url, create=True) as store:
        import_cases(store, _cases()[:2])
    options = BatchOptions(sqlite_url, out=tmp_path, workers=1)
    first = run_batch(options, progress=False)
    assert _ran(first) == {
        "built": [
            "(clinic)/clinic.ipynb",
            "nb-1/dashboard.ipynb",
            f"nb-1/{NB1}",
            "nb-2/Pat-2-nb-2.ipynb",
            "nb-2/dashboard.ipynb",
        ],
        "skipped": [],
        "failed": [],
    }
    assert (tmp_path / "clinic.ipynb").is_file()
    assert "(clinic): clinic.ipynb built" in first.summary_text()
    built_at = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.ipynb")}

    again = run_batch(options, progress=False)
    assert _ran(again) == {"built": [], "skipped": sorted(_ran(first)["built"]), "failed": []}
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.ipynb")} == built_at

    with CaseStore(sqlite_url) as store:
        patient = store.get_patient("nb-2")
        store.save_patient(patient.model_copy(update={"name": "Pat Renamed"}))
    changed = run_batch(options, progress=False)
    assert _ran(changed)["built"] == [
        "(clinic)/clinic.ipynb",
        "nb-2/Pat-Renamed-nb-2.ipynb",  # the workbook follows the patient's new name
        "nb-2/dashboard.ipynb",
    ]
    assert _ran(changed)["skipped"] == ["nb-1/dashboard.ipynb", f"nb-1/{NB1}"]
    rewritten = {
        p.relative_to(tmp_path).as_posix()
        for p, t in built_at.items()
        if not p.exists() or p.stat().st_mtime_ns != t
    }
    assert rewritten == {"clinic.ipynb", "nb-2/Pat-2-nb-2.ipynb", "nb-2/dashboard.ipynb"}
    # renamed, not left beside: one workbook per patient, with its sidecar
    assert sorted(p.name for p in (tmp_path / "nb-2").glob("*.ipynb")) == [
        "Pat-Renamed-nb-2.ipynb",
        "dashboard.ipynb",
    ]
    assert not (tmp_path / "nb-2" / ".Pat-2-nb-2.ipynb.inputs.json").exists()


def test_the_clinic_job_reads_every_patient_and_the_day(tmp_path: Path) -> None:
    secret = "pw-Sekr3t-42"
    options = BatchOptions("sqlite:///" + str(tmp_path / "c.db"), out=tmp_path)
    clinic = template_path("clinic.ipynb")
    job = plan_clinic({"a": 1, "b": 1}, clinic, options, today=TODAY)
    assert isinstance(job, Job) and job.patient_id == CLINIC
    assert job.output == str(tmp_path / "clinic.ipynb")
    digests = {
        plan_clinic(v, clinic, options, today=d).digest  # type: ignore[union-attr]
        for v, d in [
            ({"a": 1, "b": 1}, TODAY),
            ({"a": 1, "b": 2}, TODAY),
            ({"a": 1}, TODAY),
            ({"a": 1, "b": 1}, days(-1)),
        ]
    }
    assert len(digests) == 4  # a version, a patient gone, another day: each rebuilds
    pg = BatchOptions(f"postgresql+psycopg://clinic:{secret}@db/casebook", out=tmp_path)
    assert secret not in repr(plan_clinic({}, clinic, pg, today=TODAY))


def test_running_the_worklist_cell_again_reads_the_store_again(
    clinic_store: CaseStore, tmp_path: Path
) -> None:
    from casebook.models import AlarmScreen

    flagged = make_case("nb-rf", [V(20, 5, screen=AlarmScreen(fever=True))], name="Pat rf")
    import_cases(clinic_store, [flagged])
    session = ClinicSession(clinic_store, ClinicFilter(), export_dir=tmp_path, today=TODAY)
    first = worklist_section(session)
    assert "nb-rf" in first.value and "Red flag" in first.value
    clinic_store.review_flag("nb-rf", "fever", "acknowledged")
    assert "red-flag" in session.table("worklist")["kind"].tolist()  # read before the ack
    again = worklist_section(session)  # the cell run again, same session: the flag is gone
    assert "nb-rf" not in again.value and "Red flag" not in again.value
    assert "nb-rf" not in first.value  # the earlier output is redrawn too
