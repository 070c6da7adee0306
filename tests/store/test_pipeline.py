"""Statements sent together (psycopg's pipeline mode on PostgreSQL; plain on SQLite): the
reads come back as SQLAlchemy's would, and a refused statement writes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from casebook.errors import StoreError
from casebook.models import Case, Patient
from casebook.serve.checkin_links import send_checkin
from casebook.store import CaseStore, import_cases, tables
from casebook.store.audit_chain import _last, send_head
from casebook.store.pipeline import pipelined, send
from casebook.store.reads import read_case_parts, send_case_parts
from casebook.store.records import ENTITIES

COLLECTIONS = [ent.collection for ent in ENTITIES]


def test_sent_reads_match_sqlalchemys(store: CaseStore, demo_cases: list[Case]) -> None:
    """Every kind of record (dates, times, JSON, numbers) reads the same when sent in a
    pipeline after a write as through SQLAlchemy, which sees the write too."""
    import_cases(store, demo_cases[:3])
    patient = store.get_patient(demo_cases[0].patient.id)
    with store.transaction() as tx:
        v = tables.visits
        tx.conn.execute(sa.update(v).where(v.c.patient_id == patient.id).values(summary="seen"))
        with pipelined(tx.conn):
            tx.conn.execute(sa.update(v).where(v.c.patient_id == patient.id).values(summary="sent"))
            sent = send_case_parts(tx.conn, patient, COLLECTIONS)
            head = send_head(tx.conn)
        case = sent()
        assert case == read_case_parts(tx.conn, patient, COLLECTIONS)
        assert case.visits and {v.summary for v in case.visits} == {"sent"}
        assert head() == _last(tx.conn)


def test_a_refused_statement_in_a_pipeline_writes_nothing(store: CaseStore) -> None:
    """The first refusal aborts the transaction: the writes sent before it are undone."""
    store.add_patient(Patient(id="p1", name="Test Person", birth_date=date(1980, 1, 1)))
    now = datetime.now(UTC)
    refused = StoreError if store.engine.dialect.name == "postgresql" else sa.exc.IntegrityError
    with (
        pytest.raises(refused, match=r"refused|FOREIGN KEY") as caught,
        store.transaction() as tx,
        pipelined(tx.conn),
    ):
        tx.conn.execute(sa.update(tables.patients).values(name="Changed Name"))
        tx.conn.execute(
            tables.checkins.insert(),
            {
                "id": "c1",
                "patient_id": "p1",
                "token_hash": "no such link",
                "instruments": [],
                "created_at": now,
                "expires_at": now,
                "status": "sent",
                "answers": {},
                "free_text": "",
                "version": 1,
            },
        )
    if refused is StoreError:  # one line, naming no value from the row
        assert "\n" not in str(caught.value) and "no such link" not in str(caught.value)
    assert store.get_patient("p1").name == "Test Person"


def test_a_session_and_its_checkin_read_together_as_apart(store: CaseStore) -> None:
    """The form page's one lookup answers as `find_session` and `checkin` do."""
    store.add_patient(Patient(id="p1", name="Test Person", birth_date=date(1980, 1, 1)))
    _, checkin = send_checkin(store, "p1", ["phq9"])
    now = datetime.now(UTC)
    later = now + timedelta(hours=1)
    store.add_session("s" * 64, checkin.token_hash, created_at=now, expires_at=later)
    found = store.session_and_checkin("s" * 64, checkin.id)
    assert found == (store.find_session("s" * 64), store.checkin(checkin.id))
    assert found[0] is not None and found[0].expires_at == later
    assert found[1] == checkin
    assert store.session_and_checkin("t" * 64, "0" * 32) == (None, None)


def test_a_refused_read_in_a_pipeline_raises_as_sqlalchemy_does(store: CaseStore) -> None:
    """Not a refused write: the error SQLAlchemy would raise (a role's refusal, named by
    `roles.refusals_named`, stays a RoleError)."""
    with pytest.raises(sa.exc.DBAPIError), store.read(single=True) as conn, pipelined(conn):
        send(conn, sa.select(sa.literal_column("1")).where(sa.text("no_such_column = 1")), {})
