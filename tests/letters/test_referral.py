"""The referral letter: every section in the PDF, literal strings, chosen notes only,
clear errors, and the same bytes for the same record version."""

from __future__ import annotations

import io
import socket

import pytest
from letters_helpers import TODAY, XSS, pdf_text
from pypdf import PdfReader

from casebook.catalog import Catalog
from casebook.clinical.red_flags import red_flags
from casebook.letters import ClinicSettings, Letter, LetterError, referral_letter, to_pdf
from casebook.models import Case, Note
from casebook.store import CaseStore, import_cases

TO = "Dr B. Example\nGastroenterology\nExample Hospital"


@pytest.fixture(scope="module")
def letter(alarm_case: Case, catalog: Catalog, settings: ClinicSettings) -> Letter:
    practitioner_note = next(n for n in alarm_case.notes if n.visibility == "practitioner")
    return referral_letter(
        alarm_case,
        catalog,
        settings,
        to=TO,
        on=TODAY,
        question="Is a colonoscopy indicated?",
        include_notes=[practitioner_note.id],
    )


@pytest.fixture(scope="module")
def pdf(letter: Letter) -> bytes:
    return to_pdf(letter)


def test_every_section_is_in_the_pdf(
    letter: Letter, pdf: bytes, alarm_case: Case, catalog: Catalog
) -> None:
    text = pdf_text(pdf)
    flags = red_flags(
        alarm_case, catalog.red_flags, catalog.instruments, catalog.tests, today=TODAY
    )
    assert {f.key for f in flags} >= {"unintentional_weight_loss", "anemia"}
    expected = [
        # letterhead and recipient
        "Example Digestive Health Clinic",
        "1 Example Street",
        "Telephone 000 0000 0000",
        "Dr B. Example",
        "Gastroenterology",
        "Example Hospital",
        "1 June 2025",
        # patient identifiers
        alarm_case.patient.name,
        alarm_case.patient.id,
        f"{alarm_case.patient.birth_date.day} {alarm_case.patient.birth_date:%B %Y}",
        # reason: every red flag with its evidence and source
        "Reason for referral",
        *[f.label for f in flags],
        "Hemoglobin 10.4 g/dL on 2024-09-19 is below 12 (the catalog's default, female)",
        "Source: Snook J et al. BSG guidelines",
        # history
        "Relevant history",
        "Celiac disease (suspected)",
        "Giardia (parasitic",
        "treated with metronidazole",
        "Colorectal cancer in a sibling, onset at 52",
        # medications and supplements with doses
        "Omeprazole",
        "20 mg daily",
        "Saccharomyces boulardii",
        "250 mg",
        "twice daily",
        # results with ranges and flags, scores with bands
        "Recent results",
        "Hemoglobin",
        "10.4 g/dL",
        "≥ 12",
        "L (low)",
        "Questionnaire scores",
        "Patient Health Questionnaire-9 (PHQ-9)",
        "minimal",
        # chosen note, question, signature, footer
        "Synthetic demo case.",
        "Question for the specialist",
        "Is a colonoscopy indicated?",
        "A. Example, ND",
        "Page 1 of",
    ]
    missing = [s for s in expected if s not in text]
    assert not missing, f"not in the PDF text: {missing}"
    assert "Stoppedcillin" not in text  # a medication that ended is not current
    assert "RATIONALE-FOR-PRACTITIONER" not in text


def test_letter_records_what_it_was_made_from(letter: Letter, alarm_case: Case) -> None:
    assert letter.kind == "referral"
    assert letter.recipient == TO
    assert letter.date == TODAY
    assert letter.patient_id == alarm_case.patient.id
    assert letter.record_version == alarm_case.patient.record_version
    assert len(letter.content_hash) == 64
    assert letter.filename == "demo-0001-referral-2025-06-01.pdf"
    # the HTML version carries the print stylesheet the PDF is laid out with
    assert "size: A4" in letter.html and 'counter(page) " of " counter(pages)' in letter.html


def test_pdf_is_tagged_and_dated_by_the_letter(pdf: bytes) -> None:
    reader = PdfReader(io.BytesIO(pdf))
    root = reader.trailer["/Root"]
    assert root["/MarkInfo"]["/Marked"].value is True
    assert "/StructTreeRoot" in root
    assert root["/Lang"] == "en"
    assert reader.metadata is not None
    assert reader.metadata["/CreationDate"].startswith("D:20250601")
    assert reader.metadata["/Title"].startswith("Referral letter: ")


def test_same_record_version_gives_the_same_bytes(
    tmp_path,
    alarm_case: Case,
    catalog: Catalog,
    settings: ClinicSettings,
    letter: Letter,
    pdf: bytes,
) -> None:
    with CaseStore(f"sqlite:///{tmp_path / 'c.db'}", create=True, actor="test") as store:
        import_cases(store, [alarm_case])
        first, second = (store.load_case(alarm_case.patient.id) for _ in range(2))
    made = [
        referral_letter(c, catalog, settings, to=TO, on=TODAY, question="Q?")
        for c in (first, second)
    ]
    assert made[0].record_version == first.patient.record_version >= 1
    assert made[0].content_hash == made[1].content_hash
    assert to_pdf(made[0]) == to_pdf(made[1])
    assert to_pdf(letter) == pdf  # the module's letter, rendered again


