"""Mapping between the pydantic records and their tables."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from casebook.models import (
    FlagReview,
    HistoryEntry,
    InstrumentResponse,
    LetterRecord,
    Note,
    Patient,
    PlanItem,
    Record,
    SymptomRating,
    TestOrder,
    TestResult,
    Visit,
)
from casebook.store import tables

__all__ = [
    "ENTITIES",
    "Entity",
    "any_of",
    "aware",
    "chunked",
    "entity_for",
    "patient_from_row",
    "patient_to_row",
]


@dataclass(frozen=True)
class Entity:
    kind: str  # name used in the audit log
    model: type[Record]
    table: sa.Table
    collection: str  # attribute of Case
    json_fields: tuple[str, ...] = ()
    derived_columns: tuple[str, ...] = ()
    order_by: tuple[str, ...] = ("id",)
    not_audited: tuple[str, ...] = ()  # large fields the audit log names by hash instead

    def to_row(self, record: Record) -> dict[str, Any]:
        row = record.model_dump(exclude=set(self.json_fields))
        if self.json_fields:
            row.update(record.model_dump(mode="json", include=set(self.json_fields)))
        if self.kind == "history":
            row["category"] = cast(HistoryEntry, record).data.category
        return row

    def from_row(self, row: Any) -> Record:
        data = dict(row._mapping)
        data.pop("deleted_at", None)
        for name in self.derived_columns:
            data.pop(name, None)
        return self.model.model_validate(data)

    def to_json(self, record: Record) -> dict[str, Any]:
        """The record as the audit log keeps it."""
        return record.model_dump(mode="json", exclude=set(self.not_audited))


ENTITIES: tuple[Entity, ...] = (
    Entity("visit", Visit, tables.visits, "visits", ("screen",), (), ("visit_date", "id")),
    Entity(
        "history",
        HistoryEntry,
        tables.history_entries,
        "history",
        ("data",),
        ("category",),
        ("category", "id"),
    ),
    Entity(
        "symptom",
        SymptomRating,
        tables.symptom_ratings,
        "symptoms",
        (),
        (),
        ("visit_id", "symptom"),
    ),
    Entity(
        "instrument",
        InstrumentResponse,
        tables.instrument_responses,
        "instruments",
        ("answers",),
        (),
        ("visit_id", "instrument"),
    ),
    Entity("order", TestOrder, tables.test_orders, "orders", (), (), ("ordered_on", "id")),
    Entity(
        "result", TestResult, tables.test_results, "results", (), (), ("collected_on", "test", "id")
    ),
    Entity(
        "plan",
        PlanItem,
        tables.plan_items,
        "plan",
        ("caution_confirmations", "substances"),
        (),
        ("category", "start", "id"),
    ),
    Entity("note", Note, tables.notes, "notes", (), (), ("written_on", "id")),
    Entity("flag_review", FlagReview, tables.flag_reviews, "flag_reviews", (), (), ("at", "id")),
    Entity(
        "letter",
        LetterRecord,
        tables.letters,
        "letters",
        (),
        (),
        ("letter_date", "created_at", "id"),
        not_audited=("pdf",),
    ),
)
_BY_MODEL = {e.model: e for e in ENTITIES}


def entity_for(record: Record | type[Record]) -> Entity:
    cls = record if isinstance(record, type) else type(record)
    try:
        return _BY_MODEL[cls]
    except KeyError:
        raise TypeError(f"{cls.__name__} is not a record the store keeps") from None


_PATIENT_FIELDS = ("id", "name", "birth_date", "sex", "version", "record_version")


def patient_to_row(patient: Patient) -> dict[str, Any]:
    return patient.model_dump(include=set(_PATIENT_FIELDS))


def patient_from_row(row: Any) -> Patient:
    m = row._mapping
    return Patient.model_validate({k: m[k] for k in _PATIENT_FIELDS})


def any_of(
    conn: sa.Connection, column: sa.ColumnElement[str], values: Sequence[str]
) -> sa.ColumnElement[bool]:
    """`column IN values` with the values in one bound parameter, however many (a JSON
    array on SQLite, an array on PostgreSQL): for the 10,000 patients of a bulk import,
    instead of 20 statements of 500 parameters that SQLAlchemy renders one by one."""
    if conn.dialect.name == "postgresql":
        return column == sa.any_(sa.bindparam(None, list(values), type_=ARRAY(sa.String)))
    listed = sa.func.json_each(sa.bindparam(None, json.dumps(list(values)), type_=sa.String))
    return column.in_(sa.select(listed.table_valued("value").c.value))


def chunked(items: Sequence[Any], size: int = 500) -> list[Sequence[Any]]:
    """`items` in slices of at most `size` (bound parameters per `IN (...)` stay few)."""
    return [items[i : i + size] for i in range(0, len(items), size)]


def aware(value: datetime) -> datetime:
    """A timestamp as read back: SQLite hands it back naive, and it was stored as UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
