"""The shared plumbing: fields from the models, errors beside fields, the save bar, and
conflicts with another practitioner's newer save (shown, never overwritten)."""

from __future__ import annotations

from datetime import date

import ipywidgets as W
import pytest

from casebook.models import InstrumentResponse, Medication, PlanItem, StressHistory, Visit
from casebook.store import CaseStore
from casebook.workbook.widgets._base import Change, conflict_rows, rebase
from casebook.workbook.widgets._fields import FieldErrors, Fields, Look, field_for
from casebook.workbook.widgets.plan import PlanForm
from casebook.workbook.widgets.session import CaseSession


def test_widgets_follow_the_model_annotations() -> None:
    look = Look()
    kinds = {
        name: type(field_for(model, name, look).widget)
        for model, name in (
            (Medication, "drug_class"),
            (Medication, "start"),
            (Medication, "name"),
            (StressHistory, "sleep_hours"),
            (PlanItem, "instructions"),
        )
    }
    assert kinds == {
        "drug_class": W.Dropdown,
        "start": W.DatePicker,
        "name": W.Text,
        "sleep_hours": W.Text,
        "instructions": W.Textarea,
    }
    tri = field_for(Visit.model_fields["screen"].annotation, "fever", look)
    assert tri.widget.get_state()["_options_labels"] == ("not asked", "no", "yes")
    assert tri.value is None and tri.widget.get_state()["index"] == 0  # shown, not blank
    tri.value = False
    assert tri.value is False and tri.widget.get_state()["index"] == 1
    required = field_for(Medication, "drug_class", look)
    assert required.widget.get_state()["_options_labels"][0] == "— choose —"
    assert required.widget.get_state()["description"] == "Drug class"
    with pytest.raises(ValueError, match="choose one"):
        required.value  # noqa: B018 - reading parses
    required.value = "nsaid"
    assert required.value == "nsaid"


def test_shared_layouts_keep_the_model_count_low() -> None:
    look = Look()
    a, b = (field_for(Medication, "name", look) for _ in range(2))
    assert a.widget.layout is b.widget.layout
    assert a.widget.style is b.widget.style
    assert a.row.layout is b.row.layout


def test_bad_values_get_their_message_beside_the_field() -> None:
    look = Look()
    fields = Fields(*(field_for(StressHistory, n, look) for n in ("level", "sleep_hours")))
    fields["sleep_hours"].value = "seven"
    with pytest.raises(FieldErrors) as info:
        fields.values()
    assert info.value.errors == {"sleep_hours": "'seven' is not a number"}
    error = fields["sleep_hours"].error
    assert error is not None and "not a number" in error.get_state()["value"]
    fields["sleep_hours"].value = "30"
    with pytest.raises(FieldErrors):
        fields.build(lambda v: StressHistory(**v))
    assert "less than or equal to 24" in fields["sleep_hours"].error.value
    fields["sleep_hours"].value = "7,5"  # a decimal comma is understood
    assert fields.build(lambda v: StressHistory(**v)).sleep_hours == 7.5
    assert fields["sleep_hours"].error.value == ""


def test_messages_are_escaped_beside_fields() -> None:
    look = Look()
    fields = Fields(field_for(Medication, "name", look))
    fields.show({"name": "<script>alert(1)</script>"})
    value = fields["name"].error.value
    assert "<script>" not in value and "&lt;script&gt;" in value


def test_rebase_keeps_their_fields_and_my_keys(session: CaseSession) -> None:
    visit = session.save(
        [Visit(patient_id=session.patient_id, kind="intake", visit_date=date(2024, 1, 2))]
    )[0]
    base = session.save(
        [
            InstrumentResponse(
                patient_id=session.patient_id,
                visit_id=visit.id,
                instrument="gad7",
                answers={"1": 0, "2": 0},
            )
        ]
    )[0]
    theirs = base.model_copy(update={"answers": {"1": 3, "2": 0}, "version": 2})
    mine = Change(base.model_copy(update={"answers": {"1": 0, "2": 2}}), base, "GAD-7")
    merged = rebase(mine, theirs)
    assert merged.draft.answers == {"1": 3, "2": 2}  # their item 1, my item 2
    assert merged.draft.version == 2
    rows = conflict_rows(mine, theirs)
    assert ("GAD-7", "answers.1", "3", "0") in rows and ("GAD-7", "answers.2", "0", "2") in rows


@pytest.fixture
def edited_elsewhere(session: CaseSession, other_store: CaseStore) -> tuple[PlanForm, PlanItem]:
    """A plan item open in my editor, then saved by bob with a new dose."""
    item = session.save(
        [
            PlanItem(
                patient_id=session.patient_id,
                category="herbal",
                no_substance_reason="Synthetic test item, no catalog substance",
                name="Peppermint oil",
                dose="0.2 mL",
            )
        ]
    )[0]
    form = PlanForm(session)
    form.edit(item)
    other_store.save(item.model_copy(update={"dose": "0.4 mL <i>bob</i>"}))
    form.fields["frequency"].value = "twice daily"
    assert form.bar.dirty
    assert not form.bar.save()
    return form, item


def test_a_conflict_is_shown_and_nothing_is_overwritten(
    edited_elsewhere: tuple[PlanForm, PlanItem], sqlite_store: CaseStore
) -> None:
    form, item = edited_elsewhere
    stored = sqlite_store.load_case(item.patient_id).plan[0]
    assert (stored.dose, stored.frequency, stored.version) == ("0.4 mL <i>bob</i>", "", 2)
    shown = form.bar.conflict_box.children[0].get_state()["value"]
    assert "bob" in shown and "theirs (saved)" in shown and "yours (not saved)" in shown
    assert "&lt;i&gt;bob&lt;/i&gt;" in shown and "<i>bob" not in shown
    assert "twice daily" in shown
    assert form.fields["frequency"].widget.value == "twice daily"  # mine is still in the form
    assert form.bar.dirty and "Unsaved" in form.bar.status.value


def test_keep_theirs_discards_mine(
    edited_elsewhere: tuple[PlanForm, PlanItem], sqlite_store: CaseStore
) -> None:
    form, item = edited_elsewhere
    assert form.bar.keep_theirs is not None
    form.bar.keep_theirs.click()
    assert form.fields["dose"].widget.value == "0.4 mL <i>bob</i>"
    assert form.fields["frequency"].widget.value == ""
    assert not form.bar.dirty and form.bar.conflict_box.children == ()
    assert sqlite_store.load_case(item.patient_id).plan[0].version == 2


def test_apply_mine_on_top_of_theirs_saves_both(
    edited_elsewhere: tuple[PlanForm, PlanItem], sqlite_store: CaseStore
) -> None:
    form, item = edited_elsewhere
    assert form.bar.apply_mine is not None
    form.bar.apply_mine.click()
    stored = sqlite_store.load_case(item.patient_id).plan[0]
    assert (stored.dose, stored.frequency, stored.version) == (
        "0.4 mL <i>bob</i>",
        "twice daily",
        3,
    )
    assert not form.bar.dirty and "Saved" in form.bar.status.value
    assert form.session.unsaved == ()
