"""`casebook checkin import FILE`: a submitted check-in back from its FHIR bundle, all or
nothing, once."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from casebook.checkins import CheckinInputError, form_sections, import_bundle, submit
from casebook.cli import main
from casebook.interop.fhir_checkins import CheckinFhirError, checkin_to_bundle
from casebook.models import Patient
from casebook.serve.checkin_links import send_checkin
from casebook.store import CaseStore
from casebook.store.checkins import StoredCheckin

INSTRUMENTS = ["phq9", "symptoms"]


def _person(store: CaseStore, pid: str = "p1") -> None:
    store.add_patient(Patient(id=pid, name="Test Person", birth_date=date(1980, 1, 1)))


def _submitted(store: CaseStore) -> StoredCheckin:
    """A check-in submitted in `store` with PHQ-9 item 9 above 0 and free text."""
    _person(store)
    _, checkin = send_checkin(store, "p1", INSTRUMENTS)
    fields = [
        (q.name, "1" if q.name.startswith("phq9.") else q.options[0][0])
        for s in form_sections(store.catalog, INSTRUMENTS)
        for q in s.questions
    ]
    fields.append(("free_text", "<b>as typed</b>"))
    return submit(store, "l", checkin, fields, now=datetime.now(UTC)).checkin


@pytest.fixture
def source(tmp_path: Path) -> Iterator[CaseStore]:
    """Another store (SQLite) where the check-in was sent and submitted."""
    s = CaseStore(f"sqlite:///{tmp_path / 'source.db'}", create=True, actor="tester")
    yield s
    s.close()


def _written(store: CaseStore, pid: str = "p1") -> tuple[int, int, int]:
    """(check-ins, visits, audit entries) of the patient: what an import would add to."""
    return len(store.checkins(pid)), len(store.load_case(pid).visits), len(store.audit_log(pid))


def test_export_then_import_into_a_fresh_store_and_again(
    source: CaseStore,
    store: CaseStore,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    done = _submitted(source)
    bundle = tmp_path / "checkin.json"
    assert main(["--db", source.url, "checkin", "export", done.id]) == 0
    bundle.write_text(capsys.readouterr().out, encoding="utf-8")
    _person(store)  # the clinic's other store knows the patient, not the check-in
    argv = ["--db", store.url, "--actor", "dr-import", "checkin", "import", str(bundle)]
    assert main(argv) == 0
    assert f"imported check-in {done.id} for p1 (phq9, symptoms): to review" in (
        capsys.readouterr().out
    )
    (back,) = store.checkins(status="submitted")
    assert (back.id, back.instruments, back.answers) == (done.id, done.instruments, done.answers)
    assert back.free_text == "<b>as typed</b>" and back.submitted_at == done.submitted_at
    case = store.load_case("p1")
    (visit,) = case.visits
    assert visit.kind == "check-in" and visit.id == back.visit_id
    assert [r.instrument for r in case.instruments] == ["phq9"]
    assert case.instruments[0].answers == {str(i): 1 for i in range(1, 10)}
    assert len(case.symptoms) == len(store.catalog.symptoms)
    (entry,) = [e for e in store.audit_log("p1") if e.action == "import"]
    assert entry.actor == "dr-import" and entry.after["reported_by"] == "patient"
    assert store.find_link(back.token_hash) is not None
    assert store.find_link(back.token_hash).ended  # type: ignore[union-attr]  # just found

    before = _written(store)
    assert main(argv) == 0  # again: nothing new
    assert "already in the store: nothing imported" in capsys.readouterr().out
    assert _written(store) == before


def _entry(bundle: dict[str, Any], index: int) -> dict[str, Any]:
    return bundle["entry"][index]["resource"]  # type: ignore[no-any-return]  # JSON


def _set(path: Callable[[dict[str, Any]], dict[str, Any]], key: str, value: Any) -> Any:
    def change(bundle: dict[str, Any]) -> None:
        path(bundle)[key] = value

    return change


_BAD: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    (
        "a draft",
        _set(lambda b: _entry(b, 1), "status", "in-progress"),
        r"entry\[1\] QuestionnaireResponse: status: 'in-progress': only a submitted",
    ),
    (
        "no time",
        lambda b: _entry(b, 1).pop("authored"),
        r"entry\[1\] QuestionnaireResponse: authored: needs the time",
    ),
    (
        "an answer not offered",
        lambda b: _entry(b, 1)["item"][0]["answer"][0]["valueCoding"].update(code="7"),
        r"phq9\.1: not one of the answers offered",
    ),
    (
        "a question left out",
        lambda b: _entry(b, 1)["item"].pop(),
        r"phq9\.9: please answer every question",
    ),
    (
        "two answers",
        lambda b: _entry(b, 1)["item"][0]["answer"].append({"valueCoding": {"code": "1"}}),
        r"entry\[1\] QuestionnaireResponse: item 1: needs exactly one answer",
    ),
    (
        "another instrument",
        _set(lambda b: _entry(b, 1), "questionnaire", "urn:casebook:instrument:nope"),
        r"entry\[1\] QuestionnaireResponse: questionnaire: unknown instrument 'nope'",
    ),
    (
        "two check-ins",
        lambda b: _entry(b, 3)["identifier"].update(value="0" * 32),
        r"bundle: identifier: the responses name more than one check-in",
    ),
    ("not a bundle", lambda b: b.update(resourceType="Patient"), r"bundle: resourceType"),
    ("not FHIR", lambda b: b.update(entry={"not": "a list"}), r"bundle: entry"),
]


@pytest.mark.parametrize(("change", "message"), [b[1:] for b in _BAD], ids=[b[0] for b in _BAD])
def test_a_malformed_bundle_is_refused_whole(
    store: CaseStore, change: Callable[[dict[str, Any]], None], message: str
) -> None:
    bundle = checkin_to_bundle(_submitted(store), store.catalog)
    _person(store, "p2")  # imported into another patient's record, were it read
    for entry in bundle["entry"]:
        subject = entry["resource"].get("subject")
        if subject:
            subject["identifier"]["value"] = "p2"
    for entry in bundle["entry"]:
        if "identifier" in entry["resource"]:
            entry["resource"]["identifier"]["value"] = "f" * 32  # a check-in new to the store
    bad = copy.deepcopy(bundle)
    change(bad)
    with pytest.raises((CheckinFhirError, CheckinInputError), match=message):
        import_bundle(store, bad)
    assert _written(store, "p2") == (0, 0, 1)  # the patient's creation, nothing more
    stored, new = import_bundle(store, bundle)  # the same bundle unchanged goes in
    assert new and stored.patient_id == "p2"


def test_a_bundle_of_an_unknown_patient_writes_nothing(
    source: CaseStore, store: CaseStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = tmp_path / "checkin.json"
    bundle.write_text(json.dumps(checkin_to_bundle(_submitted(source), store.catalog)))
    assert main(["--db", store.url, "checkin", "import", str(bundle)]) == 1
    err = capsys.readouterr().err
    assert "bundle: subject: no patient 'p1' in this store" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert store.checkins(status="submitted") == []
    assert store.patients() == []


def test_a_check_in_id_of_another_patient_is_refused(store: CaseStore) -> None:
    done = _submitted(store)
    bundle = checkin_to_bundle(done, store.catalog)
    _person(store, "p2")
    for entry in bundle["entry"]:
        if entry["resource"].get("subject"):
            entry["resource"]["subject"]["identifier"]["value"] = "p2"
    with pytest.raises(Exception, match=f"check-in '{done.id}' is another patient's"):
        import_bundle(store, bundle)
    assert _written(store, "p2") == (0, 0, 1)


def test_a_file_that_is_not_json_is_one_line(
    store: CaseStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bundle.json"
    bad.write_text('{"resourceType": "Bundle",\n', encoding="utf-8")
    assert main(["--db", store.url, "checkin", "import", str(bad)]) == 1
    assert f"import: {bad} is not JSON (line 2)" in capsys.readouterr().err
    assert main(["--db", store.url, "checkin", "import", str(tmp_path / "none.json")]) == 1
    assert "import: no file" in capsys.readouterr().err
