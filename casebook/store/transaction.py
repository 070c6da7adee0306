"""One write transaction of the store, and the read transaction beside it.

A `Transaction` carries what every write needs: the connection, who acts, the catalog the
records are checked against, and the steps every change of a case takes (lock the
patient, audit, bump the record version). The modules that write (`patients`, `writes`,
`flags`, `letters`, `access`, `bulk`, `result_import`) take one as their first argument;
`CaseStore.transaction()` opens it, and everything in it commits or none of it does.
Readers take a plain connection from `CaseStore.read()`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from casebook.errors import NotFoundError
from casebook.store import tables
from casebook.store.audit_chain import AuditEntryTuple, Head, append
from casebook.store.engine import NEW_PATIENTS_LOCK, advisory_lock
from casebook.store.records import any_of, patient_from_row

if TYPE_CHECKING:
    from casebook.catalog import Catalog
    from casebook.models import Patient

__all__ = ["Transaction", "read_connection", "write_transaction"]


_LOCK_PATIENT = (
    sa.select(tables.patients)
    .where(
        tables.patients.c.id == sa.bindparam("patient_id"), tables.patients.c.deleted_at.is_(None)
    )
    .with_for_update()
)  # built once: every write runs it
_BUMP_ONE = (
    sa.update(tables.patients)
    .where(tables.patients.c.id == sa.bindparam("patient_id"))
    .values(
        record_version=tables.patients.c.record_version + 1,
        updated_at=sa.bindparam("now", type_=tables.patients.c.updated_at.type),
    )
)  # `bump_version`'s, built once


class Transaction:
    """One write transaction: `conn` (in a transaction), `actor` (who the audit log names)
    and `catalog` (what records are validated and derived against)."""

    __slots__ = ("actor", "catalog", "conn")

    def __init__(self, conn: sa.Connection, actor: str, catalog: Catalog) -> None:
        self.conn = conn
        self.actor = actor
        self.catalog = catalog

    def __repr__(self) -> str:
        return f"Transaction(actor={self.actor!r})"

    @staticmethod
    def now() -> datetime:
        """The time a change is stamped with (timezone-aware UTC)."""
        return datetime.now(UTC)

    def audit(
        self,
        patient_id: str | None,
        entity: str,
        entity_id: str | None,
        action: str,
        before: Any,
        after: Any,
    ) -> None:
        """Append one entry to the hash-chained audit log, as `actor`."""
        append(self.conn, self.actor, [(patient_id, entity, entity_id, action, before, after)])

    def audit_many(self, entries: Sequence[AuditEntryTuple], *, head: Head | None = None) -> None:
        """Append many entries at once (a bulk import), as `actor`; `head`: the chain's
        newest row as `audit_chain.send_head` read it in this transaction."""
        append(self.conn, self.actor, entries, head=head)

    def lock_patient(self, patient_id: str) -> Patient:
        """Read a live patient, holding its row lock until the transaction ends, so that
        writers of one case are serialized (SQLite's write transaction locks it all).
        NotFoundError for an unknown or deleted patient."""
        row = self.conn.execute(_LOCK_PATIENT, {"patient_id": patient_id}).first()
        if row is None:
            raise NotFoundError(f"no patient {patient_id!r} in the store")
        return patient_from_row(row)

    def lock_new_patients(self) -> None:
        """Serialize the creation of patients whose ids do not exist yet (no row to lock):
        a second writer of the same new ids waits here, then finds the first one's rows."""
        advisory_lock(self.conn, NEW_PATIENTS_LOCK)

    def bump_version(self, patient_id: str) -> None:
        """Mark the case changed: record_version + 1 and updated_at = now."""
        self.bump_versions([patient_id])

    def bump_versions(self, patient_ids: Collection[str]) -> None:
        """`bump_version` for each of the patients, in one UPDATE."""
        if not patient_ids:
            return
        p = tables.patients
        ids = sorted(patient_ids)
        if len(ids) == 1:  # most writes: one statement built once
            self.conn.execute(_BUMP_ONE, {"patient_id": ids[0], "now": self.now()})
            return
        where = any_of(self.conn, p.c.id, ids)
        self.conn.execute(
            sa.update(p)
            .where(where)
            .values(record_version=p.c.record_version + 1, updated_at=self.now())
        )


@contextmanager
def write_transaction(engine: sa.Engine, actor: str, catalog: Catalog) -> Iterator[Transaction]:
    """A `Transaction` on a new connection: committed when the block ends, rolled back
    if it raises. SQLite takes its write lock up front (see `engine`)."""
    with engine.connect().execution_options(casebook_write=True) as conn, conn.begin():
        yield Transaction(conn, actor, catalog)


@contextmanager
def read_connection(engine: sa.Engine, *, single: bool = False) -> Iterator[sa.Connection]:
    """A connection in a read transaction that sees one snapshot (REPEATABLE READ on
    PostgreSQL; a deferred transaction in WAL mode on SQLite). `single`: the block runs
    one statement, which sees one snapshot by itself, so on PostgreSQL it runs with no
    BEGIN or COMMIT: two round trips fewer for a lookup every request makes."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            if single:
                yield conn.execution_options(isolation_level="AUTOCOMMIT")
                return
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn
