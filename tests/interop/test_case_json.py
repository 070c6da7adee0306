"""The case JSON format: lossless export/import, idempotence, --replace, bad files."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from casebook.cli import main
from casebook.interop import CaseFileError, case_from_json, case_to_json
from casebook.interop.case_json import FORMAT
from casebook.models import Case, Note
from casebook.store import CaseStore, StoreError, import_case

PID = "demo-0001"


@pytest.fixture
def exported(demo_cases: list[Case], tmp_path: Path) -> str:
    """The alarm demo case as `casebook export --format json` writes it (from its own store)."""
    with CaseStore(f"sqlite:///{tmp_path / 'source.db'}", create=True, actor="source") as src:
        assert import_case(src, demo_cases[0]) == "created"
        return case_to_json(src.load_case(PID))


def without_last_visit(case: Case) -> tuple[Case, set[str]]:
    """A copy of `case` without its last visit and everything hanging off it."""
    data = case.model_dump()
    gone_visit = case.sorted_visits()[-1].id
    removed = {gone_visit}
    data["visits"] = [v for v in data["visits"] if v["id"] != gone_visit]
    for coll in ("symptoms", "instruments", "notes", "orders"):
        removed |= {r["id"] for r in data[coll] if r.get("visit_id") == gone_visit}
        data[coll] = [r for r in data[coll] if r.get("visit_id") != gone_visit]
    removed |= {r["id"] for r in data["results"] if r["order_id"] in removed}
    data["results"] = [r for r in data["results"] if r["order_id"] not in removed]
    return Case.model_validate(data), removed


def test_export_import_export_is_byte_identical(store: CaseStore, exported: str) -> None:
    case = case_from_json(exported)
    assert import_case(store, case) == "created"

    again = case_to_json(store.load_case(PID))

    assert again == exported
    assert json.loads(exported)["format"] == FORMAT
    assert store.load_case(PID) == case


def test_export_is_the_whole_case(exported: str, demo_cases: list[Case]) -> None:
    payload = json.loads(exported)["case"]
    source = demo_cases[0]
    assert payload["patient"]["id"] == PID
    for coll in (
        "visits",
        "history",
        "symptoms",
        "instruments",
        "orders",
        "results",
        "plan",
        "notes",
    ):
        assert sorted(r["id"] for r in payload[coll]) == sorted(
            r.id for r in getattr(source, coll)
        ), coll
    # derived fields are written as the store computed them: the catalog range and flag
    [hb] = [r for r in payload["results"] if r["test"] == "hemoglobin"]
    assert (hb["value"], hb["unit"], hb["ref_low"], hb["ref_high"], hb["flag"]) == (
        10.4,
        "g/dL",
        12.0,
        None,
        "L",
    )


def test_same_case_twice_is_unchanged(store: CaseStore, exported: str) -> None:
    case = case_from_json(exported)
    assert import_case(store, case) == "created"
    audit_len = len(store.audit_log(PID))
    version = store.get_patient(PID).record_version

    assert import_case(store, case) == "unchanged"
    assert import_case(store, case, replace=True) == "unchanged"

    assert len(store.audit_log(PID)) == audit_len
    assert store.get_patient(PID).record_version == version


def test_different_case_needs_replace(store: CaseStore, exported: str) -> None:
    original = case_from_json(exported)
    import_case(store, original)
    smaller, removed = without_last_visit(store.load_case(PID))
    note = Note(patient_id=PID, written_on=original.visits[0].visit_date, text="Added later.")
    changed = smaller.model_copy(
        update={
            "patient": smaller.patient.model_copy(update={"name": "Renamed Person"}),
            "notes": [*smaller.notes, note],
        }
    )
    audit_len = len(store.audit_log(PID))

    with pytest.raises(StoreError, match="already exists with a different record; use --replace"):
        import_case(store, changed)
    assert store.load_case(PID) == original
    assert len(store.audit_log(PID)) == audit_len

    assert import_case(store, changed, replace=True) == "replaced"

    now = store.load_case(PID)
    assert now.patient.name == "Renamed Person"
    assert len(now.visits) == len(original.visits) - 1
    for coll in ("visits", "symptoms", "instruments", "orders", "results"):
        ids = {r.id for r in getattr(now, coll)}
        assert ids == {r.id for r in getattr(changed, coll)}, coll
        assert not ids & removed, coll
    assert note.id in {n.id for n in now.notes}
    deleted = {e.entity_id: e for e in store.audit_log(PID)[audit_len:] if e.action == "delete"}
    assert set(deleted) == removed
    assert all(e.before is not None and e.after is None for e in deleted.values())
    assert store.get_patient(PID).record_version > original.patient.record_version
    assert import_case(store, changed) == "unchanged"


def test_record_ids_of_another_patient_are_refused(store: CaseStore, exported: str) -> None:
    case = case_from_json(exported)
    import_case(store, case)
    clone = json.loads(exported)
    clone["case"]["patient"]["id"] = "clone"
    for coll, records in clone["case"].items():
        if coll != "patient":
            for rec in records:
                rec["patient_id"] = "clone"

    with pytest.raises(StoreError, match="already exists in this store"):
        import_case(store, case_from_json(json.dumps(clone)))

    assert [p.id for p in store.patients()] == [PID]  # the whole import was rolled back
    assert store.audit_log("clone") == []


def _break(exported: str, change: Any) -> str:
    payload = json.loads(exported)
    change(payload)
    return json.dumps(payload)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda p: p["case"]["visits"][0].update(visit_date="2024-02-30"),
            "case.visits[0].visit_date: ",
        ),
        (lambda p: p["case"]["symptoms"][3].update(severity=9), "case.symptoms[3].severity: "),
        (lambda p: p["case"]["patient"].update(id="../etc"), "case.patient.id: "),
        (lambda p: p["case"]["visits"][1].update(surprise=1), "case.visits[1].surprise: "),
        (lambda p: p["case"]["results"][0].update(order_id="f" * 32), "results[0]: order_id"),
    ],
)
def test_invalid_field_is_named_by_its_path(exported: str, mutate: Any, expected: str) -> None:
    with pytest.raises(CaseFileError) as caught:
        case_from_json(_break(exported, mutate), "c.json")
    assert str(caught.value).startswith("c.json: 1 invalid field(s), nothing was imported:")
    assert expected in str(caught.value)


def test_not_json_and_wrong_format_are_refused() -> None:
    with pytest.raises(CaseFileError, match=r"^x.json: not JSON \(line 1, column 1"):
        case_from_json("<html>", "x.json")
    with pytest.raises(CaseFileError, match=r"format: expected 'casebook\.case/1', found 'fhir'"):
        case_from_json(json.dumps({"format": "fhir", "case": {}}))
    with pytest.raises(CaseFileError, match=r"format: expected 'casebook\.case/1', found 'list'"):
        case_from_json("[]")
    with pytest.raises(CaseFileError, match="found None"):
        case_from_json("{}")
    with pytest.raises(CaseFileError, match="case: Input should be a valid dictionary"):
        case_from_json(json.dumps({"format": FORMAT}))


def test_cli_import_case_from_stdin_and_export(
    db_url: str,
    exported: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--db", db_url, "init"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO(exported))
    capsys.readouterr()

    assert main(["--db", db_url, "import", "case", "-"]) == 0
    assert capsys.readouterr().out == f"case {PID}: created\n"

    assert main(["--db", db_url, "export", PID, "--format", "json"]) == 0
    assert capsys.readouterr().out == exported


def test_cli_import_case_file_replace_and_errors(
    sqlite_url: str, exported: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["--db", sqlite_url, "init"])
    path = tmp_path / "case.json"
    path.write_text(exported, encoding="utf-8")
    assert main(["--db", sqlite_url, "import", "case", str(path)]) == 0
    assert main(["--db", sqlite_url, "import", "case", str(path)]) == 0
    assert capsys.readouterr().out.endswith(f"case {PID}: unchanged\n")

    with CaseStore(sqlite_url) as s:
        smaller, _ = without_last_visit(s.load_case(PID))
    path.write_text(case_to_json(smaller), encoding="utf-8")
    assert main(["--db", sqlite_url, "import", "case", str(path)]) == 1
    assert "use --replace" in capsys.readouterr().err
    assert main(["--db", sqlite_url, "import", "case", str(path), "--replace"]) == 0
    assert capsys.readouterr().out == f"case {PID}: replaced\n"

    bad = tmp_path / "bad.json"
    bad.write_text(
        _break(exported, lambda p: p["case"]["visits"][0].update(visit_date="x")), encoding="utf-8"
    )
    assert main(["--db", sqlite_url, "import", "case", str(bad)]) == 1
    assert "case.visits[0].visit_date" in capsys.readouterr().err
    assert main(["--db", sqlite_url, "import", "case", str(tmp_path / "none.json")]) == 1
    assert "none.json: no such file" in capsys.readouterr().err
