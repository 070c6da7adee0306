"""Check-ins in the store: sending, drafts, one submission, accept and review."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from casebook.checkins import (
    CheckinInputError,
    accept,
    checkin_records,
    form_sections,
    mark_reviewed,
    parse_answers,
    save_draft,
    submit,
)
from casebook.clinical.red_flags import CASE_PARTS
from casebook.errors import CheckinClosed, NotFoundError
from casebook.models import Case, InstrumentResponse, Patient, Visit
from casebook.serve import revoke
from casebook.serve.checkin_links import due_checkins, send_checkin
from casebook.store import CaseStore, audit_chain, import_cases, pipeline, reads
from casebook.store import checkins as store_checkins

TODAY = date.today()


def _patient(store: CaseStore, pid: str = "p1") -> Patient:
    return store.add_patient(Patient(id=pid, name="Test Person", birth_date=date(1980, 1, 1)))


def _fields(store: CaseStore, instruments: list[str], value: str = "0") -> list[tuple[str, str]]:
    out = []
    for section in form_sections(store.catalog, instruments):
        for q in section.questions:
            offered = [v for v, _ in q.options]
            out.append((q.name, value if value in offered else offered[0]))
    return out


def test_send_stores_a_checkin_with_its_link(store: CaseStore) -> None:
    _patient(store)
    url, checkin = send_checkin(store, "p1", ["phq9", "gad7"], days=3)
    assert "/checkin?token=" in url
    assert checkin.status == "sent" and checkin.instruments == ("phq9", "gad7")
    assert store.checkins("p1")[0].id == checkin.id
    assert [e.action for e in store.audit_log("p1") if e.entity == "checkin"] == ["send"]
    with pytest.raises(CheckinInputError, match="instruments: 'nope'"):
        send_checkin(store, "p1", ["nope"])
    assert len(store.checkins("p1")) == 1


def test_submit_once_as_the_patient_link(store: CaseStore) -> None:
    _patient(store)
    _, checkin = send_checkin(store, "p1", ["phq9", "symptoms"])
    now = datetime.now(UTC)
    fields = _fields(store, ["phq9", "symptoms"], "1")
    done = submit(store, "link-1", checkin, fields, now=now)
    assert done.checkin.status == "submitted"
    case = store.load_case("p1")
    (visit,) = case.visits
    assert visit.kind == "check-in"
    (phq,) = case.instruments
    assert phq.total == 9 and phq.answers["9"] == 1
    assert len(case.symptoms) == len(store.catalog.symptoms)
    actors = {e.actor for e in store.audit_log("p1") if e.entity in ("visit", "instrument")}
    assert actors == {"patient link link-1"}
    assert done.urgent and done.flags[0].key == "phq9_self_harm"
    with pytest.raises(CheckinClosed, match="already submitted"):
        submit(store, "link-1", checkin, fields, now=now)
    assert len(store.load_case("p1").visits) == 1  # the replay wrote nothing


def test_a_submission_is_one_transaction_and_one_audit_append(
    store: CaseStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The claim, the records, the version bump and every audit row commit together, and
    the audit chain is appended to (and, on PostgreSQL, locked) once."""
    _patient(store)
    _, checkin = send_checkin(store, "p1", ["phq9", "symptoms"])
    seen: list[str] = []
    commits: list[int] = []

    def statement(conn: object, cursor: object, text: str, *_: object) -> None:
        seen.append(" ".join(text.split()[:3]).lower())

    def sent(conn: sa.Connection, stmt: sa.Select[Any], params: dict[str, Any]) -> Any:
        if conn.dialect.name == "postgresql":  # the driver's cursor: no SQLAlchemy event
            statement(conn, None, str(stmt.compile(dialect=conn.dialect)))
        return pipeline.send(conn, stmt, params)

    for module in (audit_chain, reads, store_checkins):  # the readers a submission sends
        monkeypatch.setattr(module, "send", sent)

    sa.event.listen(store.engine, "before_cursor_execute", statement)
    sa.event.listen(store.engine, "commit", lambda conn: commits.append(1))
    try:
        submit(
            store, "l", checkin, _fields(store, ["phq9", "symptoms"], "1"), now=datetime.now(UTC)
        )
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", statement)
    assert len(commits) == 1
    assert [s for s in seen if s.startswith("insert into audit_log")] == ["insert into audit_log"]
    assert sum("pg_advisory_xact_lock" in s for s in seen) == (store.url.startswith("postgres"))
    assert not any(s.startswith("savepoint") for s in seen)
    actions = [e.action for e in store.audit_log("p1")]
    # the patient, then the check-in visit, its PHQ-9 and each symptom, then the claim
    assert actions[-1] == "submit"
    assert actions.count("create") == 3 + len(store.catalog.symptoms)


