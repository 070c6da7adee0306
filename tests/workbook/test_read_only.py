"""The workbook a reviewer opens is read-only and says so; a practitioner's is not."""

from __future__ import annotations

from datetime import date

import pytest

from casebook.errors import RoleError
from casebook.models import Note, Patient
from casebook.store.role_kinds import Role
from casebook.workbook.sections import header, open_case
from tests.pg_roles import Clinic, clinic

__all__ = ["clinic"]


def _texts(widget: object) -> str:
    children = getattr(widget, "children", ())
    return str(getattr(widget, "value", "")) + "".join(_texts(c) for c in children)


def test_a_reviewer_s_workbook_is_read_only(clinic: Clinic, close_widgets: None) -> None:
    clinic.owner.add_patient(Patient(id="p1", name="Pat One", birth_date=date(1970, 1, 1)))
    session = open_case("p1", clinic.user(Role.REVIEWER))
    try:
        assert (
            session.read_only
            == "Read-only: your role (reviewer) reads the record and never writes."
        )
        assert session.read_only in _texts(header(session).widget)
        with pytest.raises(RoleError, match=r"^Read-only: your role"):
            session.save([Note(patient_id="p1", written_on=date(2026, 1, 1), text="x")])
    finally:
        session.close()
    assert clinic.owner.load_case("p1").notes == []
    session = open_case("p1", clinic.user(Role.PRACTITIONER))
    try:
        assert session.read_only is None
        assert "Read-only" not in _texts(header(session).widget)
        session.save([Note(patient_id="p1", written_on=date(2026, 1, 1), text="x")])
    finally:
        session.close()
    assert len(clinic.owner.load_case("p1").notes) == 1
