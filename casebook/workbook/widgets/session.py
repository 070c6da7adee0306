"""`CaseSession`: one per notebook. The store, one patient, the loaded case, the selected
visit, and the sections to tell when any of them changes.

It is the only place that writes: every form hands its records to `save`, which writes them
in one transaction, reloads the case from the store and notifies every section. The store
stays the single source of truth; the session only remembers what was last read from it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, cast

from casebook.catalog import Catalog
from casebook.clinical.red_flags import RedFlag, red_flags
from casebook.errors import RoleError
from casebook.models import Case, Record, Visit
from casebook.store import CaseStore
from casebook.store.records import ENTITIES, entity_for
from casebook.workbook.widgets._fields import Look

__all__ = ["COLLECTIONS", "CaseSession", "Event", "LastSaved", "collection_of", "with_records"]

Event = Literal["case", "visit", "pending"]
"""What changed: the case was (re)loaded, another visit was selected, or a form's unsaved
answers that matter to the red flags changed."""

COLLECTIONS: dict[type[Record], str] = {e.model: e.collection for e in ENTITIES}
"""Record type -> the `Case` field that holds it (the store's own mapping)."""


def collection_of(record: Record | type[Record]) -> str:
    """The `Case` field that holds records of this type ('visits', 'plan', ...)."""
    return entity_for(record).collection


def with_records(case: Case, records: Iterable[Record]) -> Case:
    """`case` with `records` put in place (same id replaced, new ones appended); not saved."""
    parts = {name: list(getattr(case, name)) for name in COLLECTIONS.values()}
    for record in records:
        items = parts[collection_of(record)]
        index = next((i for i, r in enumerate(items) if r.id == record.id), None)
        if index is None:
            items.append(record)
        else:
            items[index] = record
    return Case.model_construct(patient=case.patient, **cast("dict[str, Any]", parts))


def _read_only(store: CaseStore) -> str | None:
    """Why this workbook cannot save (the database's role says so), or None."""
    if store.can_write():
        return None
    return f"Read-only: your role ({store.role()}) reads the record and never writes."


@dataclass(frozen=True)
class LastSaved:
    at: datetime
    actor: str

    def text(self) -> str:
        local = self.at.astimezone()
        return f"{local:%Y-%m-%d %H:%M} by {self.actor}"


def _default_visit_id(case: Case) -> str | None:
    """The visit selected at first (`Case.current_visit`; None: no visits)."""
    visit = case.current_visit()
    return visit.id if visit is not None else None


class CaseSession:
    """The case of one patient as the notebook sees it.

    `observe(callback)` registers a section; it is called with the event name after every
    reload, visit change or change of pending answers. `save` is the only write path.
    """

    def __init__(self, store: CaseStore, patient_id: str, *, owns_store: bool = False) -> None:
        self.store = store
        self.catalog: Catalog = store.catalog
        self.patient_id = patient_id
        self.owns_store = owns_store
        self.case: Case = store.load_case(patient_id)
        self.last_saved: LastSaved | None = self._last_saved()
        self.visit_id: str | None = _default_visit_id(self.case)
        self._observers: list[Callable[[Event], None]] = []
        self._pending: dict[str, tuple[Record, ...]] = {}
        self._unsaved: list[str] = []
        self._flags: tuple[int, list[RedFlag]] | None = None
        self.look = Look()  # layouts and styles shared by every form of this notebook
        self.read_only: str | None = _read_only(store)

    def __repr__(self) -> str:
        return f"CaseSession({self.patient_id!r}, {self.store!r})"

    def close(self) -> None:
        if self.owns_store:
            self.store.close()

    # --- observers --------------------------------------------------------------------
    def observe(self, callback: Callable[[Event], None]) -> None:
        self._observers.append(callback)

    def _notify(self, event: Event) -> None:
        for callback in list(self._observers):
            callback(event)

    # --- reading ----------------------------------------------------------------------
    def reload(self) -> Case:
        """Read the case again from the store and tell every section."""
        self.case = self.store.load_case(self.patient_id)
        self._flags = None
        if self.visit_id not in {v.id for v in self.case.visits}:
            self.visit_id = _default_visit_id(self.case)
        self._notify("case")
        return self.case

    def find(self, kind: type[Record], record_id: str) -> Record | None:
        """The record of this type and id in the loaded case (None: absent or deleted)."""
        return next((r for r in getattr(self.case, collection_of(kind)) if r.id == record_id), None)

    @property
    def visit(self) -> Visit | None:
        """The selected visit."""
        found = self.find(Visit, self.visit_id) if self.visit_id else None
        return found if isinstance(found, Visit) else None

    def select_visit(self, visit_id: str | None) -> None:
        if visit_id is not None and visit_id not in {v.id for v in self.case.visits}:
            raise KeyError(f"no visit {visit_id!r} in the case of {self.patient_id!r}")
        if visit_id != self.visit_id:
            self.visit_id = visit_id
            self._notify("visit")

    # --- writing ----------------------------------------------------------------------
    def save(
        self, records: Sequence[Record] = (), *, deletes: Sequence[Record] = ()
    ) -> list[Record]:
        """Write `records` and delete `deletes` in one transaction, then reload.

        Raises ConflictError (someone saved a newer version), RecordError or StoreError
        (a value the catalog or the database refuses); then nothing was written.
        """
        if self.read_only:
            raise RoleError(self.read_only)
        saved = self.store.save_many(records, deletes=deletes)
        self.last_saved = LastSaved(datetime.now(UTC), self.store.actor)
        self.reload()
        return saved

    def _last_saved(self) -> LastSaved | None:
        # Saves only: a link granted, revoked or opened (entity "access") changes no record.
        saves = [e for e in self.store.audit_log(self.patient_id) if e.entity != "access"]
        return LastSaved(saves[-1].at, saves[-1].actor) if saves else None

    # --- unsaved edits ----------------------------------------------------------------
    @property
    def unsaved(self) -> tuple[str, ...]:
        """The sections that hold edits not yet in the store, in the order they began."""
        return tuple(self._unsaved)

    def set_unsaved(self, section: str, unsaved: bool) -> None:
        if unsaved == (section in self._unsaved):
            return
        if unsaved:
            self._unsaved.append(section)
        else:
            self._unsaved.remove(section)
        self._notify("pending")

    # --- red flags --------------------------------------------------------------------
    def set_pending(self, key: str, records: Sequence[Record]) -> None:
        """Unsaved records of one form that the red flags should already see (PHQ-9)."""
        new = tuple(records)
        if self._pending.get(key, ()) != new:
            if new:
                self._pending[key] = new
            else:
                self._pending.pop(key, None)
            self._notify("pending")

    def red_flags(self) -> list[RedFlag]:
        """Red flags of the saved case."""
        version = self.case.patient.record_version
        if self._flags is None or self._flags[0] != version:
            self._flags = (version, self._evaluate(self.case))
        return self._flags[1]

    def pending_flags(self) -> list[RedFlag]:
        """Flags raised only by answers not saved yet (shown at once, marked unsaved)."""
        if not self._pending:
            return []
        drafts = [r for records in self._pending.values() for r in records]
        saved = {(f.key, f.reason) for f in self.red_flags()}
        return [
            f
            for f in self._evaluate(with_records(self.case, drafts))
            if (f.key, f.reason) not in saved
        ]

    def _evaluate(self, case: Case) -> list[RedFlag]:
        cat = self.catalog
        return red_flags(case, cat.red_flags, cat.instruments, cat.tests)