def test_item_9_at_zero_raises_no_flag(store: CaseStore) -> None:
    _patient(store)
    _, checkin = send_checkin(store, "p1", ["phq9"])
    done = submit(store, "l", checkin, _fields(store, ["phq9"], "0"), now=datetime.now(UTC))
    assert not done.urgent


def test_drafts_keep_answers_and_write_nothing_to_the_case(store: CaseStore) -> None:
    _patient(store)
    _, checkin = send_checkin(store, "p1", ["phq9"])
    kept = save_draft(store, "l", checkin, [("phq9.1", "2")], now=datetime.now(UTC))
    assert kept.answers == {"phq9": {"1": 2}} and kept.status == "sent"
    assert store.load_case("p1").visits == []
    with pytest.raises(CheckinInputError, match=r"phq9\.2: please answer"):
        submit(store, "l", kept, [("phq9.1", "2")], now=datetime.now(UTC))


def test_expired_or_revoked_checkins_take_nothing(store: CaseStore) -> None:
    _patient(store)
    past = datetime.now(UTC) - timedelta(days=10)
    _, old = send_checkin(store, "p1", ["phq9"], days=1, now=past)
    with pytest.raises(CheckinClosed, match="expired"):
        save_draft(store, "l", old, [("phq9.1", "1")], now=datetime.now(UTC))
    _, live = send_checkin(store, "p1", ["phq9"])
    revoke(store, "p1")
    with pytest.raises(CheckinClosed, match="revoked"):
        submit(store, "l", live, _fields(store, ["phq9"]), now=datetime.now(UTC))
    assert store.load_case("p1").visits == []


def test_another_patients_checkin_is_not_found(store: CaseStore) -> None:
    _patient(store, "p1")
    _patient(store, "p2")
    _, theirs = send_checkin(store, "p2", ["phq9"])
    mine = theirs.__class__(**{**theirs.__dict__, "patient_id": "p1"})
    with pytest.raises(NotFoundError):
        save_draft(store, "l", mine, [("phq9.1", "1")], now=datetime.now(UTC))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ([("phq9.1", "4")], "phq9.1: not one of the answers"),
        ([("phq9.1", "-1")], "phq9.1: not one of the answers"),
        ([("phq9.1", "1"), ("phq9.1", "2")], "given more than once"),
        ([("gad7.1", "1")], "not a question of this check-in"),
        ([("free_text", "x" * 2001)], "free_text: at most 2000"),
    ],
)
def test_bad_answers_are_refused(
    store: CaseStore, fields: list[tuple[str, str]], message: str
) -> None:
    with pytest.raises(CheckinInputError, match=message):
        parse_answers(store.catalog, ["phq9"], fields, complete=False)


