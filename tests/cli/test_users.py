"""`casebook users` and what each role meets on the command line (PostgreSQL), and the
one line SQLite answers with (single-practitioner)."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from casebook.cli import main
from casebook.models import Patient, TestResult
from tests.pg_roles import Clinic, clinic

__all__ = ["clinic"]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_users_add_list_disable(clinic: Clinic, capsys: pytest.CaptureFixture[str]) -> None:
    name = clinic.user_name("desk")
    code, out, _ = _run(capsys, "--db", clinic.url, "users", "add", name, "--role", "front-desk")
    assert code == 0 and out.startswith(f"user {name} added as front-desk; password (shown")
    code, out, _ = _run(capsys, "--db", clinic.url, "users", "list")
    assert (code, out) == (0, f"{name}\tfront-desk\n")
    code, _, err = _run(capsys, "--db", clinic.url, "users", "add", name, "--role", "reviewer")
    assert code == 1 and "exists already" in err and err.count("\n") == 1
    assert _run(capsys, "--db", clinic.url, "users", "disable", name)[0] == 0
    assert (
        _run(capsys, "--db", clinic.url, "users", "list")[1] == f"{name}\tfront-desk (disabled)\n"
    )
    engine = sa.create_engine(clinic.url_of(name))
    with pytest.raises(sa.exc.OperationalError, match="not permitted to log in"):
        engine.connect()
    engine.dispose()
    code, _, err = _run(capsys, "--db", clinic.url, "users", "disable", "nobody_here")
    assert code == 1 and "no user 'nobody_here'" in err


def test_only_the_owner_or_an_admin_manages_users(
    clinic: Clinic, capsys: pytest.CaptureFixture[str]
) -> None:
    practitioner = clinic.user_name("dr")
    assert (
        _run(capsys, "--db", clinic.url, "users", "add", practitioner, "--role", "practitioner")[0]
        == 0
    )
    code, _, err = _run(
        capsys,
        "--db",
        clinic.url_of(practitioner),
        "users",
        "add",
        "x_" + practitioner,
        "--role",
        "admin",
    )
    assert (code, err) == (
        1,
        "casebook users: only the owner of the tables or an admin user may manage users\n",
    )
    admin = clinic.user_name("boss")
    assert _run(capsys, "--db", clinic.url, "users", "add", admin, "--role", "admin")[0] == 0
    added = clinic.user_name("rev")
    code, _, _ = _run(
        capsys, "--db", clinic.url_of(admin), "users", "add", added, "--role", "reviewer"
    )
    assert code == 0
    code, out, _ = _run(capsys, "--db", clinic.url_of(admin), "users", "list")
    assert out.splitlines() == sorted(
        [f"{admin}\tadmin", f"{practitioner}\tpractitioner", f"{added}\treviewer"]
    )
    code, _, err = _run(capsys, "--db", clinic.url_of(admin), "show", "p1")
    assert code == 1 and "your role cannot read" in err


def test_front_desk_show_is_one_line(clinic: Clinic, capsys: pytest.CaptureFixture[str]) -> None:
    clinic.owner.add_patient(Patient(id="p1", name="Pat One", birth_date=date(1970, 1, 1)))
    clinic.owner.save(
        TestResult(patient_id="p1", test="crp", collected_on=date(2026, 1, 1), value=3, unit="mg/L")
    )
    url = clinic.user_url("front-desk")
    code, out, err = _run(capsys, "--db", url, "show", "p1")
    assert (code, out) == (1, "")
    assert err == "casebook show: your role cannot read results, notes or plans\n"
    code, out, _ = _run(capsys, "--db", url, "patients")
    assert code == 0 and "Pat One" in out


def test_actor_and_casebook_user_are_not_who_is_recorded(
    clinic: Clinic, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = clinic.user_url("practitioner")
    login = sa.engine.make_url(url).username
    clinic.owner.add_patient(Patient(id="p1", name="Pat One", birth_date=date(1970, 1, 1)))
    monkeypatch.setenv("CASEBOOK_USER", "dr-other")
    clinic.owner.save(
        TestResult(patient_id="p1", test="crp", collected_on=date(2026, 1, 1), value=3, unit="mg/L")
    )
    assert _run(capsys, "--db", url, "--actor", "dr-other", "review", "p1", "--all")[0] == 0
    code, out, _ = _run(capsys, "--db", url, "audit", "p1")
    assert code == 0 and login in out and "dr-other" not in out
    code, out, _ = _run(capsys, "--db", url, "audit", "--verify")
    assert code == 0 and out.startswith("audit log intact:")


def test_sqlite_has_no_users(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", sqlite_url, "init", "--no-kernel"]) == 0
    code, _, err = _run(capsys, "--db", sqlite_url, "users", "list")
    assert code == 1
    assert err == (
        "casebook users: users and roles need PostgreSQL; a SQLite store is "
        "single-practitioner (the login that holds its file and audit key)\n"
    )
