"""The plan: from protocol templates (evidence and source first) or from scratch; start, stop
and edit; the timeline chart."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from casebook.models import PLAN_CATEGORIES, PlanItem
from casebook.store import CaseStore
from casebook.workbook.widgets.plan import PlanForm
from casebook.workbook.widgets.session import CaseSession


def test_templates_show_evidence_and_source_before_use(session: CaseSession) -> None:
    form = PlanForm(session)
    for category in PLAN_CATEGORIES:
        form.fields["category"].value = category
        keys = [k for _, k in form.template.options if k]
        assert keys == [p.key for p in session.catalog.protocols_for(category)]
    form.fields["category"].value = "nutritional_support"
    form.template.value = "glutamine_trial"
    info = form.template_info.get_state()["value"]
    template = next(p for p in session.catalog.protocols if p.key == "glutamine_trial")
    assert "research-only" in info and template.source[:30] in info
    assert "not advice" in info
    assert form.fields["name"].widget.value == ""  # reading a template fills nothing in


def test_an_item_from_a_template_is_saved_with_its_source(
    with_visit: Callable[..., CaseSession], sqlite_store: CaseStore
) -> None:
    session = with_visit(date(2024, 4, 2))
    form = PlanForm(session)
    form.fields["category"].value = "herbal"
    form.template.value = "peppermint_oil"
    form.use_template.click()
    assert form.fields["start"].widget.value == date.today()  # not the visit's date
    assert form.fields["end"].widget.value == date.today() + timedelta(days=28)
    assert form.bar.dirty
    form.fields["dose"].value = "0.2 mL"
    form.bar.save_button.click()
    (item,) = sqlite_store.load_case(session.patient_id).plan
    assert (item.name, item.template, item.dose, item.status) == (
        form.session.catalog.protocols_for("herbal")[0].name,
        "peppermint_oil",
        "0.2 mL",
        "proposed",
    )
    assert item.source.startswith("Lacy") or item.source
    assert item.instructions and item.rationale
    assert "<svg" in form.chart.widget.value


def test_a_template_keeps_the_start_the_practitioner_picked(
    with_visit: Callable[..., CaseSession],
) -> None:
    form = PlanForm(with_visit(date(2024, 4, 2)))
    form.fields["category"].value = "herbal"
    form.fields["start"].value = date(2024, 6, 3)
    form.template.value = "peppermint_oil"
    form.use_template.click()
    assert form.fields["start"].widget.value == date(2024, 6, 3)
    assert form.fields["end"].widget.value == date(2024, 7, 1)


def test_an_item_from_scratch_with_every_field(
    session: CaseSession, sqlite_store: CaseStore
) -> None:
    form = PlanForm(session)
    values = {
        "category": "stress_management",
        "name": "Walk <daily>",
        "dose": "",
        "frequency": "daily",
        "start": date(2024, 5, 1),
        "end": date(2024, 6, 1),
        "instructions": "Walk 20 minutes after lunch.",
        "rationale": "Activity helps.",
        "status": "active",
    }
    for name, value in values.items():
        form.fields[name].value = value
    form.bar.save_button.click()
    (item,) = sqlite_store.load_case(session.patient_id).plan
    assert item.model_dump(include=set(values)) == values
    assert item.template is None
    assert "Walk &lt;daily&gt;" in form.listing.value and "<daily>" not in form.listing.value


def test_start_stop_and_edit(session: CaseSession, sqlite_store: CaseStore) -> None:
    item = session.save(
        [PlanItem(patient_id=session.patient_id, category="referral", name="Dietitian")]
    )[0]
    form = PlanForm(session)
    assert form.item.value == item.id
    assert not form.start_button.disabled and form.stop_button.disabled
    form.start_button.click()
    started = sqlite_store.load_case(session.patient_id).plan[0]
    assert (started.status, started.start) == ("active", date.today())
    assert form.start_button.disabled and not form.stop_button.disabled
    form.stop_button.click()
    stopped = sqlite_store.load_case(session.patient_id).plan[0]
    assert (stopped.status, stopped.end) == ("stopped", date.today())
    form.edit_button.click()
    assert form.fields["name"].widget.value == "Dietitian"
    form.fields["name"].value = "Dietitian (FODMAP)"
    form.bar.save_button.click()
    assert sqlite_store.load_case(session.patient_id).plan[0].name == "Dietitian (FODMAP)"


def test_a_quick_action_leaves_an_edit_in_progress_alone(
    session: CaseSession, sqlite_store: CaseStore
) -> None:
    a, b = session.save(
        [
            PlanItem(
                patient_id=session.patient_id,
                category="herbal",
                no_substance_reason="Synthetic test item, no catalog substance",
                name=n,
            )
            for n in ("A", "B")
        ]
    )
    form = PlanForm(session)
    form.edit(a)
    form.fields["dose"].value = "typed, not saved"
    form.item.value = b.id
    form.start_button.click()
    assert sqlite_store.load_case(session.patient_id).plan[1].status == "active"
    assert form.fields["dose"].widget.value == "typed, not saved" and form.bar.dirty


def test_end_before_start_is_refused_beside_end(
    session: CaseSession, sqlite_store: CaseStore
) -> None:
    form = PlanForm(session)
    form.fields["name"].value = "Psyllium"
    form.fields["start"].value = date(2024, 5, 1)
    form.fields["end"].value = date(2024, 5, 1) - timedelta(days=1)
    form.bar.save_button.click()
    assert "before start date" in form.fields["end"].error.value
    assert sqlite_store.load_case(session.patient_id).plan == []
