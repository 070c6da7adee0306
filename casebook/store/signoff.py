"""Signing off in-range results in bulk: one action, one transaction, one audit entry each.

The caller (the clinic's worklist) chooses which results are in range and tells the version
it showed; a result written since (a corrected value), already reviewed or deleted is left
as it is, so only what the practitioner saw is signed off.
"""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa

from casebook.errors import InputError
from casebook.models import TestResult
from casebook.store.audit_chain import AuditEntryTuple
from casebook.store.records import entity_for
from casebook.store.transaction import Transaction

__all__ = ["SIGN_OFF_ACTION", "sign_off_results"]

SIGN_OFF_ACTION = "sign-off"  # the audit action of a result signed off in bulk


def sign_off_results(
    tx: Transaction, seen: Mapping[str, Mapping[str, int]]
) -> dict[str, list[TestResult]]:
    """Mark reviewed by the actor, now, every result in `seen` (patient id -> {result id:
    version shown}) that is live, not yet reviewed and still at that version; patients are
    locked in id order. Returns the results marked, by patient (patients with none left
    out). An unknown or deleted patient raises NotFoundError and nothing is written."""
    ent = entity_for(TestResult)
    t = ent.table
    now, done = tx.now(), {}
    entries: list[AuditEntryTuple] = []
    for patient_id in sorted(seen):
        wanted = seen[patient_id]
        for rid, version in wanted.items():
            if type(version) is not int:
                raise InputError(f"seen[{patient_id!r}][{rid!r}]: version must be a whole number")
        tx.lock_patient(patient_id)
        if not wanted:
            continue
        query = sa.select(t).where(
            t.c.patient_id == patient_id,
            t.c.deleted_at.is_(None),
            t.c.id.in_(list(wanted)),
            t.c.reviewed_at.is_(None),
        )
        marked = []
        for row in tx.conn.execute(query):
            current = ent.from_row(row)
            if not isinstance(current, TestResult) or current.version != wanted[current.id]:
                continue
            new = current.model_copy(
                update={"reviewed_at": now, "reviewed_by": tx.actor, "version": current.version + 1}
            )
            tx.conn.execute(
                sa.update(t)
                .where(t.c.id == new.id, t.c.version == current.version)
                .values(reviewed_at=now, reviewed_by=tx.actor, version=new.version)
            )
            entries.append(
                (
                    patient_id,
                    ent.kind,
                    new.id,
                    SIGN_OFF_ACTION,
                    ent.to_json(current),
                    ent.to_json(new),
                )
            )
            marked.append(new)
        if marked:
            tx.bump_version(patient_id)
            done[patient_id] = sorted(marked, key=lambda r: (r.collected_on, r.id))
    tx.audit_many(entries)
    return done