def test_strings_from_people_print_literally(
    alarm_case: Case, catalog: Catalog, settings: ClinicSettings
) -> None:
    patient = alarm_case.patient.model_copy(update={"name": XSS})
    case = alarm_case.model_copy(update={"patient": patient})
    evil = ClinicSettings(name=XSS, practitioner=XSS)
    letter = referral_letter(case, catalog, evil, to=XSS, reason=XSS, question=XSS, on=TODAY)
    assert "<img" not in letter.html
    assert "&lt;img src=x onerror=alert(1)&gt;" in letter.html
    text = pdf_text(to_pdf(letter))
    assert text.count(XSS) >= 6  # letterhead, recipient, subject, patient, reason, question


def test_notes_are_left_out_unless_chosen(
    alarm_case: Case, catalog: Catalog, settings: ClinicSettings
) -> None:
    private = Note(patient_id=alarm_case.patient.id, written_on=TODAY, text="PRIVATE-ONE")
    other = Note(patient_id=alarm_case.patient.id, written_on=TODAY, text="PRIVATE-TWO")
    case = alarm_case.model_copy(update={"notes": [*alarm_case.notes, private, other]})
    plain = referral_letter(case, catalog, settings, to="Dr X", on=TODAY)
    assert "Clinical notes" not in plain.html
    assert all(n.text not in plain.html for n in case.notes)
    chosen = referral_letter(
        case, catalog, settings, to="Dr X", on=TODAY, include_notes=[private.id]
    )
    assert "PRIVATE-ONE" in chosen.html and "PRIVATE-TWO" not in chosen.html


def test_only_the_chosen_flags_are_the_reason(
    alarm_case: Case, catalog: Catalog, settings: ClinicSettings
) -> None:
    letter = referral_letter(
        alarm_case, catalog, settings, to="Dr X", on=TODAY, flags=["anemia"], reason="Typed reason."
    )
    reason = letter.html.split('id="h-complaint"')[0]  # the alarm screen lists it later
    assert "Anemia (low hemoglobin)" in reason
    assert "Unintentional weight loss" not in reason
    assert "Typed reason." in letter.html


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"to": "  "}, "to:"),
        ({"to": "Dr X", "flags": ["no_such_rule"]}, "flag 'no_such_rule': no red-flag rule"),
        ({"to": "Dr X", "flags": ["gi_bleeding"]}, "flag 'gi_bleeding': this red flag is not"),
        ({"to": "Dr X", "include_notes": ["f" * 32]}, "include_notes:"),
    ],
)
def test_bad_requests_are_one_line(
    alarm_case: Case, catalog: Catalog, settings: ClinicSettings, kwargs: dict, field: str
) -> None:
    with pytest.raises(LetterError) as caught:
        referral_letter(alarm_case, catalog, settings, on=TODAY, **kwargs)
    message = str(caught.value)
    assert message.startswith(field) and "\n" not in message
    assert alarm_case.patient.name not in message


def test_no_flag_and_no_reason_is_refused(
    catalog: Catalog, settings: ClinicSettings, alarm_case: Case
) -> None:
    calm = alarm_case.model_copy(
        update={
            "visits": [],
            "symptoms": [],
            "instruments": [],
            "results": [],
            "history": [],
            "orders": [],
            "notes": [],
        }
    )
    with pytest.raises(LetterError, match=r"^reason: no red flag is raised"):
        referral_letter(calm, catalog, settings, to="Dr X", on=TODAY)
    assert (
        "Typed."
        in referral_letter(calm, catalog, settings, to="Dr X", on=TODAY, reason="Typed.").html
    )


def test_the_pdf_never_reaches_the_network(letter: Letter) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.setblocking(False)
        port = listener.getsockname()[1]
        page = letter.html.replace(
            "</body>", f'<img src="http://127.0.0.1:{port}/x.png" alt="x"></body>'
        )
        hostile = Letter(
            letter.kind,
            letter.patient_id,
            letter.recipient,
            letter.date,
            letter.title,
            page,
            letter.content_hash,
            letter.record_version,
        )
        assert to_pdf(hostile).startswith(b"%PDF")
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody connected


def test_an_overridden_contraindication_shows_beside_the_supplement(
    alarm_case: Case, catalog: Catalog, settings: ClinicSettings
) -> None:
    from casebook.models import CautionConfirmation, HistoryEntry, SafetyFacts

    pid = alarm_case.patient.id
    boulardii = next(i for i in alarm_case.plan if i.name == "Saccharomyces boulardii")
    override = CautionConfirmation(
        key="saccharomyces_boulardii.immunocompromised",
        reason="Transplant team reviewed and agreed a short supervised course",
        advised_by="Dr T, transplant physician",
        on=TODAY,
    )
    plan = [
        i.model_copy(update={"caution_confirmations": [override]}) if i is boulardii else i
        for i in alarm_case.plan
    ]
    fact = HistoryEntry(patient_id=pid, data=SafetyFacts(recorded_on=TODAY, immunosuppressed=True))
    case = alarm_case.model_copy(update={"plan": plan, "history": [*alarm_case.history, fact]})
    html = referral_letter(case, catalog, settings, to=TO, on=TODAY).html
    assert "Contraindication overridden" in html
    assert "Dr T, transplant physician" in html
    plain = referral_letter(alarm_case, catalog, settings, to=TO, on=TODAY).html
    assert "Contraindication overridden" not in plain
