"""`CaseStore`: the single source of truth for every case.

Every public write is one transaction. Every change is written to the append-only
audit log with who, when, what, before and after. Saves are optimistic: a record
carries the version it was read at, and a save based on an older version raises
`ConflictError` (carrying the newer record), so no edit is silently lost.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import sqlalchemy as sa

from casebook.catalog import Catalog, default_catalog
from casebook.clinical.derive import prepare
from casebook.models import Case, LetterRecord, Note, Patient, PlanItem, Record, TestOrder, Visit
from casebook.store import flags, reads, tables
from casebook.store import letters as letters_store
from casebook.store.chain import Verdict, append, verify
from casebook.store.engine import (
    NEW_PATIENTS_LOCK,
    StoreError,
    advisory_lock,
    create_store_engine,
    redact_url,
    resolve_url,
)
from casebook.store.errors import (
    AuditEntry,
    ConflictError,
    NotFoundError,
    PatientSummary,
    integrity_message,
)
from casebook.store.migrate import current_revision, head_revision, upgrade
from casebook.store.records import (
    ENTITIES,
    Entity,
    chunked,
    entity_for,
    patient_from_row,
    patient_to_row,
)

__all__ = ["AuditEntry", "CaseStore", "ConflictError", "NotFoundError", "PatientSummary"]

R = TypeVar("R", bound=Record)


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class CaseStore:
    """Open a store by URL (`None`: `$CASEBOOK_DB`, else `sqlite:///casebook.db`).

    `create=True` creates or migrates the schema; otherwise a store that is missing
    or behind the code raises StoreError telling the user to run `casebook init`.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        actor: str | None = None,
        create: bool = False,
        catalog: Catalog | None = None,
    ) -> None:
        self.url = resolve_url(url)
        self.actor = actor or os.environ.get("CASEBOOK_USER") or _login()
        self.catalog = catalog or default_catalog()
        self.engine = create_store_engine(self.url)
        try:
            if create:
                upgrade(self.engine)
            revision = current_revision(self.engine)
        except sa.exc.OperationalError as exc:
            self.engine.dispose()
            raise StoreError(
                f"cannot open the store at {redact_url(self.url)}: {exc.orig}"
            ) from None
        if revision != head_revision():
            self.engine.dispose()
            what = "has no casebook schema" if revision is None else f"is at schema {revision}"
            raise StoreError(
                f"the store at {redact_url(self.url)} {what}; run `casebook init` "
                f"(with the same --db) to create or migrate it"
            )

    def __repr__(self) -> str:
        return f"CaseStore({redact_url(self.url)!r})"

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> CaseStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transactions -------------------------------------------------------------
    @contextmanager
    def _transaction(self) -> Iterator[sa.Connection]:
        """One write transaction, for several operations (`_save_in`, `_delete_in`)."""
        with self.engine.connect().execution_options(casebook_write=True) as conn, conn.begin():
            yield conn

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    def _audit(self, conn: sa.Connection, patient_id: str | None, entity: str,
               entity_id: str | None, action: str, before: Any, after: Any) -> None:
        append(conn, self.actor, [(patient_id, entity, entity_id, action, before, after)])

    def _lock_patient(self, conn: sa.Connection, patient_id: str) -> Patient:
        """Read a live patient, holding its row lock until the transaction ends, so that
        writers of one case are serialized (SQLite's write transaction locks it all)."""
        p = tables.patients
        row = conn.execute(
            sa.select(p).where(p.c.id == patient_id, p.c.deleted_at.is_(None)).with_for_update()
        ).first()
        if row is None:
            raise NotFoundError(f"no patient {patient_id!r} in the store")
        return patient_from_row(row)

    def _bump(self, conn: sa.Connection, patient_id: str) -> None:
        """Mark the case changed: record_version + 1 and updated_at = now."""
        p = tables.patients
        conn.execute(
            sa.update(p)
            .where(p.c.id == patient_id)
            .values(record_version=p.c.record_version + 1, updated_at=_now())
        )

    # --- patients -------------------------------------------------------------------
    def add_patient(self, patient: Patient) -> Patient:
        with self._transaction() as conn:
            return self._insert_patient(conn, patient)

    def _insert_patient(
        self, conn: sa.Connection, patient: Patient, *, keep_versions: bool = False
    ) -> Patient:
        p = tables.patients
        advisory_lock(conn, NEW_PATIENTS_LOCK)
        existing = conn.execute(
            sa.select(p.c.id, p.c.deleted_at).where(p.c.id == patient.id)
        ).first()
        if existing is not None:
            state = " (deleted)" if existing.deleted_at is not None else ""
            raise StoreError(f"patient {patient.id!r} already exists{state}")
        if not keep_versions or patient.version == 0:
            patient = patient.model_copy(update={"version": 1, "record_version": 1})
        now = _now()
        conn.execute(p.insert(), {**patient_to_row(patient), "created_at": now, "updated_at": now})
        self._audit(
            conn, patient.id, "patient", patient.id, "create", None, patient.model_dump(mode="json")
        )
        return patient

    def save_patient(self, patient: Patient) -> Patient:
        if patient.version == 0:
            return self.add_patient(patient)
        with self._transaction() as conn:
            return self._save_patient_in(conn, patient)

    def _save_patient_in(self, conn: sa.Connection, patient: Patient) -> Patient:
        current = self._lock_patient(conn, patient.id)
        if current.version != patient.version:
            raise ConflictError(
                "patient", patient.id, patient.version, current, self._last_actor(conn, patient.id)
            )
        if patient.model_copy(update={"record_version": current.record_version}) == current:
            return current
        self._bump(conn, patient.id)
        new = patient.model_copy(
            update={"version": patient.version + 1, "record_version": current.record_version + 1}
        )
        conn.execute(
            sa.update(tables.patients)
            .where(tables.patients.c.id == patient.id)
            .values(name=new.name, birth_date=new.birth_date, sex=new.sex, version=new.version)
        )
        self._audit(
            conn,
            patient.id,
            "patient",
            patient.id,
            "update",
            current.model_dump(mode="json"),
            new.model_dump(mode="json"),
        )
        return new

    def delete_patient(self, patient_id: str, expected_version: int) -> None:
        with self._transaction() as conn:
            current = self._lock_patient(conn, patient_id)
            if current.version != expected_version:
                raise ConflictError("patient", patient_id, expected_version, current,
                                    self._last_actor(conn, patient_id))
            conn.execute(
                sa.update(tables.patients)
                .where(tables.patients.c.id == patient_id)
                .values(deleted_at=_now(), version=current.version + 1)
            )
            self._bump(conn, patient_id)
            self._audit(conn, patient_id, "patient", patient_id, "delete",
                        current.model_dump(mode="json"), None)

    def get_patient(self, patient_id: str) -> Patient:
        p = tables.patients
        with self._read() as conn:
            row = conn.execute(
                sa.select(p).where(p.c.id == patient_id, p.c.deleted_at.is_(None))
            ).first()
        if row is None:
            raise NotFoundError(f"no patient {patient_id!r} in the store")
        return patient_from_row(row)

    def patients(self, *, changed_since: datetime | None = None) -> list[PatientSummary]:
        p = tables.patients
        query = sa.select(p).where(p.c.deleted_at.is_(None)).order_by(p.c.id)
        if changed_since is not None:
            query = query.where(p.c.updated_at >= changed_since)
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [
            PatientSummary(
                id=r.id,
                name=r.name,
                birth_date=r.birth_date,
                sex=r.sex,
                record_version=r.record_version,
                updated_at=_aware(r.updated_at),
            )
            for r in rows
        ]

    def existing_patients(self, ids: Sequence[str]) -> dict[str, Patient]:
        p = tables.patients
        found: dict[str, Patient] = {}
        with self._read() as conn:
            for chunk in chunked(sorted(set(ids))):
                rows = conn.execute(
                    sa.select(p).where(p.c.id.in_(chunk), p.c.deleted_at.is_(None))
                ).all()
                found.update((r.id, patient_from_row(r)) for r in rows)
        return found

    # --- records ----------------------------------------------------------------------
    def load_case(self, patient_id: str) -> Case:
        with self._read() as conn:
            return self._load_case_in(conn, patient_id)

    def _load_case_in(self, conn: sa.Connection, patient_id: str) -> Case:
        p = tables.patients
        row = conn.execute(
            sa.select(p).where(p.c.id == patient_id, p.c.deleted_at.is_(None))
        ).first()
        if row is None:
            raise NotFoundError(f"no patient {patient_id!r} in the store")
        parts: dict[str, list[Record]] = {}
        for ent in ENTITIES:
            t = ent.table
            rows = conn.execute(
                sa.select(t)
                .where(t.c.patient_id == patient_id, t.c.deleted_at.is_(None))
                .order_by(*(t.c[c] for c in ent.order_by))
            ).all()
            parts[ent.collection] = [ent.from_row(r) for r in rows]
        # Every part was validated row by row; the whole was validated when saved.
        return Case.model_construct(patient=patient_from_row(row), **cast("dict[str, Any]", parts))

    # Bulk reads and results reviewed: casebook/store/reads.py.
    load_cases = reads.load_cases
    birth_and_sex = reads.birth_and_sex
    # The red-flag lifecycle (casebook.clinical.flag_lifecycle): casebook/store/flags.py.
    review_flag = flags.review_flag
    flag_statuses = flags.flag_statuses
    flag_reviews = flags.flag_reviews
    mark_results_reviewed = reads.mark_results_reviewed
    patients_changed_by = reads.patients_changed_by
    page_stamp = reads.page_stamp

    def save(self, record: R) -> R:
        """Insert (version 0) or update (version as read) one record; returns it as saved."""
        if isinstance(record, LetterRecord):
            return self.save_letter(record)  # type: ignore[return-value]  # never edited
        with self._transaction() as conn:
            return self._save_in(conn, record)

    def save_many(
        self, records: Sequence[Record] = (), *, deletes: Sequence[Record] = ()
    ) -> list[Record]:
        """Save `records` (as `save` does) and soft-delete `deletes`, in one transaction:
        all of it is written or, on ConflictError, RecordError or StoreError, none of it.
        Returns the saved records in order."""
        with self._transaction() as conn:
            saved = [self._save_in(conn, record) for record in records]
            for record in deletes:
                self._delete_in(conn, record)
        return saved

    def _save_in(self, conn: sa.Connection, record: R) -> R:
        """`save` inside a transaction of the caller's (see `_transaction`)."""
        ent = entity_for(record)
        patient = self._lock_patient(conn, record.patient_id)
        case = self._load_case_in(conn, patient.id) if isinstance(record, PlanItem) else None
        record = cast(R, prepare(record, self.catalog, patient, case))  # prepare keeps the type
        t = ent.table
        if record.version == 0:
            new = record.model_copy(update={"version": 1})
            try:
                with conn.begin_nested():
                    conn.execute(t.insert(), ent.to_row(new))
            except sa.exc.IntegrityError as exc:
                raise StoreError(integrity_message(ent.kind, new, exc)) from None
            self._bump(conn, new.patient_id)
            self._audit(conn, new.patient_id, ent.kind, new.id, "create", None, ent.to_json(new))
            return new
        current = self._current(conn, ent, record)
        record = cast(R, reads.review_cleared(record, current))  # changed value: review again
        if record == current:
            return current  # nothing changed: no write, no audit entry
        new = record.model_copy(update={"version": record.version + 1})
        try:
            with conn.begin_nested():
                updated = conn.execute(
                    sa.update(t)
                    .where(t.c.id == record.id, t.c.version == record.version)
                    .values(ent.to_row(new))
                ).rowcount
        except sa.exc.IntegrityError as exc:
            raise StoreError(integrity_message(ent.kind, new, exc)) from None
        if updated != 1:  # pragma: no cover - the patient lock makes this unreachable
            raise ConflictError(ent.kind, record.id, record.version, None, None)
        self._bump(conn, new.patient_id)
        self._audit(
            conn, new.patient_id, ent.kind, new.id, "update", ent.to_json(current), ent.to_json(new)
        )
        return new

    def _current(self, conn: sa.Connection, ent: Entity, record: Record) -> Record:
        """The stored version of `record`, or ConflictError if it moved on or was deleted."""
        t = ent.table
        row = conn.execute(sa.select(t).where(t.c.id == record.id)).first()
        if row is None or row.patient_id != record.patient_id:
            raise NotFoundError(f"no {ent.kind} {record.id!r} for patient {record.patient_id!r}")
        current = None if row.deleted_at is not None else ent.from_row(row)
        if current is None or current.version != record.version:
            by = self._last_actor(conn, record.patient_id, record.id)
            raise ConflictError(ent.kind, record.id, record.version, current, by)
        return current

    def delete(self, record: Record) -> None:
        """Soft-delete a record (audited). Deleting a visit also deletes its ratings and
        instrument answers, and detaches its notes and orders."""
        with self._transaction() as conn:
            self._delete_in(conn, record)

    def _delete_in(self, conn: sa.Connection, record: Record) -> None:
        ent = entity_for(record)
        self._lock_patient(conn, record.patient_id)
        t = ent.table
        current = self._current(conn, ent, record)
        if isinstance(current, Visit):
            self._detach_visit(conn, current)
        conn.execute(
            sa.update(t)
            .where(t.c.id == record.id)
            .values(deleted_at=_now(), version=current.version + 1)
        )
        self._bump(conn, record.patient_id)
        self._audit(
            conn, record.patient_id, ent.kind, record.id, "delete", ent.to_json(current), None
        )

    def _detach_visit(self, conn: sa.Connection, visit: Visit) -> None:
        for ent in ENTITIES:
            if "visit_id" not in ent.table.c or ent.model is Visit:
                continue
            t = ent.table
            rows = conn.execute(
                sa.select(t).where(t.c.visit_id == visit.id, t.c.deleted_at.is_(None))
            ).all()
            for row in rows:
                child = ent.from_row(row)
                if ent.model in (Note, TestOrder):
                    self._save_in(conn, child.model_copy(update={"visit_id": None}))
                else:
                    conn.execute(
                        sa.update(t)
                        .where(t.c.id == child.id)
                        .values(deleted_at=_now(), version=child.version + 1)
                    )
                    self._audit(conn, child.patient_id, ent.kind, child.id, "delete",
                                ent.to_json(child), None)

    save_letter, letters = letters_store.save_letter, letters_store.letters  # kept letters
    latest_letter = letters_store.latest_letter

    def _last_actor(
        self, conn: sa.Connection, patient_id: str, entity_id: str | None = None
    ) -> str | None:
        a = tables.audit_log
        query = sa.select(a.c.actor).where(a.c.patient_id == patient_id)
        if entity_id is not None:
            query = query.where(a.c.entity_id == entity_id)
        return conn.execute(query.order_by(a.c.id.desc()).limit(1)).scalar()

    # --- audit -------------------------------------------------------------------------
    def audit_log(self, patient_id: str) -> list[AuditEntry]:
        a = tables.audit_log
        with self._read() as conn:
            rows = conn.execute(
                sa.select(a).where(a.c.patient_id == patient_id).order_by(a.c.id)
            ).all()
        return [AuditEntry(**{**r._mapping, "at": _aware(r.at)}) for r in rows]

    def verify_audit_log(self) -> Verdict:
        """Check the whole audit log's hash chain; the first broken link, if any."""
        with self._read() as conn:
            return verify(conn)


def _login() -> str:
    try:
        return getpass.getuser()
    except (ImportError, KeyError, OSError):  # no login name in some containers
        return "unknown"

