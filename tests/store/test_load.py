"""A clinic under load on PostgreSQL (issue 23 item 5): ten practitioners, each with their
own database login, edit different patients at once; nothing is lost, every edit is audited
under the login that made it (whatever name the writer claims), and two people editing one
record see the second save refused with a line naming the first person and when."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from casebook.errors import ConflictError
from casebook.models import Note, Patient
from casebook.store import CaseStore
from casebook.store.role_kinds import Role
from tests.pg_roles import Clinic, clinic
from tests.threads import run_at_once

__all__ = ["clinic"]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

PRACTITIONERS = 10
EDITS = 6  # per practitioner: a new note and an edit of their running note, each time


def _login(url: str) -> str:
    return url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[0]


def test_ten_practitioners_at_once_lose_nothing_and_are_named(clinic: Clinic) -> None:
    owner = clinic.owner
    urls = [clinic.user(Role.PRACTITIONER, "load") for _ in range(PRACTITIONERS)]
    names = [_login(u) for u in urls]
    running = []
    for n in range(PRACTITIONERS):
        pid = f"load-{n}"
        owner.add_patient(Patient(id=pid, name=f"Load Case {n}", birth_date=date(1970, 1, 1)))
        running.append(owner.save(Note(patient_id=pid, written_on=date(2026, 1, 1), text="log:")))

    def practitioner(n: int) -> int:
        # Each claims to be the next one: the database names who really wrote.
        with CaseStore(urls[n], actor=names[(n + 1) % PRACTITIONERS]) as store:
            pid = f"load-{n}"
            note = running[n]
            for i in range(EDITS):
                store.save(Note(patient_id=pid, written_on=date(2026, 1, 2), text=f"n{n}.{i}"))
                note = store.save(note.model_copy(update={"text": f"{note.text} e{n}.{i}"}))
            return note.version

    versions = run_at_once([lambda n=n: practitioner(n) for n in range(PRACTITIONERS)])
    assert versions == [1 + EDITS] * PRACTITIONERS

    for n in range(PRACTITIONERS):
        pid = f"load-{n}"
        notes = {x.text for x in owner.load_case(pid).notes}
        assert notes == {f"n{n}.{i}" for i in range(EDITS)} | {
            "log: " + " ".join(f"e{n}.{i}" for i in range(EDITS))
        }
        entries = [e for e in owner.audit_log(pid) if e.entity == "note"]
        by_owner = [e for e in entries if e.actor == owner.actor]
        assert len(by_owner) == 1  # the running note the owner made
        assert {e.actor for e in entries if e not in by_owner} == {names[n]}
        assert len(entries) == 1 + 2 * EDITS
    assert owner.verify_audit_log().intact


def test_a_second_save_of_one_record_names_who_changed_it_and_when(clinic: Clinic) -> None:
    owner = clinic.owner
    alice_url, bob_url = clinic.user(Role.PRACTITIONER, "al"), clinic.user(Role.PRACTITIONER, "bo")
    alice = _login(alice_url)
    owner.add_patient(Patient(id="shared", name="Shared Case", birth_date=date(1970, 1, 1)))
    note = owner.save(Note(patient_id="shared", written_on=date(2026, 1, 1), text="plan"))
    with CaseStore(alice_url) as a, CaseStore(bob_url, actor=alice) as b:
        mine = next(x for x in a.load_case("shared").notes if x.id == note.id)
        theirs = next(x for x in b.load_case("shared").notes if x.id == note.id)
        before = datetime.now(UTC)
        a.save(mine.model_copy(update={"text": "plan: alice"}))
        after = datetime.now(UTC)
        with pytest.raises(ConflictError) as refused:
            b.save(theirs.model_copy(update={"text": "plan: bob"}))
        err = refused.value
        assert err.by == alice and err.at is not None and before <= err.at <= after
        line = str(err)
        assert "\n" not in line and f"changed by {alice} at {err.at:%Y-%m-%d %H:%M:%S} UTC" in line
        # Nothing of bob's was written; after a reload his save goes through, as himself.
        stored = next(x for x in owner.load_case("shared").notes if x.id == note.id)
        assert stored.text == "plan: alice"
        reloaded = next(x for x in b.load_case("shared").notes if x.id == note.id)
        b.save(reloaded.model_copy(update={"text": "plan: alice, bob"}))
    updates = [e.actor for e in owner.audit_log("shared") if e.action == "update"]
    assert updates == [alice, _login(bob_url)]
