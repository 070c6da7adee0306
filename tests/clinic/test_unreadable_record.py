"""One bad record never stops the rest (issue 21): a patient whose stored plan item no longer
validates is listed with the reason (record kind, id and field, never a stored value) and
as a worklist item of its own kind, and every other patient is still served."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from casebook.cli import main
from casebook.clinic import (
    ClinicFilter,
    ClinicSession,
    outcomes_section,
    store_outcomes,
    store_worklist,
    worklist_section,
)
from casebook.errors import UnreadableRecordError
from casebook.notebooks import BatchOptions, run_batch
from casebook.store import CaseStore, import_cases, tables
from tests.clinic.cases import TODAY, V, days, make_case

PLAN = [{"category": "herbal", "name": "Secret Tonic", "status": "active", "start": days(90)}]
CRP = [{"test": "crp", "collected_on": days(10), "value": 7.0, "unit": "mg/L"}]  # to review
BAD_VALUE = "Not A Key Sam Doe"


def _break_a_plan_item(store: CaseStore, patient_id: str) -> str:
    """Write a confirmation that no longer validates straight into the table, through the
    store's own engine (as an outside edit or an older version would)."""
    p = tables.plan_items
    with store.engine.begin() as conn:
        item = conn.execute(sa.select(p.c.id).where(p.c.patient_id == patient_id)).scalar_one()
        conn.execute(
            sa.update(p)
            .where(p.c.id == item)
            .values(caution_confirmations=[{"key": BAD_VALUE, "reason": "x", "on": "2024-01-01"}])
        )
    return str(item)


@pytest.fixture
def broken(store: CaseStore) -> tuple[CaseStore, str]:
    cases = [
        make_case(f"ok-{i}", [V(80, 20), V(10, 12)], name=f"Pat {i}", plan=PLAN, results=CRP)
        for i in range(1, 4)
    ]
    cases.append(make_case("bad-1", [V(80, 20), V(10, 30)], name="Sam Doe", plan=PLAN, results=CRP))
    import_cases(store, cases)
    return store, _break_a_plan_item(store, "bad-1")


def test_the_bulk_read_lists_the_patient_and_serves_everyone_else(
    broken: tuple[CaseStore, str],
) -> None:
    store, item = broken
    loaded = store.load_cases()
    assert [c.patient.id for c in loaded] == ["ok-1", "ok-2", "ok-3"]
    [bad] = loaded.unreadable
    assert (bad.patient_id, bad.name) == ("bad-1", "Sam Doe")
    assert bad.reason.startswith(f"plan {item}: caution_confirmations.0.key: ")
    assert BAD_VALUE not in bad.reason and "Sam" not in bad.reason
    with pytest.raises(UnreadableRecordError, match=r"^patient 'bad-1': plan [0-9a-f]{32}: "):
        store.load_case("bad-1")
    assert store.load_case("ok-1").patient.name == "Pat 1"


def test_text_that_is_not_json_is_one_unreadable_patient_too(sqlite_store: CaseStore) -> None:
    """SQLite keeps JSON as text: an outside edit can leave text that is not JSON at all."""
    import_cases(
        sqlite_store,
        [make_case(pid, [V(80, 20)], name=pid.title(), plan=PLAN) for pid in ("a-1", "b-1")],
    )
    p = tables.plan_items
    with sqlite_store.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE plan_items SET caution_confirmations = :bad WHERE patient_id = 'b-1'"),
            {"bad": '[{"key": "' + BAD_VALUE},
        )
        assert conn.execute(sa.select(sa.func.count()).select_from(p)).scalar_one() == 2
    loaded = sqlite_store.load_cases()
    assert [c.patient.id for c in loaded] == ["a-1"]
    [bad] = loaded.unreadable
    assert bad.patient_id == "b-1" and "caution_confirmations" in bad.reason
    assert BAD_VALUE not in bad.reason


