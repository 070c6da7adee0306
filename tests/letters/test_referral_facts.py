"""What a specialist can act on (issue 19 item 7): presenting complaint with symptom scores,
allergies, safety facts, medicines with their classes written properly, the overall urgency
and the pathway the criteria meet, resolved flags shown with their outcome and not as a
reason. Read from the PDF's text."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from letters_helpers import TODAY, pdf_text

from casebook.catalog import Catalog
from casebook.clinical.flag_lifecycle import flag_statuses
from casebook.clinical.red_flags import red_flags
from casebook.clinical.vocabulary import SEVERITY_WORDS, drug_class_words
from casebook.letters import ClinicSettings, LetterError, referral_letter, to_pdf
from casebook.letters._referral_facts import flag_context
from casebook.models import (
    AlarmScreen,
    Allergy,
    Case,
    FlagReview,
    FoodSensitivity,
    HistoryEntry,
    Medication,
    Patient,
    SafetyFacts,
    Visit,
)

OUTCOME = "Weight stable over 3 months; dietitian review done."


def _review(case: Case, rule: str, at: date, **step: str) -> FlagReview:
    return FlagReview(
        patient_id=case.patient.id,
        rule_key=rule,
        at=datetime(at.year, at.month, at.day, 12, tzinfo=UTC),
        evidence_on=TODAY,
        actor="ann",
        **step,  # type: ignore[arg-type]  # state and its field, checked by pydantic
    )


@pytest.fixture(scope="module")
def case(alarm_case: Case) -> Case:
    pid = alarm_case.patient.id
    extra = [
        FoodSensitivity(food="peanuts", reaction="allergy", severity="severe"),
        Allergy(substance="penicillin", reaction="hives and wheeze", severity="severe"),
        Medication(drug_class="nsaid", name="Ibuprofen", dose="400 mg as needed"),
        SafetyFacts(recorded_on=date(2025, 5, 1), hypertension=True),
    ]
    history = [*alarm_case.history, *(HistoryEntry(patient_id=pid, data=d) for d in extra)]
    reviews = [
        _review(
            alarm_case,
            "unintentional_weight_loss",
            date(2025, 5, 20),
            state="resolved",
            outcome=OUTCOME,
        ),
        # after the letter's date: not yet known when the letter is written
        _review(alarm_case, "anemia", date(2025, 7, 1), state="resolved", outcome="Later."),
    ]
    return alarm_case.model_copy(update={"history": history, "flag_reviews": reviews})


@pytest.fixture(scope="module")
def text(case: Case, catalog: Catalog, settings: ClinicSettings) -> str:
    return pdf_text(to_pdf(referral_letter(case, catalog, settings, to="Dr X", on=TODAY)))


def test_presenting_complaint_with_symptom_scores(text: str, case: Case, catalog: Catalog) -> None:
    last = [v for v in case.sorted_visits() if v.visit_date <= TODAY][-1]
    rated = [r for r in case.symptoms if r.visit_id == last.id and r.severity > 0]
    worst = max(rated, key=lambda r: r.severity)
    label = next(s.label for s in catalog.symptoms if s.key == worst.symptom)
    assert "Presenting complaint" in text
    assert f"{label} {SEVERITY_WORDS[worst.severity]} ({worst.severity}/4)" in text
    total = sum(r.severity for r in case.symptoms if r.visit_id == last.id)
    assert f"symptom inventory total {total} of" in text
    assert "Alarm screen at that visit: yes to Unintentional weight loss" in text
    assert "Patient Health Questionnaire-9 (PHQ-9)" in text and "minimal" in text


def test_no_allergy_recorded_is_said_as_such(
    case: Case, catalog: Catalog, settings: ClinicSettings
) -> None:
    bare = case.model_copy(update={"history": []})
    html = referral_letter(bare, catalog, settings, to="Dr X", on=TODAY, reason="Typed.").html
    assert "Food: none recorded." in html
    assert "Medicines and other substances: none recorded." in html


def test_allergies_and_safety_facts(text: str) -> None:
    assert "Food: peanuts (severe; self report)." in text
    assert "Medicines and other substances: penicillin (hives and wheeze; severe)." in text
    assert "Yes: Hypertension." in text
    assert "Pregnant" in text.split("No:")[1]


def test_medicine_classes_are_written_as_clinicians_write_them(text: str) -> None:
    assert "Ibuprofen NSAID 400 mg as needed" in text
    assert "Proton pump inhibitor" in text
    assert "nsaid" not in text and "proton pump inhibitor" not in text


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("nsaid", "NSAID"),
        ("ssri", "SSRI"),
        ("proton_pump_inhibitor", "Proton pump inhibitor"),
        ("h2_blocker", "H2-receptor antagonist"),
        ("thyroid_hormone", "Thyroid hormone"),
    ],
)
def test_drug_class_words(key: str, words: str) -> None:
    assert drug_class_words(key) == words


def test_overall_urgency_and_the_pathway_met(text: str) -> None:
    assert "Overall urgency: Urgent" in text
    flat = " ".join(text.split())
    assert "Meets NICE NG12 1.3.1: offer FIT first" in flat  # said once, for three rules
    assert flat.count("Meets NICE NG12 1.3.1: offer FIT first") == 1
    assert "Meets NICE NG12 1.2.5: consider an urgent direct-access CT scan" in flat
    assert "this meets NICE suspected-cancer criteria" not in text  # a condition, not met


def test_resolved_flags_are_shown_with_their_outcome_not_as_a_reason(text: str) -> None:
    table, resolved = text.split("Resolved red flags")
    assert "Unintentional weight loss Unintentional" not in table  # not a row of the table
    assert f"resolved by ann on 2025-05-20: {OUTCOME}" in resolved
    assert "Anemia (low hemoglobin)" in table  # resolved only after the letter's date
    assert "Later." not in text


def test_the_overall_urgency_is_the_most_urgent_flag_chosen(
    case: Case, catalog: Catalog, settings: ClinicSettings
) -> None:
    letter = referral_letter(
        case, catalog, settings, to="Dr X", on=TODAY, flags=["family_history_gi"]
    )
    text = pdf_text(to_pdf(letter))
    assert "Overall urgency: Routine" in text
    assert "Meets NICE NG12" not in text


def test_only_resolved_flags_and_no_reason_is_refused(
    case: Case, catalog: Catalog, settings: ClinicSettings
) -> None:
    bare = case.model_copy(update={"results": [], "history": [], "flag_reviews": []})
    # every flag the record raises (the rules, not a list kept here), each resolved
    keys = {f.key for f in red_flags(bare, catalog.red_flags, catalog.instruments, catalog.tests)}
    assert keys, "the alarm case raises flags"
    slim = bare.model_copy(
        update={
            "flag_reviews": [
                _review(case, k, date(2025, 5, 20), state="resolved", outcome="Done.") for k in keys
            ]
        }
    )
    with pytest.raises(LetterError, match=r"^reason: every red flag raised .* is resolved"):
        referral_letter(slim, catalog, settings, to="Dr X", on=TODAY)
    typed = referral_letter(slim, catalog, settings, to="Dr X", on=TODAY, reason="Typed.")
    assert "Typed." in typed.html and "Overall urgency" not in typed.html


def test_a_pathway_met_cites_every_recommendation_its_action_names(catalog: Catalog) -> None:
    """NG12 1.2.1 and 1.2.7 (oesophageal and stomach cancer), said once for the two rules that
    meet them; 1.2.6 for an upper abdominal mass consistent with stomach cancer, and not the
    gall bladder's or liver's recommendation, which that finding does not meet."""
    screen = AlarmScreen(
        dysphagia=True,
        unintentional_weight_loss=True,
        reflux=True,
        mass_consistent_with_stomach_cancer=True,
    )
    patient = Patient(id="p-path", name="Path Way", birth_date=date(1960, 1, 1))
    case = Case(
        patient=patient, visits=[Visit(patient_id="p-path", visit_date=TODAY, screen=screen)]
    )
    flags = red_flags(case, catalog.red_flags, catalog.instruments, catalog.tests)
    assert {"dysphagia", "ng12_endoscopy_55_weight_loss"} <= {f.key for f in flags}
    pathways = flag_context(flag_statuses(flags, [], today=TODAY))["pathways"]
    assert isinstance(pathways, list)
    met = [p for p in pathways if p.startswith("Meets NICE NG12 1.2.1 and 1.2.7: suspected")]
    assert len(met) == 1, pathways
    assert (
        "Meets NICE NG12 1.2.6: consider a suspected cancer pathway referral for stomach "
        "cancer" in pathways
    )
    assert not any("1.2.10" in p or "1.2.11" in p or "gall bladder" in p for p in pathways)
    assert not any(p.startswith("Meets NICE NG12 1.2.1:") for p in pathways)


def test_the_presenting_complaint_is_from_the_latest_visit_held(
    case: Case, catalog: Catalog, settings: ClinicSettings
) -> None:
    """A check-in the patient sent after the latest visit is not "the latest visit", and
    one sent before the first visit is not when the clinic started seeing them."""
    from casebook.format import day
    from casebook.models import SymptomRating

    held = [v for v in case.sorted_visits() if v.visit_date <= TODAY]
    pid = case.patient.id
    before = Visit(patient_id=pid, kind="check-in", visit_date=held[0].visit_date.replace(day=1))
    after = Visit(patient_id=pid, kind="check-in", visit_date=TODAY)
    rating = SymptomRating(patient_id=pid, visit_id=after.id, symptom="bloating", severity=4)
    sent = case.model_copy(
        update={"visits": [*case.visits, before, after], "symptoms": [*case.symptoms, rating]}
    )
    html = referral_letter(sent, catalog, settings, to="Dr X", on=TODAY).html
    assert f"At the latest visit, on {day(held[-1].visit_date)}" in html
    assert f"seen at this clinic since {day(held[0].visit_date)}" in html
    only = Case(patient=case.patient, visits=[after], symptoms=[rating])
    html = referral_letter(only, catalog, settings, to="Dr X", on=TODAY, reason="Typed.").html
    assert f"No visit yet; in the check-in the patient sent on {day(TODAY)}" in html
    assert "Alarm screen at that check-in" in html and "seen at this clinic since" not in html
