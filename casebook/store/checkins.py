"""The store's side of patient check-ins: what a patient fills in through their link.

A check-in is sent with a patient link (`access_tokens`) and lives until its expiry. While
it is `sent` the patient may save answers and come back (a draft: nothing enters the case);
submitting it records the answers in the case at once, on a visit of kind `check-in` dated
the day they were sent, written and audited as the patient link (the transaction's actor),
never as a practitioner, so the red-flag rules, trends and the patient's page see them.
A check-in is answered once: the submission and its records are one transaction that
first claims the check-in, so a replayed or doubled submission writes nothing.

A practitioner then accepts it into a visit or marks it reviewed (`checkin_review`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from casebook.clinical.red_flags import CASE_PARTS
from casebook.errors import CheckinClosed, NotFoundError, StoreError
from casebook.models import (
    Case,
    InstrumentResponse,
    Patient,
    SymptomRating,
    Visit,
    new_id,
)
from casebook.store import tables
from casebook.store.audit_chain import send_head
from casebook.store.pipeline import Pending, pipelined, send
from casebook.store.reads import send_case_parts
from casebook.store.records import aware, patient_from_row
from casebook.store.transaction import Transaction
from casebook.store.writes import insert_records

__all__ = [
    "CHECKIN_STATES",
    "CheckinKey",
    "Opened",
    "StoredCheckin",
    "add_checkin",
    "checkin_of_row",
    "checkin_query",
    "checkins_with_status",
    "get_checkin",
    "open_checkin",
    "patient_checkins",
    "save_draft",
    "send_checkin_read",
    "submit_checkin",
    "update_checkin",
]

CHECKIN_STATES = ("sent", "submitted", "accepted", "reviewed")
"""sent (open for answers), submitted (to review), accepted (into a visit), reviewed."""


@dataclass(frozen=True)
class StoredCheckin:
    """One check-in as stored. `link_ended`: its link was revoked or the patient deleted."""

    id: str
    patient_id: str
    token_hash: str
    instruments: tuple[str, ...]
    due_on: date | None
    created_at: datetime
    expires_at: datetime
    status: str
    answers: dict[str, dict[str, Any]]
    free_text: str
    saved_at: datetime | None
    submitted_at: datetime | None
    visit_id: str | None
    accepted_into: str | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    version: int
    link_ended: bool

    def closed_reason(self, now: datetime) -> str | None:
        """Why it takes no answers at `now` (submitted, revoked, expired), or None."""
        if self.status != "sent":
            return "already submitted"
        if self.link_ended:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return None


@dataclass(frozen=True)
class CheckinKey:
    """Which check-in, of which patient: what a writer needs before it reads the check-in
    under the patient's lock (`open_checkin`). A `StoredCheckin` serves as well."""

    id: str
    patient_id: str


def _query() -> sa.Select[Any]:
    c, tokens, patients = tables.checkins, tables.access_tokens, tables.patients
    ended = sa.or_(tokens.c.revoked_at.is_not(None), patients.c.deleted_at.is_not(None))
    return (
        sa.select(c, ended.label("link_ended"))
        .join(tokens, tokens.c.token_hash == c.c.token_hash)
        .join(patients, patients.c.id == c.c.patient_id)
    )


def _stamp(value: datetime | None) -> datetime | None:
    return None if value is None else aware(value)


def _from_row(row: Any) -> StoredCheckin:
    return StoredCheckin(
        id=row.id,
        patient_id=row.patient_id,
        token_hash=row.token_hash,
        instruments=tuple(row.instruments),
        due_on=row.due_on,
        created_at=aware(row.created_at),
        expires_at=aware(row.expires_at),
        status=row.status,
        answers=dict(row.answers),
        free_text=row.free_text,
        saved_at=_stamp(row.saved_at),
        submitted_at=_stamp(row.submitted_at),
        visit_id=row.visit_id,
        accepted_into=row.accepted_into,
        reviewed_by=row.reviewed_by,
        reviewed_at=_stamp(row.reviewed_at),
        version=row.version,
        link_ended=bool(row.link_ended),
    )


@functools.cache
def _by_id() -> sa.Select[Any]:
    return _query().where(tables.checkins.c.id == sa.bindparam("checkin_id"))


def get_checkin(conn: sa.Connection, checkin_id: str) -> StoredCheckin | None:
    """The check-in of this id, or None."""
    row = conn.execute(_by_id(), {"checkin_id": checkin_id}).first()
    return None if row is None else _from_row(row)


def checkin_query() -> sa.Select[Any]:
    """`get_checkin`'s statement (bound `checkin_id`), for a read made another way."""
    return _by_id()


def checkin_of_row(row: Any) -> StoredCheckin:
    """The check-in of a row read with `checkin_query` (by name: `row.id`, ...)."""
    return _from_row(row)


def send_checkin_read(conn: sa.Connection, checkin_id: str) -> Callable[[], StoredCheckin | None]:
    """`get_checkin` sent (inside `pipeline.pipelined`, with other reads): what reads it."""
    sent = send(conn, _by_id(), {"checkin_id": checkin_id})
    return lambda: next((_from_row(r) for r in sent()), None)


def patient_checkins(conn: sa.Connection, patient_id: str) -> list[StoredCheckin]:
    """The patient's check-ins, oldest first."""
    c = tables.checkins
    rows = conn.execute(
        _query().where(c.c.patient_id == patient_id).order_by(c.c.created_at, c.c.id)
    )
    return [_from_row(r) for r in rows]


def checkins_with_status(conn: sa.Connection, status: str) -> list[StoredCheckin]:
    """Every live patient's check-ins in `status` (e.g. submitted: to review), oldest first."""
    c = tables.checkins
    query = (
        _query()
        .where(c.c.status == status, tables.patients.c.deleted_at.is_(None))
        .order_by(c.c.submitted_at, c.c.id)
    )
    return [_from_row(r) for r in conn.execute(query)]


def add_checkin(
    tx: Transaction,
    patient_id: str,
    token_hash: str,
    instruments: Sequence[str],
    *,
    due_on: date | None,
    created_at: datetime,
    expires_at: datetime,
) -> StoredCheckin:
    """Store a new check-in of a live patient, sent with the link `token_hash`. Audited;
    the record version moves on, so the patient's page shows it is ready."""
    tx.lock_patient(patient_id)
    checkin_id = new_id()
    tx.conn.execute(
        tables.checkins.insert(),
        {
            "id": checkin_id,
            "patient_id": patient_id,
            "token_hash": token_hash,
            "instruments": list(instruments),
            "due_on": due_on,
            "created_at": created_at,
            "expires_at": expires_at,
            "status": "sent",
            "answers": {},
            "free_text": "",
            "version": 1,
        },
    )
    tx.bump_version(patient_id)
    tx.audit(
        patient_id,
        "checkin",
        checkin_id,
        "send",
        None,
        {"instruments": list(instruments), "expires_at": expires_at.isoformat()},
    )
    return _reread(tx, checkin_id)


@functools.cache
def _locked() -> sa.Select[Any]:
    """A live patient, its row locked (as `Transaction.lock_patient`), and joined to it
    the check-in of this id when it is theirs (its columns as checkin_*): one statement."""
    c, tokens, p = tables.checkins, tables.access_tokens, tables.patients
    theirs = sa.and_(c.c.patient_id == p.c.id, c.c.id == sa.bindparam("checkin_id"))
    return (
        sa.select(
            p,
            *(col.label(f"checkin_{col.name}") for col in c.c),
            tokens.c.revoked_at.is_not(None).label("checkin_link_ended"),
        )
        .select_from(
            p.outerjoin(c, theirs).outerjoin(tokens, tokens.c.token_hash == c.c.token_hash)
        )
        .where(p.c.id == sa.bindparam("patient_id"), p.c.deleted_at.is_(None))
        .with_for_update(of=p)
    )


_CHECKIN_KEYS = (*(f"checkin_{col.name}" for col in tables.checkins.c), "checkin_link_ended")


@dataclass(frozen=True)
class Opened:
    """What `open_checkin` read under the patient's lock: the patient and the check-in."""

    patient: Patient
    checkin: StoredCheckin


def open_checkin(tx: Transaction, checkin_id: str, patient_id: str, now: datetime) -> Opened:
    """The patient (its row locked until the transaction ends) and the check-in, if it
    still takes answers; NotFoundError when it is not this patient's, CheckinClosed when
    it takes none. On PostgreSQL the transaction's BEGIN and this read go to the server
    together (`pipeline`): one round trip. `save_draft` and `submit_checkin` take what
    this returned."""
    with pipelined(tx.conn):
        sent = send(tx.conn, _locked(), {"patient_id": patient_id, "checkin_id": checkin_id})
    rows = sent()
    if not rows:  # deleted (or unknown): the link has ended
        raise CheckinClosed("revoked")
    row = rows[0]
    patient = patient_from_row(row)
    if row.checkin_id is None:  # none of this id, or another patient's
        raise NotFoundError(f"no check-in {checkin_id!r} for this link")
    found = _from_row(SimpleNamespace(**{k[8:]: row._mapping[k] for k in _CHECKIN_KEYS}))
    reason = found.closed_reason(now)
    if reason is not None:
        raise CheckinClosed(reason)
    return Opened(patient, found)