def test_worklist_and_outcomes_list_the_patient_as_needing_attention(
    broken: tuple[CaseStore, str],
) -> None:
    store, item = broken
    wl = store_worklist(store, today=TODAY)
    mine = wl[wl["patient_id"] == "bad-1"]
    assert list(mine["kind"]) == ["record-unreadable"] and list(mine["urgency"]) == ["urgent"]
    assert mine["name"].iloc[0] == "Sam Doe" and item in mine["detail"].iloc[0]
    assert {"ok-1", "ok-2", "ok-3"} <= set(wl["patient_id"])
    out = store_outcomes(store)
    assert list(out["patient_id"]) == ["ok-1", "ok-2", "ok-3"]
    assert "bad-1" in out.attrs["left_out"] and "caution_confirmations" in out.attrs["left_out"]
    assert out.attrs["left_out"] in out.attrs["caveats"]
    deid = store_outcomes(store, deidentified=True, min_patients=1)
    assert "bad-1" not in deid.attrs["left_out"] and len(deid) == 3


def test_the_clinic_notebook_sections_serve_the_others(broken: tuple[CaseStore, str]) -> None:
    store, _ = broken
    session = ClinicSession(store, ClinicFilter(), notebooks_dir="cases", today=TODAY)
    html = worklist_section(session).value
    assert "record-unreadable" in html or "Record cannot be read" in html
    assert "Pat 1" in html and "Sam Doe" in html
    assert "left out because a stored record cannot be read" in outcomes_section(session).value


def test_the_cli_lists_the_patient_and_exits_0(
    broken: tuple[CaseStore, str], db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--db", db_url, "worklist", "--format", "csv", "--today", TODAY.isoformat()]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {r["patient_id"] for r in rows if r["kind"] == "record-unreadable"} == {"bad-1"}
    assert {"ok-1", "ok-2", "ok-3"} <= {r["patient_id"] for r in rows}
    assert main(["--db", db_url, "outcomes", "--format", "csv"]) == 0
    captured = capsys.readouterr()
    assert "bad-1" in captured.err and BAD_VALUE not in captured.err
    assert [r["patient_id"] for r in csv.DictReader(io.StringIO(captured.out))] == [
        "ok-1",
        "ok-2",
        "ok-3",
    ]
    assert main(["--db", db_url, "outcomes"]) == 0
    assert "left out because a stored record cannot be read" in capsys.readouterr().out
    assert main(["--db", db_url, "show", "bad-1"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "caution_confirmations" in err and BAD_VALUE not in err


def test_the_batch_builds_everyone_else_and_names_the_reason(
    sqlite_store: CaseStore, sqlite_url: str, tmp_path: Path
) -> None:
    """The clinic notebook and the other patients' notebooks are built; the patient's own
    notebooks fail with the reason, and no stored value is in the report."""
    import_cases(
        sqlite_store,
        [
            make_case("ok-1", [V(80, 20), V(10, 12)], name="Pat 1", plan=PLAN, results=CRP),
            make_case("bad-1", [V(80, 20), V(10, 30)], name="Sam Doe", plan=PLAN),
        ],
    )
    _break_a_plan_item(sqlite_store, "bad-1")
    report = run_batch(BatchOptions(sqlite_url, out=tmp_path, workers=1), progress=False)
    status = {f"{o.patient_id}/{o.notebook}": o.status for o in report.outcomes}
    assert status == {
        "(clinic)/clinic.ipynb": "built",
        "ok-1/Pat-1-ok-1.ipynb": "built",
        "ok-1/dashboard.ipynb": "built",
        "bad-1/Sam-Doe-bad-1.ipynb": "failed",
        "bad-1/dashboard.ipynb": "failed",
    }, report.summary_text()
    text = report.summary_text()
    assert "UnreadableRecordError" in text and "caution_confirmations" in text
    assert BAD_VALUE not in text and BAD_VALUE not in json.dumps(report.to_dict())
    clinic = (tmp_path / "clinic.ipynb").read_text(encoding="utf-8")
    assert "record-unreadable" in clinic or "Record cannot be read" in clinic
