"""The keyed audit log: the attacks of issue 21, each on SQLite and PostgreSQL where it
applies, and honest data that keeps verifying."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from casebook.cli import main
from casebook.errors import StoreError
from casebook.models import Note, Patient
from casebook.store import CaseStore, audit_chain, tables
from casebook.store.audit_chain import GENESIS, chain_hash
from casebook.store.audit_key import key_path, read_key, seal_message, sealing_key, store_id
from casebook.store.role_kinds import Role
from tests.pg_roles import Clinic, clinic

__all__ = ["clinic"]


def _three(store: CaseStore) -> None:
    for n in range(3):
        store.add_patient(Patient(id=f"p{n}", name=f"Pat {n}", birth_date=date(1970, 1, 1)))


def _log(store: CaseStore) -> list[Any]:
    with store.engine.connect() as conn:
        a = tables.audit_log
        return list(conn.execute(sa.select(a).order_by(a.c.id)))


def _forged(previous_chain: str, actor: str) -> dict[str, Any]:
    row: dict[str, Any] = {
        "at": datetime(2026, 12, 1, 9, tzinfo=UTC),
        "actor": actor,
        "patient_id": "p1",
        "entity": "flag_review",
        "entity_id": None,
        "action": "acknowledged",
        "before": None,
        "after": None,
    }
    return {**row, "chain": chain_hash(previous_chain, row)}


_INSERT = (
    "INSERT INTO audit_log (id, at, actor, patient_id, entity, action, chain, mac) "
    "VALUES (:id, :at, :actor, :patient_id, :entity, :action, :chain, :mac)"
)


def _verify(url: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["--db", url, "audit", "--verify"])
    out, err = capsys.readouterr()
    return code, out + err


def test_a_forged_row_with_a_valid_plain_hash_fails_without_the_key(
    sqlite_store: CaseStore, capsys: pytest.CaptureFixture[str]
) -> None:
    _three(sqlite_store)
    last = _log(sqlite_store)[-1]
    row = _forged(last.chain, "dr-forger")
    with sqlite_store.engine.begin() as conn:  # casebook's own chain function, a guessed seal
        conn.execute(sa.text(_INSERT), {**row, "id": last.id + 1, "mac": "0" * 64})
    verdict = sqlite_store.verify_audit_log()
    assert (verdict.broken_id, verdict.rows) == (last.id + 1, 3)
    assert "seal does not match" in verdict.problem
    code, said = _verify(sqlite_store.url, capsys)
    assert code == 1 and f"broken at row {last.id + 1}: its seal" in said


def test_a_forged_row_on_postgresql_names_the_login_and_breaks_the_chain(
    clinic: Clinic, capsys: pytest.CaptureFixture[str]
) -> None:
    _three(clinic.owner)
    url = clinic.user(Role.PRACTITIONER, "dr")
    login = url.split("://", 1)[1].split("@", 1)[0]
    last = _log(clinic.owner)[-1]
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # the everyday login may append, under its own name only
        conn.execute(
            sa.text(_INSERT.replace("id, at", "at").replace(":id, :at", ":at")),
            {**_forged(last.chain, "dr-forger"), "mac": "0" * 64},
        )
    engine.dispose()
    entries = clinic.owner.audit_log("p1")
    assert [e.actor for e in entries] == ["owner", login]  # the database named the login
    verdict = clinic.owner.verify_audit_log()
    assert verdict.broken_id == entries[-1].id and "hash does not match" in verdict.problem
    code, said = _verify(clinic.url, capsys)
    assert code == 1 and f"broken at row {entries[-1].id}" in said


def test_a_row_appended_under_the_logins_own_name_verifies(clinic: Clinic) -> None:
    """What is not proven: a login that may append can write a row as itself, as it could
    through casebook (the README says so); it can never name anyone else."""
    _three(clinic.owner)
    url = clinic.user(Role.PRACTITIONER, "dr")
    login = url.split("://", 1)[1].split("@", 1)[0]
    last = _log(clinic.owner)[-1]
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        row = _forged(last.chain, login)
        conn.execute(
            sa.text(_INSERT.replace("id, at", "at").replace(":id, :at", ":at")),
            {**row, "mac": None},
        )
    engine.dispose()
    assert clinic.owner.verify_audit_log().intact
    assert clinic.owner.audit_log("p1")[-1].actor == login


def _drop_guards(conn: sa.Connection) -> None:
    """What the owner of the tables (or whoever holds a SQLite file) can do."""
    if conn.dialect.name == "sqlite":
        for trigger in ("audit_log_no_update", "audit_log_no_delete"):
            conn.exec_driver_sql(f"DROP TRIGGER {trigger}")
    else:
        conn.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")


def test_triggers_dropped_and_tail_deleted_show_against_the_checkpoint(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store = CaseStore(db_url, create=True, actor="tester")
    _three(store)
    assert main(["--db", db_url, "audit", "--checkpoint"]) == 0
    assert "checkpoint signed: 3 row(s)" in capsys.readouterr().out
    store.save(Note(patient_id="p1", written_on=date(2026, 1, 1), text="after"))
    verdict = store.verify_audit_log()
    assert verdict.intact and verdict.after_checkpoint == 1  # honest data keeps passing
    code, said = _verify(db_url, capsys)
    assert code == 0 and said.startswith("audit log intact: 4 row(s), head ")
    assert said.endswith(" covers 3 row(s), 1 after it\n")
    ids = [r.id for r in _log(store)]
    with store.engine.begin() as conn:
        _drop_guards(conn)
        conn.execute(sa.text("DELETE FROM audit_log WHERE id >= :id"), {"id": ids[2]})
    verdict = store.verify_audit_log()
    assert (verdict.broken_id, verdict.rows) == (ids[2], 2)
    assert "checkpoint 1" in verdict.problem and "rows were removed" in verdict.problem
    code, said = _verify(db_url, capsys)
    assert code == 1 and f"broken at row {ids[2]}: checkpoint 1" in said
    store.close()


def test_checkpoints_deleted_from_a_sqlite_file_show_from_the_kept_copy(
    sqlite_store: CaseStore,
) -> None:
    _three(sqlite_store)
    sqlite_store.checkpoint_audit_log()
    ids = [r.id for r in _log(sqlite_store)]
    with sqlite_store.engine.begin() as conn:
        _drop_guards(conn)
        conn.exec_driver_sql("DROP TRIGGER audit_checkpoints_no_delete")
        conn.exec_driver_sql("DELETE FROM audit_checkpoints")
        conn.execute(sa.text("DELETE FROM audit_log WHERE id = :id"), {"id": ids[-1]})
    verdict = sqlite_store.verify_audit_log()
    assert verdict.broken_id == ids[-1]
    assert verdict.problem.startswith("the checkpoint kept outside the database")


def test_a_rewritten_middle_row_with_recomputed_hashes_fails(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store = CaseStore(db_url, create=True, actor="tester")
    _three(store)
    rows = _log(store)
    with store.engine.begin() as conn:
        _drop_guards(conn)
        previous = rows[0].chain
        for n, row in enumerate(rows[1:], start=1):
            fields = dict(row._mapping)
            if n == 1:
                fields["actor"] = "someone-else"
            previous = chain_hash(previous, fields)
            conn.execute(
                sa.text("UPDATE audit_log SET actor = :actor, chain = :chain WHERE id = :id"),
                {"actor": fields["actor"], "chain": previous, "id": row.id},
            )
    verdict = store.verify_audit_log()
    assert (verdict.broken_id, verdict.rows) == (rows[1].id, 1)
    assert "seal does not match" in verdict.problem
    code, said = _verify(db_url, capsys)
    assert code == 1 and f"broken at row {rows[1].id}: its seal" in said
    store.close()


def test_checkpoint_refuses_a_broken_log(sqlite_store: CaseStore) -> None:
    _three(sqlite_store)
    with sqlite_store.engine.begin() as conn:
        _drop_guards(conn)
        conn.exec_driver_sql("UPDATE audit_log SET actor = 'x' WHERE id = 2")
    verdict, made = sqlite_store.checkpoint_audit_log()
    assert (verdict.broken_id, made) == (2, None)


def test_postgresql_seals_rows_as_hmac_sha256_of_the_kept_key(pg_url: str) -> None:
    store = CaseStore(pg_url, create=True, actor="tester")
    _three(store)
    with store.engine.connect() as conn:
        inner, outer = conn.execute(sa.text("SELECT ipad, opad FROM audit_keys")).one()
    previous = GENESIS
    for row in _log(store):
        message = seal_message(previous, row.id, row.chain).encode()
        expected = hashlib.sha256(outer + hashlib.sha256(inner + message).digest()).hexdigest()
        assert row.mac == expected
        previous = row.mac
    store.close()


def test_a_missing_sqlite_key_is_one_line(
    sqlite_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    CaseStore(sqlite_url, create=True).close()
    monkeypatch.setenv("CASEBOOK_AUDIT_KEYS", str(tmp_path / "elsewhere"))
    assert main(["--db", sqlite_url, "audit", "--verify"]) == 1
    err = capsys.readouterr().err
    assert "the audit key of this store is missing at" in err and err.count("\n") == 1


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_more_rows_than_one_insert_takes_are_chained_and_sealed_in_order(
    backend: str, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    """PostgreSQL writes audit rows a few hundred to a statement (`_ROWS_PER_INSERT`): the
    seal trigger still sees each row's predecessor, across statements too."""
    url = request.getfixturevalue("pg_url" if backend == "postgresql" else "sqlite_url")
    store = CaseStore(url, create=True, actor="tester")
    many = audit_chain._ROWS_PER_INSERT * 2 + 7
    with store.transaction() as tx:
        tx.audit_many([(None, "note", f"n{n}", "create", None, {"n": n}) for n in range(many)])
    written = _log(store)
    rows = written[-many:]
    assert [r.entity_id for r in rows] == [f"n{n}" for n in range(many)]
    assert [r.id for r in rows] == sorted(r.id for r in rows)
    store.close()
    code, said = _verify(url, capsys)
    assert code == 0 and said.startswith(f"audit log intact: {len(written)} row(s), head ")


def test_the_sqlite_key_is_read_once_per_connection_and_from_a_moved_folder(
    sqlite_store: CaseStore, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with sqlite_store.engine.connect() as conn:
        first = sealing_key(conn)
        assert first == read_key(conn)
        key_path(store_id(conn)).rename(tmp_path / "kept.key")
        assert sealing_key(conn) == first  # kept with the connection
        monkeypatch.setenv("CASEBOOK_AUDIT_KEYS", str(tmp_path / "elsewhere"))
        with pytest.raises(StoreError, match="the audit key of this store is missing at"):
            sealing_key(conn)  # another folder is read, not the kept key
