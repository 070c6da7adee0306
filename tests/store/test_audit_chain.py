"""The audit log refuses REPLACE and TRUNCATE, and its hash chain shows a forged row."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime

import numpy as np
import pytest
import sqlalchemy as sa

from casebook.cli import main
from casebook.models import Case, Note, Patient
from casebook.store import CaseStore, import_cases
from casebook.store.audit_chain import FIELDS, GENESIS, _hash, _texts, chain_hash, plain_rows
from casebook.store.engine import create_store_engine
from casebook.store.migrate import current_revision, upgrade
from tests.threads import run_at_once


def _count(store: CaseStore) -> int:
    with store.engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM audit_log").scalar_one())


def _first_after(store: CaseStore) -> object:
    with store.engine.connect() as conn:
        return conn.execute(sa.text("SELECT actor FROM audit_log ORDER BY id LIMIT 1")).scalar()


def test_replace_and_truncate_are_refused(store: CaseStore) -> None:
    store.add_patient(Patient(id="p1", name="Pat One", birth_date=date(1970, 1, 1)))
    before = _count(store)
    assert before == 1
    if store.engine.dialect.name == "sqlite":
        attacks = [
            "INSERT OR REPLACE INTO audit_log (id, at, actor, entity, action) "
            "VALUES (1, '2026-01-01 00:00:00', 'mallory', 'patient', 'create')",
            "REPLACE INTO audit_log (id, at, actor, entity, action) "
            "VALUES (1, '2026-01-01 00:00:00', 'mallory', 'patient', 'create')",
            "INSERT INTO audit_log (id, at, actor, entity, action) "
            "VALUES (1, '2026-01-01 00:00:00', 'mallory', 'patient', 'create') "
            "ON CONFLICT(id) DO UPDATE SET actor = 'mallory'",
        ]
    else:
        attacks = [
            "TRUNCATE audit_log",
            "TRUNCATE audit_log CASCADE",
            "DELETE FROM audit_log",
            "UPDATE audit_log SET actor = 'mallory'",
        ]
    for attack in attacks:
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.exec_driver_sql(attack)
    assert _count(store) == before
    assert _first_after(store) == "tester"
    assert store.verify_audit_log().intact


def test_every_write_extends_an_intact_chain(store: CaseStore, demo_cases: list[Case]) -> None:
    import_cases(store, demo_cases)  # bulk: many rows chained in Python in one go
    store.add_patient(Patient(id="p1", name="Pat One", birth_date=date(1970, 1, 1)))
    store.save(Note(patient_id="p1", written_on=date(2026, 1, 1), text="first"))
    verdict = store.verify_audit_log()
    assert verdict.intact
    assert verdict.rows == _count(store) == len(demo_cases) + 2
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT chain FROM audit_log ORDER BY id")).scalars().all()
    assert rows[-1] == verdict.head and len(set(rows)) == len(rows)


def test_concurrent_writers_do_not_fork_the_chain(db_url: str) -> None:
    setup = CaseStore(db_url, create=True, actor="setup")
    for n in range(4):
        setup.add_patient(Patient(id=f"p{n}", name=f"Pat {n}", birth_date=date(1970, 1, 1)))

    def writer(n: int) -> Callable[[], None]:
        def run() -> None:
            with CaseStore(db_url, actor=f"writer-{n}") as store:
                for i in range(8):
                    store.save(Note(patient_id=f"p{n}", written_on=date(2026, 1, 1), text=f"{i}"))

        return run

    run_at_once([writer(n) for n in range(4)])
    verdict = setup.verify_audit_log()
    assert (verdict.intact, verdict.rows) == (True, 4 + 4 * 8)
    setup.close()


def _forge(store: CaseStore, row_id: int) -> None:
    """What an attacker with the database file or a superuser login can do."""
    with store.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER audit_log_no_update")
        else:
            conn.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        conn.execute(
            sa.text("UPDATE audit_log SET actor = 'someone-else' WHERE id = :id"), {"id": row_id}
        )


def test_audit_verify_finds_a_forged_row(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    store = CaseStore(db_url, create=True, actor="tester")
    for n in range(3):
        store.add_patient(Patient(id=f"p{n}", name=f"Pat {n}", birth_date=date(1970, 1, 1)))
    with store.engine.connect() as conn:
        ids = conn.execute(sa.text("SELECT id FROM audit_log ORDER BY id")).scalars().all()
    assert main(["--db", db_url, "audit", "--verify"]) == 0
    assert capsys.readouterr().out.startswith("audit log intact: 3 row(s), head ")
    _forge(store, ids[1])
    assert main(["--db", db_url, "audit", "--verify"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(
        f"casebook audit: audit log broken at row {ids[1]}: its hash does not match"
    )
    assert "(1 row(s) before it are intact)" in err and err.count("\n") == 1
    store.close()


def test_a_row_written_around_the_store_is_reported(sqlite_store: CaseStore) -> None:
    sqlite_store.add_patient(Patient(id="p1", name="Pat One", birth_date=date(1970, 1, 1)))
    with sqlite_store.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO audit_log (at, actor, entity, action) "
            "VALUES ('2026-01-01 00:00:00', 'mallory', 'patient', 'create')"
        )
    verdict = sqlite_store.verify_audit_log()
    assert (verdict.broken_id, verdict.rows) == (2, 1)
    assert "no hash" in verdict.problem


def test_audit_needs_a_patient_or_verify(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--db", sqlite_url, "init"]) == 0
    capsys.readouterr()
    assert main(["--db", sqlite_url, "audit"]) == 1
    assert "give a PATIENT to show, --verify to check" in capsys.readouterr().err


def test_migration_backfills_the_chain_of_existing_rows(db_url: str) -> None:
    engine = create_store_engine(db_url)
    upgrade(engine, "0001")
    at = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    rows = [
        {
            "at": at,
            "actor": f"a{i}",
            "patient_id": None,
            "entity": "patient",
            "entity_id": f"p{i}",
            "action": "create",
            "before": None,
            "after": {"n": i, "x": 1.0, "nested": {"b": [1, "é"], "a": None}},
        }
        for i in range(3)
    ]
    old = sa.table(
        "audit_log",
        *(sa.column(c) for c in ("at", "actor", "patient_id", "entity", "entity_id", "action")),
        sa.column("before", sa.JSON),
        sa.column("after", sa.JSON),
    )
    with engine.begin() as conn:
        conn.execute(sa.insert(old), rows)
    upgrade(engine, "0002")
    assert current_revision(engine) == "0002"
    expected, previous = [], GENESIS
    for row in rows:
        previous = chain_hash(previous, row)
        expected.append(previous)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT chain FROM audit_log ORDER BY id")).scalars().all()
    assert stored == expected
    engine.dispose()
    with CaseStore(db_url, create=True) as store:  # on to the head revision
        assert store.verify_audit_log().rows == 3
        store.add_patient(Patient(id="p9", name="Pat Nine", birth_date=date(1970, 1, 1)))
        assert store.verify_audit_log().rows == 4


def test_chain_hash_is_canonical() -> None:
    row = {
        "at": datetime(2026, 1, 1, tzinfo=UTC),
        "actor": "a",
        "patient_id": None,
        "entity": "e",
        "entity_id": None,
        "action": "x",
        "before": None,
        "after": {"b": 1.0, "a": [2.0, 0.5]},
    }
    same = {**row, "at": "2026-01-01 00:00:00", "after": {"a": [2, 0.5], "b": 1}}
    assert chain_hash(GENESIS, row) == chain_hash(GENESIS, same)
    assert chain_hash(GENESIS, row) != chain_hash(GENESIS, {**row, "actor": "b"})
    assert chain_hash(GENESIS, row) != chain_hash("1" * 64, row)


def _hash_as_written_before(previous: str, row: dict[str, object]) -> str:
    """chain_hash as it was first written (migration 0002's rows were hashed so)."""

    def plain(value: object) -> object:
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            return int(value)
        if isinstance(value, Mapping):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return value

    fields = {name: row[name] for name in FIELDS}
    at = fields["at"]
    assert isinstance(at, datetime)
    fields["at"] = at.astimezone(UTC).isoformat()
    text = json.dumps(
        plain(fields), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return hashlib.sha256(f"{previous}\n{text}".encode()).hexdigest()


def test_chain_hash_is_the_hash_it_always_was() -> None:
    rows = plain_rows([["id1", "id2"], [1.0, 2.5], [None, 3.0], ["é ✓", "x"], [True, 2]])
    payloads: list[object] = [
        None,
        {"b": 1.0, "a": [2.0, 0.5, -0.0, 1e16, 1e-7]},
        {1: "int key", "z": {"y": (1.0,)}},
        {"created": rows, "columns": ["id", "value"], "n": np.float64(3.0), "t": True},
        ["Zoë", "\u2028", 'quote " and \\ backslash'],
        12345678901234567890,
    ]
    for before in payloads:
        for after in payloads:
            row = {
                "at": datetime(2026, 1, 1, 12, tzinfo=UTC),
                "actor": "ä",
                "patient_id": "p1",
                "entity": "result",
                "entity_id": None,
                "action": "import",
                "before": before,
                "after": after,
            }
            assert chain_hash(GENESIS, row) == _hash_as_written_before(GENESIS, row)


def test_plain_rows_are_rows_with_integral_floats_as_ints() -> None:
    rows = plain_rows([["a", "b"], [1.0, 1.5], [None, 2.0], [np.float64(4.0), 7]])
    assert rows == [("a", 1, None, 4), ("b", 1.5, 2, 7)]
    assert [type(v) for v in rows[0]] == [str, int, type(None), int]
    with pytest.raises(ValueError):
        plain_rows([["a"], []])


def test_rows_hashed_together_are_hashed_as_each_alone() -> None:
    """A time that reads like another field's value still hashes as a time."""
    at = "2026-01-01 00:00:00"
    rows = [
        {
            "at": at,
            "actor": actor,
            "patient_id": None,
            "entity": "e",
            "entity_id": at,
            "action": "x",
            "before": None,
            "after": {"n": n},
        }
        for n, actor in enumerate([at, "b", at])
    ]
    texts: dict[object, str] = {}
    assert [_hash(GENESIS, _texts(row, texts)) for row in rows] == [
        chain_hash(GENESIS, row) for row in rows
    ]
