"""Letters kept with the case: stored, audited without the PDF body, listed, exported to
JSON and FHIR and back, and the same record version gives the same letter."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from letters_helpers import TODAY

from casebook.catalog import Catalog
from casebook.cli._report import case_text
from casebook.interop import case_from_json, case_to_json
from casebook.interop.fhir_export import bundle_to_json
from casebook.interop.fhir_import import FhirImportError, bundle_from_json
from casebook.letters import ClinicSettings, referral_letter, save_letter
from casebook.models import Case, LetterRecord
from casebook.store import CaseStore, StoreError, import_case


@pytest.fixture
def kept(
    store: CaseStore, alarm_case: Case, catalog: Catalog, settings: ClinicSettings, tmp_path
) -> tuple[CaseStore, LetterRecord]:
    import_case(store, alarm_case)
    case = store.load_case(alarm_case.patient.id)
    letter = referral_letter(
        case, catalog, settings, to="Dr B. Example\nGastroenterology", on=TODAY
    )
    record, path = save_letter(store, letter, tmp_path / "out" / "referral.pdf")
    assert path is not None and path.read_bytes() == record.pdf
    return store, record


def test_a_letter_is_kept_with_its_case_and_audited_once_without_the_pdf(kept) -> None:
    store, record = kept
    pid = record.patient_id
    assert record.version == 1 and record.created_by == "tester" and record.created_at
    assert record.pdf.startswith(b"%PDF-")
    assert store.letters(pid) == [record]
    assert store.latest_letter(pid, "referral") == record
    assert store.latest_letter(pid, "after_visit_summary") is None
    assert store.load_case(pid).letters == [record]
    entries = [e for e in store.audit_log(pid) if e.entity == "letter"]
    assert [(e.action, e.entity_id) for e in entries] == [("create", record.id)]
    assert entries[0].after is not None and "pdf" not in entries[0].after
    assert entries[0].after["content_hash"] == record.content_hash
    assert store.verify_audit_log().broken_id is None


def test_the_same_record_version_gives_the_same_letter(kept, catalog, settings) -> None:
    store, record = kept
    case = store.load_case(record.patient_id)
    assert case.patient.record_version == record.record_version  # saving it changed nothing
    again = referral_letter(case, catalog, settings, to="Dr B. Example\nGastroenterology", on=TODAY)
    assert (again.content_hash, again.record_version) == (
        record.content_hash,
        record.record_version,
    )


def test_a_letter_is_never_edited(kept) -> None:
    store, record = kept
    with pytest.raises(StoreError, match="never edited"):
        store.save(record.model_copy(update={"recipient": "someone else"}))
    with pytest.raises(StoreError, match="never edited"):
        store.save_letter(record)


def test_show_lists_the_letters(kept, catalog) -> None:
    store, record = kept
    text = case_text(store.load_case(record.patient_id), catalog, today=TODAY)
    listing = text.split("letters:", 1)[1]
    assert "2025-06-01  referral  Dr B. Example" in listing
    assert record.content_hash[:12] in listing


def test_json_export_carries_the_pdf_and_imports_it_back(kept, tmp_path) -> None:
    store, record = kept
    text = case_to_json(store.load_case(record.patient_id))
    letter = json.loads(text)["case"]["letters"][0]
    assert base64.b64decode(letter["pdf"]) == record.pdf
    assert letter["content_hash"] == record.content_hash
    with CaseStore(f"sqlite:///{tmp_path / 'other.db'}", create=True, actor="t") as other:
        assert import_case(other, case_from_json(text)) == "created"
        assert other.latest_letter(record.patient_id, "referral") == record
        case_audit = [e for e in other.audit_log(record.patient_id) if e.entity == "case"]
        assert "pdf" not in case_audit[0].after["letters"][0]


def test_a_case_file_with_a_broken_pdf_is_refused(kept) -> None:
    store, record = kept
    payload = json.loads(case_to_json(store.load_case(record.patient_id)))
    payload["case"]["letters"][0]["pdf"] = "not base64!"
    with pytest.raises(ValueError, match=r"letters\[0\]\.pdf: .*base64"):
        case_from_json(json.dumps(payload))


def test_fhir_export_is_a_document_reference_that_imports_back(kept, catalog) -> None:
    store, record = kept
    case = store.load_case(record.patient_id)
    text = bundle_to_json(case, catalog)
    docs = [
        e["resource"]
        for e in json.loads(text)["entry"]
        if e["resource"]["resourceType"] == "DocumentReference"
    ]
    assert len(docs) == 1
    attachment = docs[0]["content"][0]["attachment"]
    assert attachment["contentType"] == "application/pdf"
    sha1 = hashlib.sha1(record.pdf, usedforsecurity=False).digest()
    assert attachment["hash"] == base64.b64encode(sha1).decode()
    assert base64.b64decode(attachment["data"]) == record.pdf
    assert attachment["title"] == record.title and attachment["creation"] == "2025-06-01"
    assert docs[0]["type"]["text"] == "Referral letter"
    assert bundle_from_json(text, catalog=catalog).letters == case.letters
    docs[0]["content"][0]["attachment"]["hash"] = base64.b64encode(b"x" * 20).decode()
    bad = json.loads(text)
    for entry in bad["entry"]:
        if entry["resource"]["resourceType"] == "DocumentReference":
            entry["resource"] = docs[0]
    with pytest.raises(FhirImportError, match=r"attachment\.hash: does not match"):
        bundle_from_json(json.dumps(bad), catalog=catalog)