def test_accept_never_overwrites_a_practitioner_entry(store: CaseStore) -> None:
    _patient(store)
    visit = store.save(Visit(patient_id="p1", visit_date=TODAY))
    store.save(
        InstrumentResponse(
            patient_id="p1",
            visit_id=visit.id,
            instrument="gad7",
            answers={str(i): 0 for i in range(1, 8)},
        )
    )
    _, checkin = send_checkin(store, "p1", ["phq9", "gad7"])
    done = submit(store, "l", checkin, _fields(store, ["phq9", "gad7"], "2"), now=datetime.now(UTC))
    accepted, kept = accept(store, done.checkin.id, "p1", visit.id)
    assert accepted.status == "accepted" and kept == ["gad7"]
    case = store.load_case("p1")
    by_visit = {(r.visit_id, r.instrument): r.total for r in case.instruments}
    assert by_visit[(visit.id, "gad7")] == 0  # the practitioner's entry stands
    assert by_visit[(visit.id, "phq9")] == 18
    assert by_visit[(done.checkin.visit_id, "gad7")] == 14
    with pytest.raises(CheckinClosed):
        mark_reviewed(store, done.checkin.id, "p1")


def test_mark_reviewed_keeps_the_checkin_visit(store: CaseStore) -> None:
    _patient(store)
    _, checkin = send_checkin(store, "p1", ["bristol"])
    done = submit(store, "l", checkin, [("bristol.type", "4")], now=datetime.now(UTC))
    assert mark_reviewed(store, done.checkin.id, "p1").status == "reviewed"
    assert store.load_case("p1").instruments[0].band == "normal"
    assert store.checkins(status="submitted") == []


def test_due_sends_one_per_patient_with_a_visit_coming(store: CaseStore) -> None:
    _patient(store, "p1")
    _patient(store, "p2")
    store.save(Visit(patient_id="p1", visit_date=TODAY + timedelta(days=3)))
    store.save(Visit(patient_id="p2", visit_date=TODAY + timedelta(days=30)))
    rows = due_checkins(store, TODAY + timedelta(days=7), ["phq9"])
    assert [r.patient_id for r in rows] == ["p1"]
    assert due_checkins(store, TODAY + timedelta(days=7), ["phq9"]) == []  # one is open


def test_a_submitted_checkin_tops_the_worklist_until_reviewed(store: CaseStore) -> None:
    from casebook.clinic import store_worklist

    _patient(store)
    _, checkin = send_checkin(store, "p1", ["phq9"])
    fields = [*_fields(store, ["phq9"], "0")[:-1], ("phq9.9", "2")]
    done = submit(store, "l", checkin, fields, now=datetime.now(UTC))
    rows = store_worklist(store)
    assert list(rows["kind"][:2]) == ["red-flag", "check-in-to-review"]
    assert rows["urgency"][0] == "same_day" and rows["ref"][1] == checkin.id
    mark_reviewed(store, done.checkin.id, "p1")
    assert "check-in-to-review" not in set(store_worklist(store)["kind"])


def test_the_rules_read_the_case_as_stored(store: CaseStore, demo_cases: list[Case]) -> None:
    """The parts of the case a submission hands the red-flag rules (the records it wrote
    stand for their rows read back, not validated twice) equal a fresh read after it."""
    import_cases(store, demo_cases[:1])
    pid = demo_cases[0].patient.id
    _, checkin = send_checkin(store, pid, ["phq9", "symptoms"])
    now = datetime.now(UTC)
    with store.link_transaction("l") as tx:
        opened = store_checkins.open_checkin(tx, checkin.id, pid, now)
        draft = parse_answers(
            store.catalog,
            checkin.instruments,
            _fields(store, ["phq9", "symptoms"], "1"),
            complete=True,
        )
        visit, records = checkin_records(pid, draft.answers, on=now.date(), checkin_id=checkin.id)
        _, case = store_checkins.submit_checkin(
            tx, opened, draft.answers, draft.free_text, records, visit, now=now
        )
    with store.read() as conn:
        stored = reads.read_case_parts(conn, store.get_patient(pid), CASE_PARTS)
    assert len(case.visits) > 1 and visit.id in {v.id for v in case.visits}
    for part in CASE_PARTS:
        assert getattr(case, part) == getattr(stored, part), part
