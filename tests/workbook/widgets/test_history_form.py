"""The history form: every category of the record can be added, edited and deleted."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from casebook.models import HistoryEntry, Medication
from casebook.store import CaseStore
from casebook.workbook.widgets.history import CATEGORY_TITLES, HISTORY_MODELS, HistoryForm
from casebook.workbook.widgets.session import CaseSession

# What a practitioner types for one entry of each category (widget values).
TYPED: dict[str, dict[str, Any]] = {
    "infection": {
        "kind": "parasitic",
        "name": "Giardia",
        "onset": date(2019, 6, 1),
        "resolved": date(2019, 7, 1),
        "treated_with": "metronidazole",
    },
    "inflammatory_condition": {"condition": "celiac_disease", "status": "ruled_out"},
    "medication": {
        "drug_class": "proton_pump_inhibitor",
        "name": "omeprazole",
        "dose": "20 mg",
        "start": date(2022, 1, 1),
    },
    "diet": {"pattern": "vegetarian", "processed_food": "low", "alcohol": "moderate"},
    "stress": {"level": "high", "sources": "shift work", "sleep_hours": "5.5"},
    "environmental_exposure": {"agent": "mold", "detail": "damp flat"},
    "food_sensitivity": {"food": "peanuts", "reaction": "allergy", "severity": "severe"},
    "family_history": {"relative": "parent", "condition": "ibd", "age_at_onset": "52"},
    "safety": {"recorded_on": date(2024, 3, 1), "pregnant": True, "liver_disease": False},
    "allergy": {"substance": "penicillin", "reaction": "hives", "severity": "moderate"},
}


def test_the_form_covers_every_history_category() -> None:
    assert set(TYPED) == set(HISTORY_MODELS) == set(CATEGORY_TITLES)
    assert set(HISTORY_MODELS) == {
        m.model_fields["category"].default for m in HISTORY_MODELS.values()
    }


@pytest.mark.parametrize("category", sorted(TYPED))
def test_add_edit_delete_each_category(
    category: str, session: CaseSession, sqlite_store: CaseStore
) -> None:
    form = HistoryForm(session)
    form.new_category.value = category
    form.new_button.click()
    fields = form._fields(category)
    for name, value in TYPED[category].items():
        fields[name].value = value
    fields["notes"].value = "told at <intake>"
    assert form.bar.dirty and session.unsaved == ("History",)
    form.bar.save_button.click()
    assert form.bar.message.value == ""
    stored = sqlite_store.load_case(session.patient_id).history
    assert [e.category for e in stored] == [category]
    assert stored[0].notes == "told at <intake>"
    assert "&lt;intake&gt;" in form.listing.get_state()["value"]
    assert session.unsaved == ()

    form.entry.value = stored[0].id
    form.edit_button.click()
    fields["notes"].value = "corrected"
    form.bar.save_button.click()
    edited = sqlite_store.load_case(session.patient_id).history[0]
    assert (edited.notes, edited.version) == ("corrected", 2)

    form.delete_button.click()  # first click asks to confirm
    assert form.delete_button.description == "Confirm delete"
    assert len(sqlite_store.load_case(session.patient_id).history) == 1
    form.delete_button.click()
    assert sqlite_store.load_case(session.patient_id).history == []
    assert "none recorded" in form.listing.value


def test_medications_are_listed_by_class_with_dates(session: CaseSession) -> None:
    entries = [
        HistoryEntry(
            patient_id=session.patient_id,
            data=Medication(drug_class=cls, name=name, start=start, end=end),
        )
        for cls, name, start, end in (
            ("nsaid", "ibuprofen", date(2023, 2, 1), None),
            ("antibiotic", "doxycycline", date(2021, 5, 1), date(2021, 5, 8)),
            ("antibiotic", "amoxicillin", date(2020, 1, 1), date(2020, 1, 7)),
        )
    ]
    session.save(entries)
    form = HistoryForm(session)
    names = [e.data.name for e in form.entries("medication")]  # type: ignore[union-attr]
    assert names == ["amoxicillin", "doxycycline", "ibuprofen"]
    listing = form.listing.value
    assert "start: 2021-05-01 · end: 2021-05-08" in listing
    assert listing.index("amoxicillin") < listing.index("ibuprofen")


def test_a_bad_value_is_shown_beside_its_field_and_not_saved(
    session: CaseSession, sqlite_store: CaseStore
) -> None:
    form = HistoryForm(session)
    form.new("medication")
    fields = form._fields("medication")
    form.bar.save_button.click()
    assert "choose one" in fields["drug_class"].error.value
    assert "at least 1 character" in fields["name"].error.value
    fields["drug_class"].value = "antibiotic"
    fields["name"].value = "amoxicillin"
    fields["start"].value = date(2024, 5, 1)
    fields["end"].value = date(2024, 4, 1)
    form.bar.save_button.click()
    assert "before start date" in fields["end"].error.value
    assert "correct the fields" in form.bar.message.value
    assert sqlite_store.load_case(session.patient_id).history == []
    assert form.bar.dirty
    fields["end"].value = None
    form.bar.save_button.click()
    assert len(sqlite_store.load_case(session.patient_id).history) == 1
    assert fields["end"].error.value == ""


def test_an_edit_in_progress_is_not_replaced(session: CaseSession) -> None:
    form = HistoryForm(session)
    form.new("diet")
    form._fields("diet")["pattern"].value = "omnivore"
    form.new("stress")
    assert form.category == "diet" and "Save or discard" in form.bar.message.value
    form.bar.discard_button.click()
    assert not form.bar.dirty
    assert form._fields("diet")["pattern"].widget.value == ""
