"""A check-in as FHIR Questionnaire + QuestionnaireResponse, and back."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from casebook.checkins import form_sections, parse_answers, save_draft, submit
from casebook.interop.fhir_checkins import CheckinFhirError, checkin_from_bundle, checkin_to_bundle
from casebook.models import Patient
from casebook.serve.checkin_links import send_checkin
from casebook.store import CaseStore

INSTRUMENTS = ["phq9", "gad7", "symptoms", "bristol"]


def _fields(store: CaseStore) -> list[tuple[str, str]]:
    return [
        (q.name, q.options[1][0])
        for s in form_sections(store.catalog, INSTRUMENTS)
        for q in s.questions
    ]


def test_a_submitted_checkin_round_trips(sqlite_store: CaseStore) -> None:
    store = sqlite_store
    store.add_patient(Patient(id="p1", name="Test Person", birth_date=date(1980, 1, 1)))
    _, checkin = send_checkin(store, "p1", INSTRUMENTS)
    fields = [*_fields(store), ("free_text", "<i>as typed</i>")]
    done = submit(store, "l", checkin, fields, now=datetime.now(UTC)).checkin
    bundle = checkin_to_bundle(done, store.catalog)
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds.count("Questionnaire") == 5 and kinds.count("QuestionnaireResponse") == 5
    codes = {
        e["resource"]["url"]: e["resource"].get("code", [{}])[0].get("code")
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Questionnaire"
    }
    assert codes["urn:casebook:instrument:phq9"] == "44249-1"
    assert codes["urn:casebook:instrument:gad7"] == "69737-5"
    qr = bundle["entry"][1]["resource"]
    assert qr["status"] == "completed" and qr["author"]["identifier"]["value"] == "p1"
    patient_id, back = checkin_from_bundle(bundle, store.catalog)
    assert patient_id == "p1"
    again = parse_answers(store.catalog, INSTRUMENTS, back, complete=True)
    assert again.answers == done.answers and again.free_text == "<i>as typed</i>"


def test_a_draft_exports_in_progress(sqlite_store: CaseStore) -> None:
    store = sqlite_store
    store.add_patient(Patient(id="p1", name="Test Person", birth_date=date(1980, 1, 1)))
    _, checkin = send_checkin(store, "p1", ["phq9"])
    draft = save_draft(store, "l", checkin, [("phq9.1", "3")], now=datetime.now(UTC))
    bundle = checkin_to_bundle(draft, store.catalog)
    qr = bundle["entry"][1]["resource"]
    assert (
        qr["status"] == "in-progress" and qr["item"][0]["answer"][0]["valueCoding"]["code"] == "3"
    )


def test_a_bad_bundle_is_refused_in_one_line(sqlite_store: CaseStore) -> None:
    with pytest.raises(CheckinFhirError, match="exactly one patient"):
        checkin_from_bundle({"resourceType": "Bundle", "type": "collection"}, sqlite_store.catalog)
    bad = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": {
                    "resourceType": "QuestionnaireResponse",
                    "status": "completed",
                    "questionnaire": "urn:casebook:instrument:nope",
                }
            }
        ],
    }
    with pytest.raises(CheckinFhirError, match="unknown instrument 'nope'"):
        checkin_from_bundle(bad, sqlite_store.catalog)
