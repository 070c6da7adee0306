"""`CaseStore`: the single source of truth for every case.

Every public write is one transaction (`transaction()`, a `Transaction`). Every change is
written to the append-only audit log with who, when, what, before and after. Saves are
optimistic: a record carries the version it was read at, and a save based on an older
version raises `ConflictError` (carrying the newer record), so no edit is silently lost.

Each method opens a transaction or a read and calls the module that does the work:
`patients`, `writes`, `reads`, `flags`, `letters`, `access`, `audit_log`; those take the
`Transaction` (or the read connection) and never the store.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, Literal, TypeVar

import sqlalchemy as sa

from casebook.catalog import Catalog, default_catalog
from casebook.clinical.flag_lifecycle import FlagStatus, case_flag_statuses
from casebook.models import Case, FlagReview, LetterRecord, Patient, Record, TestResult
from casebook.store import access, flags, reads, roles, signoff, writes
from casebook.store import audit_log as audit_rows
from casebook.store import checkins as checkin_rows
from casebook.store import letters as letter_rows
from casebook.store import patients as patient_rows
from casebook.store.access import StoredLink
from casebook.store.audit_key import Checkpoint
from casebook.store.audit_log import AuditEntry
from casebook.store.audit_verify import Verdict, checkpoint, keep_outside, verify
from casebook.store.checkins import StoredCheckin
from casebook.store.engine import redact_url, resolve_url
from casebook.store.migrate import open_migrated
from casebook.store.patients import PatientSummary
from casebook.store.pipeline import pipelined
from casebook.store.roles import Role
from casebook.store.transaction import Transaction, read_connection, write_transaction

__all__ = ["CaseStore"]

R = TypeVar("R", bound=Record)


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
        self.engine = open_migrated(self.url, create=create)
        self.actor = self._actor_as_recorded(self.actor)
        if create and self.engine.dialect.name == "postgresql":
            with self.engine.begin() as conn:
                roles.apply_grants(conn)  # to tables a migration added

    def _actor_as_recorded(self, claimed: str) -> str:
        """PostgreSQL names the actor from the connection's login (`session_user`) unless
        the owner of the tables connects; SQLite (one practitioner) takes `claimed`."""
        if self.engine.dialect.name != "postgresql":
            return claimed
        with self.engine.connect() as conn:
            found = conn.execute(sa.select(sa.func.casebook_audit_actor(claimed))).scalar_one()
        return str(found)

    def __repr__(self) -> str:
        return f"CaseStore({redact_url(self.url)!r})"

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> CaseStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transactions ---------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One write transaction as this store's actor, for several writes at once: all
        of it commits when the block ends, or none of it if the block raises. What the
        login's role may not change raises RoleError in one line."""
        with (
            roles.refusals_named(writing=True),
            write_transaction(self.engine, self.actor, self.catalog) as tx,
        ):
            yield tx

    @contextmanager
    def read(self, *, single: bool = False) -> Iterator[sa.Connection]:
        """A read connection that sees one snapshot of the store (`single`: for one
        statement, see `read_connection`); what the login's role may not read raises
        RoleError ("your role cannot read results, notes or plans")."""
        with (
            roles.refusals_named(writing=False),
            read_connection(self.engine, single=single) as conn,
        ):
            yield conn

    def role(self) -> Role | None:
        """The kind of user the database knows this login as (`casebook.store.roles`);
        None on SQLite (one practitioner) and for the owner of the tables."""
        if self.engine.dialect.name != "postgresql":
            return None
        with self.read() as conn:
            return roles.my_role(conn)

    def can_write(self) -> bool:
        """Whether this login may change the clinical record (a reviewer may not)."""
        return self.role() not in (Role.REVIEWER, Role.ADMIN)

    # --- patients ---------------------------------------------------------------------
    def add_patient(self, patient: Patient) -> Patient:
        """Create a patient (version 1); StoreError if the id is taken."""
        with self.transaction() as tx:
            return patient_rows.add_patient(tx, patient)

    def save_patient(self, patient: Patient) -> Patient:
        """Create (version 0) or update (version as read) a patient; returns it as saved."""
        if patient.version == 0:
            return self.add_patient(patient)
        with self.transaction() as tx:
            return patient_rows.save_patient(tx, patient)

    def delete_patient(self, patient_id: str, expected_version: int) -> None:
        """Soft-delete a patient read at `expected_version` (audited)."""
        with self.transaction() as tx:
            patient_rows.delete_patient(tx, patient_id, expected_version)

    def get_patient(self, patient_id: str) -> Patient:
        """A live patient; NotFoundError otherwise."""
        with self.read() as conn:
            return patient_rows.get_patient(conn, patient_id)

    def patients(self, *, changed_since: datetime | None = None) -> list[PatientSummary]:
        """The live patients by id (those whose case changed since a time, if given)."""
        with self.read() as conn:
            return patient_rows.patient_summaries(conn, changed_since)

    def existing_patients(self, ids: Sequence[str]) -> dict[str, Patient]:
        """The live patients among `ids`, by id."""
        with self.read() as conn:
            return patient_rows.existing_patients(conn, ids)

    def birth_and_sex(self, patient_ids: Iterable[str]) -> dict[str, tuple[date, str]]:
        """(birth date, sex) of each live patient among `patient_ids`."""
        with self.read() as conn:
            return patient_rows.birth_and_sex(conn, patient_ids)

    # --- records ----------------------------------------------------------------------
    def load_case(self, patient_id: str) -> Case:
        """The live patient's whole case; NotFoundError otherwise."""
        with self.read() as conn:
            return reads.read_case(conn, patient_id)

    def load_cases(self, patient_ids: Iterable[str] | None = None) -> reads.LoadedCases:
        """Many cases at once (all live patients by default), ordered by patient id; a
        patient whose stored record does not validate is listed in `.unreadable` instead."""
        with self.read() as conn:
            return reads.load_cases(conn, patient_ids)

    def page_stamp(self, patient_id: str) -> tuple[int, int, str]:
        """(record version, letters kept, newest letter id): what a patient's page shows."""
        with self.read() as conn:
            return reads.page_stamp(conn, patient_id)

    def save(self, record: R) -> R:
        """Insert (version 0) or update (version as read) one record; returns it as saved."""
        if isinstance(record, LetterRecord):
            return self.save_letter(record)  # type: ignore[return-value]  # never edited
        with self.transaction() as tx:
            return writes.save_record(tx, record)

    def save_many(
        self, records: Sequence[Record] = (), *, deletes: Sequence[Record] = ()
    ) -> list[Record]:
        """Save `records` (as `save` does) and soft-delete `deletes`, in one transaction:
        all of it is written or, on ConflictError, RecordError or StoreError, none of it.
        Returns the saved records in order."""
        with self.transaction() as tx:
            saved = [writes.save_record(tx, record) for record in records]
            for record in deletes:
                writes.delete_record(tx, record)
        return saved

    def delete(self, record: Record) -> None:
        """Soft-delete a record (audited). Deleting a visit also deletes its ratings and
        instrument answers, and detaches its notes and orders."""
        with self.transaction() as tx:
            writes.delete_record(tx, record)

    def mark_results_reviewed(
        self, patient_id: str, result_ids: Iterable[str] | Literal["all"] = "all"
    ) -> list[TestResult]:
        """Mark results of one patient reviewed by the store's actor, now (the given ids,
        or "all" not yet reviewed); the results newly marked. An id that is not a live
        result of this patient raises NotFoundError and nothing is written."""
        with self.transaction() as tx:
            return writes.mark_results_reviewed(tx, patient_id, result_ids)

    def sign_off_results(
        self, seen: Mapping[str, Mapping[str, int]]
    ) -> dict[str, list[TestResult]]:
        """Sign off in bulk, in one transaction (each result one audit entry, action
        "sign-off"): patient id -> {result id: version shown}; a result changed since,
        already reviewed or deleted is left. The results marked, by patient."""
        with self.transaction() as tx:
            return signoff.sign_off_results(tx, seen)

    # --- red flags (the lifecycle's rules: casebook.clinical.flag_lifecycle) -------------
    def review_flag(
        self,
        patient_id: str,
        rule_key: str,
        state: str,
        *,
        note: str = "",
        referred_to: str = "",
        outcome: str = "",
    ) -> FlagReview:
        """Record one step of a raised red flag ('acknowledged', 'referred' with
        `referred_to`, 'resolved' with `outcome`), audited; InputError in one line for a
        step that is not allowed, and nothing is written."""
        with self.transaction() as tx:
            return flags.record_step(
                tx, patient_id, rule_key, state, note=note, referred_to=referred_to, outcome=outcome
            )

    def flag_statuses(self, patient_id: str, *, today: date | None = None) -> list[FlagStatus]:
        """The patient's raised flags with their state, open ones first."""
        return case_flag_statuses(self.load_case(patient_id), self.catalog, today=today)

    def flag_reviews(self, patient_ids: Sequence[str] | None = None) -> dict[str, list[FlagReview]]:
        """Live steps by patient id, oldest first (all patients, or those asked for: each
        has an entry, empty when none); combine with
        `casebook.clinical.flag_lifecycle.flag_statuses`."""
        with self.read() as conn:
            return flags.read_flag_reviews(conn, patient_ids)

    # --- letters ----------------------------------------------------------------------
    def save_letter(self, letter: LetterRecord) -> LetterRecord:
        """Keep a new letter with its case, audited (without its PDF body)."""
        with self.transaction() as tx:
            return letter_rows.save_letter(tx, letter)

    def letters(self, patient_id: str, kind: str | None = None) -> list[LetterRecord]:
        """The patient's letters (of one kind if given), oldest first."""
        with self.read() as conn:
            return letter_rows.read_letters(conn, patient_id, kind)

    def latest_letter(self, patient_id: str, kind: str) -> LetterRecord | None:
        """The newest letter of `kind` for the patient (by letter date, then when made)."""
        with self.read() as conn:
            found = letter_rows.read_letters(conn, patient_id, kind, newest_only=True)
        return found[0] if found else None

    # --- patient links (casebook.serve.tokens makes and checks them) --------------------
    def add_link(
        self,
        patient_id: str,
        token_hash: str,
        link_id: str,
        *,
        created_at: datetime,
        expires_at: datetime,
    ) -> None:
        """Store a new link of a live patient (NotFoundError otherwise), audited."""
        with self.transaction() as tx:
            access.add_link(
                tx, patient_id, token_hash, link_id, created_at=created_at, expires_at=expires_at
            )

    def revoke_links(self, patient_id: str, *, now: datetime) -> int:
        """End every unrevoked link of the patient; how many. Audited."""
        with self.transaction() as tx:
            return access.revoke_links(tx, patient_id, now=now)

    def find_link(self, token_hash: str) -> StoredLink | None:
        """The stored link of this token hash, or None."""
        with self.read(single=True) as conn:
            return access.find_link(conn, token_hash)

    def add_session(
        self, session_hash: str, token_hash: str, *, created_at: datetime, expires_at: datetime
    ) -> None:
        """Store a browser session opened from the link `token_hash`."""
        with self.transaction() as tx:
            access.add_session(
                tx, session_hash, token_hash, created_at=created_at, expires_at=expires_at
            )

    def find_session(self, session_hash: str) -> StoredLink | None:
        """The link behind the session of this hash, or None."""
        with self.read(single=True) as conn:
            return access.find_session(conn, session_hash)

    def record_link_use(
        self, patient_id: str, link_id: str, action: str, detail: dict[str, Any]
    ) -> None:
        """Write one use of a link (open, view, refused) to the audit log."""
        with self.transaction() as tx:
            access.record_link_use(tx, patient_id, link_id, action, detail)

    def live_link_patients(self, patient_ids: set[str], *, now: datetime) -> set[str]:
        """The live patients among `patient_ids` holding a link live at `now`."""
        with self.read() as conn:
            return access.live_link_patients(conn, patient_ids, now=now)

    # --- check-ins: `casebook.checkins` writes them through `store.checkins` in a
    # `transaction()` (a practitioner) or a `link_transaction()` (the patient's link) ------
    @contextmanager
    def link_transaction(self, link_id: str) -> Iterator[Transaction]:
        """A write transaction whose actor is the patient link `link_id` (the server found
        it in the store), never a practitioner: what a patient sends is audited as theirs."""
        with write_transaction(self.engine, f"patient link {link_id}", self.catalog) as tx:
            yield tx

    def session_and_checkin(
        self, session_hash: str, checkin_id: str
    ) -> tuple[StoredLink | None, StoredCheckin | None]:
        """`find_session` and `checkin` on one connection: what a check-in page reads."""
        with self.read(single=True) as conn:
            with pipelined(conn):  # PostgreSQL: both in one round trip
                session = access.send_session(conn, session_hash)
                checkin = checkin_rows.send_checkin_read(conn, checkin_id)
            return session(), checkin()

    def checkin(self, checkin_id: str) -> StoredCheckin | None:
        """The check-in of this id, or None."""
        with self.read(single=True) as conn:
            return checkin_rows.get_checkin(conn, checkin_id)

    def checkins(
        self, patient_id: str | None = None, *, status: str | None = None
    ) -> list[StoredCheckin]:
        """One patient's check-ins, or every patient's in `status`, oldest first."""
        with self.read() as conn:
            if patient_id is not None:
                found = checkin_rows.patient_checkins(conn, patient_id)
                return [c for c in found if status is None or c.status == status]
            return checkin_rows.checkins_with_status(conn, status or "submitted")

    # --- audit ------------------------------------------------------------------------
    def audit_log(self, patient_id: str) -> list[AuditEntry]:
        """The patient's audit entries, oldest first."""
        with self.read() as conn:
            return audit_rows.audit_entries(conn, patient_id)

    def patients_changed_by(self, actor: str) -> set[str]:
        """The patients whose record `actor` has changed (from the audit log)."""
        with self.read() as conn:
            return audit_rows.patients_changed_by(conn, actor)

    def verify_audit_log(self) -> Verdict:
        """Check the whole audit log: each row's hash and seal, and every checkpoint; the
        first thing that does not hold, if any (`casebook.store.audit_verify`)."""
        with self.read() as conn:
            return verify(conn)

    def checkpoint_audit_log(self) -> tuple[Verdict, Checkpoint | None]:
        """Sign how the audit log stands now, if it verifies: (the verdict, the new
        checkpoint, or None when the log is broken and nothing was signed)."""
        with self.transaction() as tx:
            verdict = verify(tx.conn)
            if not verdict.intact:
                return verdict, None
            made = checkpoint(tx.conn, self.actor)
        with self.read() as conn:
            keep_outside(conn, made)
        return verdict, made


def _login() -> str:
    try:
        return getpass.getuser()
    except (ImportError, KeyError, OSError):  # no login name in some containers
        return "unknown"
