"""Roles enforced by PostgreSQL: who may read and write what, and the audit actor taken
from the login whatever name the writer claims."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from casebook.errors import RoleError
from casebook.models import Note, Patient, TestResult
from casebook.store import CaseStore
from casebook.store.role_kinds import Role
from casebook.store.roles import ACCESS, TableAccess
from casebook.store.tables import metadata
from tests.pg_roles import Clinic, clinic

__all__ = ["clinic"]


def _patient(store: CaseStore, pid: str = "p1") -> None:
    store.add_patient(Patient(id=pid, name="Pat One", birth_date=date(1970, 1, 1)))


def test_every_table_has_an_access_entry() -> None:
    """A new table (check-ins, appointments) must say who may use it: one entry."""
    assert set(metadata.tables) <= set(ACCESS)


def test_the_actor_is_the_login_whatever_the_writer_claims(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = clinic.user(Role.PRACTITIONER, "dr")
    name = url.split("://", 1)[1].split("@", 1)[0]
    monkeypatch.setenv("CASEBOOK_USER", "dr-someone-else")
    with CaseStore(url) as store:
        assert store.actor == name
        _patient(store)
        store.save(Note(patient_id="p1", written_on=date(2026, 1, 1), text="seen"))
    with CaseStore(url, actor="dr-forger") as store:
        store.save(Note(patient_id="p1", written_on=date(2026, 1, 2), text="again"))
        assert {e.actor for e in store.audit_log("p1")} == {name}
        assert store.verify_audit_log().intact


def test_the_owner_names_the_actor(clinic: Clinic) -> None:
    _patient(clinic.owner)
    assert [e.actor for e in clinic.owner.audit_log("p1")] == ["owner"]


def test_front_desk_keeps_names_and_links_but_cannot_read_results(clinic: Clinic) -> None:
    url = clinic.user(Role.FRONT_DESK, "desk")
    _patient(clinic.owner)
    clinic.owner.save(
        TestResult(patient_id="p1", test="crp", collected_on=date(2026, 1, 1), value=3, unit="mg/L")
    )
    with CaseStore(url) as desk:
        assert desk.role() is Role.FRONT_DESK
        _patient(desk, "p2")
        assert [p.id for p in desk.patients()] == ["p1", "p2"]
        with pytest.raises(RoleError, match=r"^your role cannot read results, notes or plans$"):
            desk.load_case("p1")
        with pytest.raises(RoleError, match=r"^your role cannot change results, notes or plans$"):
            desk.save(Note(patient_id="p2", written_on=date(2026, 1, 1), text="x"))
        with desk.engine.connect() as conn, pytest.raises(sa.exc.ProgrammingError):
            conn.exec_driver_sql("SELECT before, after FROM audit_log")
    assert clinic.owner.verify_audit_log().intact


def test_a_reviewer_reads_and_never_writes(clinic: Clinic) -> None:
    url = clinic.user(Role.REVIEWER, "rev")
    _patient(clinic.owner)
    with CaseStore(url) as reviewer:
        assert (reviewer.role(), reviewer.can_write()) == (Role.REVIEWER, False)
        assert reviewer.load_case("p1").patient.id == "p1"
        assert reviewer.verify_audit_log().intact
        with pytest.raises(RoleError, match=r"^your role cannot change audit checkpoints$"):
            reviewer.checkpoint_audit_log()
        with pytest.raises(RoleError, match=r"^your role cannot change patients$"):
            reviewer.save(Note(patient_id="p1", written_on=date(2026, 1, 1), text="x"))
        with pytest.raises(RoleError, match=r"^your role cannot change patients$"):
            _patient(reviewer, "p2")
    with CaseStore(clinic.user(Role.PRACTITIONER)) as practitioner:
        assert (practitioner.role(), practitioner.can_write()) == (Role.PRACTITIONER, True)
    assert clinic.owner.can_write()


def test_everyday_logins_cannot_touch_the_key_triggers_or_rows(clinic: Clinic) -> None:
    _patient(clinic.owner)
    engine = sa.create_engine(clinic.user(Role.PRACTITIONER))
    attacks = [
        "SELECT * FROM audit_keys",
        "SELECT casebook_hmac('x')",
        "DROP TRIGGER audit_log_seal ON audit_log",
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
        "DELETE FROM audit_log",
        "UPDATE audit_log SET actor = 'x'",
        "DELETE FROM audit_checkpoints",
        "INSERT INTO audit_checkpoints (at, actor, upto_id, row_count, head, sig) "
        "VALUES (now(), 'x', 0, 0, 'x', 'x')",
    ]
    for attack in attacks:
        with pytest.raises(sa.exc.ProgrammingError), engine.begin() as conn:
            conn.exec_driver_sql(attack)
    engine.dispose()
    assert clinic.owner.verify_audit_log().intact


def test_a_new_table_is_one_access_entry(clinic: Clinic, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the check-ins tables will do: one entry in ACCESS, granted at `casebook init`."""
    desk = sa.create_engine(clinic.user(Role.FRONT_DESK))
    with clinic.owner.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE checkins_probe (id integer PRIMARY KEY)")
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"), desk.connect() as c:
        c.exec_driver_sql("SELECT * FROM checkins_probe")
    monkeypatch.setitem(
        ACCESS, "checkins_probe", TableAccess("check-ins", {Role.FRONT_DESK: "write"})
    )
    CaseStore(clinic.url, create=True).close()  # casebook init by the owner
    with desk.begin() as c:
        c.exec_driver_sql("INSERT INTO checkins_probe VALUES (1)")
        assert c.exec_driver_sql("SELECT count(*) FROM checkins_probe").scalar() == 1
    desk.dispose()
