"""Several writers at once: no update is lost, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import date

from casebook.models import Note, Patient, PlanItem
from casebook.store import CaseStore, ConflictError

WRITERS = 4
EDITS = 12


def test_concurrent_read_modify_write_loses_nothing(db_url: str) -> None:
    setup = CaseStore(db_url, create=True, actor="setup")
    setup.add_patient(Patient(id="shared", name="Shared Case", birth_date=date(1970, 1, 1)))
    note = setup.save(Note(patient_id="shared", written_on=date(2026, 1, 1), text="log:"))
    conflicts = [0] * WRITERS
    errors: list[BaseException] = []
    start = threading.Barrier(WRITERS)

    def writer(n: int) -> None:
        # Each writer has its own store (its own connections), like separate kernels.
        store = CaseStore(db_url, actor=f"writer-{n}")
        try:
            start.wait()
            for i in range(EDITS):
                while True:  # the retry loop a UI runs after showing a conflict
                    current = next(x for x in store.load_case("shared").notes if x.id == note.id)
                    try:
                        store.save(current.model_copy(update={"text": f"{current.text} w{n}.{i}"}))
                        # An unrelated record in the same case, saved at the same time.
                        store.save(
                            PlanItem(
                                patient_id="shared",
                                category="herbal",
                                no_substance_reason="Synthetic test item, no catalog substance",
                                name=f"item w{n}.{i}",
                            )
                        )
                        break
                    except ConflictError:
                        conflicts[n] += 1
        except BaseException as exc:  # surfaced below; a thread cannot fail the test itself
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert not errors, errors
    case = setup.load_case("shared")
    final = next(x for x in case.notes if x.id == note.id)
    tokens = final.text.split()[1:]
    expected = {f"w{n}.{i}" for n in range(WRITERS) for i in range(EDITS)}
    assert sorted(tokens) == sorted(expected)  # every edit is there exactly once
    assert final.version == 1 + WRITERS * EDITS
    assert {p.name for p in case.plan} == {f"item {t}" for t in expected}
    updates = [e for e in setup.audit_log("shared") if e.action == "update"]
    assert len(updates) == WRITERS * EDITS
    assert {e.actor for e in updates} == {f"writer-{n}" for n in range(WRITERS)}
    setup.close()
