"""Notes: practitioner-only or shared; add and edit; escaped when listed."""

from __future__ import annotations

from datetime import date

from casebook.store import CaseStore
from casebook.workbook.widgets.notes import NotesForm
from casebook.workbook.widgets.session import CaseSession


def test_add_and_edit_a_note(session: CaseSession, sqlite_store: CaseStore) -> None:
    form = NotesForm(session)
    assert "No notes yet" in form.listing.value
    form.bar.save_button.click()
    assert "at least 1 character" in form.fields["text"].error.value
    form.fields["text"].value = "Discussed <script>x</script> results"
    form.fields["visibility"].value = "shared"
    form.fields["written_on"].value = date(2024, 5, 2)
    form.bar.save_button.click()
    (note,) = sqlite_store.load_case(session.patient_id).notes
    assert (note.visibility, note.author, note.written_on) == ("shared", "tester", date(2024, 5, 2))
    listing = form.listing.get_state()["value"]
    assert "&lt;script&gt;" in listing and "<script>" not in listing
    assert "shared with patient" in listing
    form.note.value = note.id
    form.edit_button.click()
    form.fields["visibility"].value = "practitioner"
    form.bar.save_button.click()
    (edited,) = sqlite_store.load_case(session.patient_id).notes
    assert (edited.visibility, edited.version) == ("practitioner", 2)
