"""CaseSession: the one place that saves, reloads and tells the sections."""

from __future__ import annotations

from datetime import date

import pytest

from casebook.models import InstrumentResponse, PlanItem, Visit
from casebook.store import CaseStore, ConflictError
from casebook.workbook.widgets.session import CaseSession, collection_of, with_records


def test_save_writes_one_transaction_reloads_and_notifies(
    session: CaseSession, sqlite_store: CaseStore
) -> None:
    events: list[str] = []
    session.observe(events.append)
    visit = Visit(patient_id=session.patient_id, kind="intake", visit_date=date(2024, 1, 10))
    item = PlanItem(
        patient_id=session.patient_id,
        category="herbal",
        no_substance_reason="Synthetic test item, no catalog substance",
        name="Peppermint oil",
    )
    saved = session.save([visit, item])
    assert [r.version for r in saved] == [1, 1]
    assert events == ["case"]
    stored = sqlite_store.load_case(session.patient_id)
    assert [v.id for v in stored.visits] == [visit.id]
    assert [p.name for p in stored.plan] == ["Peppermint oil"]
    assert session.case.plan[0].version == 1
    assert session.last_saved is not None and session.last_saved.actor == "tester"
    assert session.visit_id == visit.id  # the only visit is selected after the reload


def test_a_refused_save_writes_nothing(
    session: CaseSession, sqlite_store: CaseStore, other_store: CaseStore
) -> None:
    first = session.save(
        [
            PlanItem(
                patient_id=session.patient_id,
                category="herbal",
                no_substance_reason="Synthetic test item, no catalog substance",
                name="Ginger",
            )
        ]
    )[0]
    other_store.save(first.model_copy(update={"dose": "1 g"}))  # bob saves a newer version
    new = PlanItem(patient_id=session.patient_id, category="referral", name="GP review")
    with pytest.raises(ConflictError) as info:
        session.save([new, first.model_copy(update={"dose": "2 g"})])
    assert info.value.by == "bob"
    names = [p.name for p in sqlite_store.load_case(session.patient_id).plan]
    assert names == ["Ginger"]  # the new item was rolled back with the conflicting edit


def test_select_visit_refuses_a_visit_of_no_case(session: CaseSession) -> None:
    with pytest.raises(KeyError, match="no visit"):
        session.select_visit("0" * 32)


def test_select_visit_notifies_only_on_change(demo_session: CaseSession) -> None:
    events: list[str] = []
    demo_session.observe(events.append)
    first = demo_session.case.sorted_visits()[0]
    demo_session.select_visit(first.id)
    demo_session.select_visit(first.id)
    assert events == ["visit"]
    assert demo_session.visit == first


def test_pending_answers_raise_flags_before_saving(with_visit) -> None:  # type: ignore[no-untyped-def]
    session = with_visit()
    answers = {str(i): 0 for i in range(1, 10)} | {"9": 2}
    draft = InstrumentResponse(
        patient_id=session.patient_id, visit_id=session.visit_id, instrument="phq9", answers=answers
    )
    assert session.pending_flags() == []
    session.set_pending("Instruments", [draft])
    flags = session.pending_flags()
    assert [f.key for f in flags] == ["phq9_self_harm"]
    assert flags[0].urgency == "same_day"
    assert "phq9_self_harm" not in {f.key for f in session.red_flags()}  # not saved yet
    session.set_pending("Instruments", [])
    assert session.pending_flags() == []


def test_unsaved_sections_are_tracked_in_order(session: CaseSession) -> None:
    events: list[str] = []
    session.observe(events.append)
    session.set_unsaved("Plan", True)
    session.set_unsaved("Symptoms", True)
    session.set_unsaved("Plan", True)
    assert session.unsaved == ("Plan", "Symptoms")
    session.set_unsaved("Plan", False)
    assert session.unsaved == ("Symptoms",)
    assert events == ["pending", "pending", "pending"]


def test_with_records_replaces_by_id_and_appends(demo_session: CaseSession) -> None:
    case = demo_session.case
    item = case.plan[0].model_copy(update={"name": "Renamed"})
    extra = PlanItem(
        patient_id=case.patient.id,
        category="herbal",
        no_substance_reason="Synthetic test item, no catalog substance",
        name="New",
    )
    merged = with_records(case, [item, extra])
    assert [p.name for p in merged.plan][:1] == ["Renamed"]
    assert merged.plan[-1].name == "New"
    assert len(merged.plan) == len(case.plan) + 1
    assert case.plan[0].name != "Renamed"  # the loaded case is untouched
    assert collection_of(PlanItem) == "plan"
    with pytest.raises(TypeError):
        collection_of(str)  # type: ignore[arg-type]


def test_last_saved_counts_saves_not_dashboard_visits(
    session: CaseSession, sqlite_store: CaseStore
) -> None:
    from casebook.serve.tokens import grant

    session.save(
        [
            PlanItem(
                patient_id=session.patient_id,
                category="herbal",
                no_substance_reason="Synthetic test item, no catalog substance",
                name="Ginger",
            )
        ]
    )
    saved = sqlite_store.audit_log(session.patient_id)[-1]
    serving = CaseStore(sqlite_store.url, actor="casebook serve")
    grant(serving, session.patient_id, 1)
    serving.record_link_use(session.patient_id, "link-1", "view", {})
    assert serving.audit_log(session.patient_id)[-1].entity == "access"
    reopened = CaseSession(sqlite_store, session.patient_id)
    assert reopened.last_saved is not None
    assert (reopened.last_saved.at, reopened.last_saved.actor) == (saved.at, "tester")
    serving.close()