@functools.cache
def _updating(names: tuple[str, ...]) -> sa.Update:
    """The UPDATE of these columns of one check-in at its version, built once per set of
    columns (bound `checkin_id`, `old_version`, `new_<column>`): SQLAlchemy would
    otherwise rebuild and re-key it on every write."""
    c = tables.checkins
    return (
        sa.update(c)
        .where(c.c.id == sa.bindparam("checkin_id"), c.c.version == sa.bindparam("old_version"))
        .values(
            version=sa.bindparam("old_version") + 1,
            **{name: sa.bindparam(f"new_{name}", type_=c.c[name].type) for name in names},
        )
    )


def update_checkin(
    tx: Transaction, found: StoredCheckin, *, counted: bool = True, **values: Any
) -> StoredCheckin:
    """Write `values` over the check-in read as `found` (under its patient's lock, so it
    cannot have moved on) and return it as now stored, without reading it again.
    `counted=False` in a pipeline (no row count there): the caller checks the version."""
    bound = {f"new_{name}": value for name, value in values.items()}
    changed = tx.conn.execute(
        _updating(tuple(sorted(values))),
        {"checkin_id": found.id, "old_version": found.version, **bound},
    ).rowcount
    if counted and changed != 1:  # pragma: no cover - the patient lock makes this unreachable
        raise StoreError(f"check-in {found.id!r} changed while it was written")
    return replace(found, version=found.version + 1, **values)


def _reread(tx: Transaction, checkin_id: str) -> StoredCheckin:
    found = get_checkin(tx.conn, checkin_id)
    if found is None:  # pragma: no cover - written in this very transaction
        raise StoreError(f"check-in {checkin_id!r} vanished while it was written")
    return found


def save_draft(
    tx: Transaction,
    opened: Opened,
    answers: dict[str, dict[str, Any]],
    free_text: str,
    *,
    now: datetime,
) -> StoredCheckin:
    """Keep answers so far on the check-in `open_checkin` returned in this transaction
    (nothing enters the case). Audited as the transaction's actor."""
    found = opened.checkin
    with pipelined(tx.conn):
        saved = update_checkin(
            tx, found, counted=False, answers=answers, free_text=free_text, saved_at=now
        )
        claimed = send(tx.conn, _version(), {"checkin_id": found.id})
        head = send_head(tx.conn)
    _written(found, saved, claimed)
    entry = (found.patient_id, "checkin", found.id, "draft", None, {"answers": answers})
    tx.audit_many([entry], head=head())
    return saved


def submit_checkin(
    tx: Transaction,
    opened: Opened,
    answers: dict[str, dict[str, Any]],
    free_text: str,
    records: Sequence[InstrumentResponse | SymptomRating],
    visit: Visit,
    *,
    now: datetime,
) -> tuple[StoredCheckin, Case]:
    """Claim the check-in `open_checkin` returned in this transaction, and record `visit`
    (kind check-in) and `records` on it: one version bump and one audit append, as the
    transaction's actor (the patient link). Returns the check-in and the parts of the case
    the red-flag rules read (`red_flags.CASE_PARTS`) as they now stand, read under the
    patient's lock, so the flags are known at once. On PostgreSQL the writes, those reads
    and the audit chain's lock and head go to the server together (`pipeline`): one round
    trip, then the audit rows, then the commit. The chain (one lock for every writer of
    the store) is held only from the end of that round trip: checking and preparing the
    answers runs under the patient's lock alone."""
    found, patient = opened.checkin, opened.patient
    with pipelined(tx.conn):
        submitted = update_checkin(
            tx,
            found,
            counted=False,
            status="submitted",
            answers=answers,
            free_text=free_text,
            saved_at=now,
            submitted_at=now,
            visit_id=visit.id,
        )
        claimed = send(tx.conn, _version(), {"checkin_id": found.id})
        written, audit = insert_records(tx, patient, [visit, *records])
        case = send_case_parts(tx.conn, patient, CASE_PARTS, written)
        tx.bump_version(patient.id)
        head = send_head(tx.conn)
    _written(found, submitted, claimed)
    submit = {"answers": answers, "free_text": free_text, "visit": visit.id}
    entry = (patient.id, "checkin", found.id, "submit", None, submit)
    tx.audit_many([*audit, entry], head=head())
    return submitted, case()


def _written(found: StoredCheckin, written: StoredCheckin, claimed: Pending) -> None:
    if [r.version for r in claimed()] != [written.version]:  # pragma: no cover - locked
        raise StoreError(f"check-in {found.id!r} changed while it was written")


@functools.cache
def _version() -> sa.Select[Any]:
    c = tables.checkins
    return sa.select(c.c.version).where(c.c.id == sa.bindparam("checkin_id"))
