"""The files of a case as CSV and their columns, each derived from its model's fields so a
field added to a model gets its column: one row a record, a nested model's fields as
`outer.inner` columns (`screen.fever`, `data.substance`). What a row cannot hold flat goes
in a file of its own: an instrument's answers (`instrument_answers.csv`), a plan item's
caution confirmations (`plan_confirmations.csv`), a letter's PDF (`letter-<id>.pdf`). A
plan item's substances are one column, catalog keys separated by `;`."""

from __future__ import annotations

import types
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from casebook.interop.csv_write import unescape_cell
from casebook.models import HISTORY_CATEGORIES, Case, CautionConfirmation, HistoryData, Record

__all__ = [
    "ANSWERS_FILE",
    "ANSWER_COLUMNS",
    "CONFIRMATIONS_FILE",
    "CONFIRMATION_COLUMNS",
    "PATIENT_FIELDS",
    "PATIENT_FILE",
    "RECORD_FILES",
    "SUBSTANCE_SEPARATOR",
    "RecordFile",
    "cells",
    "fields_of",
    "flat_dump",
    "letter_pdf_name",
    "optional",
    "record_from_cells",
]

PATIENT_FILE = "patient.csv"
ANSWERS_FILE = "instrument_answers.csv"
CONFIRMATIONS_FILE = "plan_confirmations.csv"
PATIENT_FIELDS = {  # column -> Patient field: the first four are `import patients`' columns
    "patient_id": "id",
    "name": "name",
    "birth_date": "birth_date",
    "sex": "sex",
    "version": "version",
    "record_version": "record_version",
}
ANSWER_COLUMNS = ("instrument_id", "item", "value")
CONFIRMATION_COLUMNS = ("plan_item_id", *CautionConfirmation.model_fields)
SUBSTANCE_SEPARATOR = ";"


def letter_pdf_name(letter_id: str) -> str:
    return f"letter-{letter_id}.pdf"


@dataclass(frozen=True)
class RecordFile:
    """One file of records of one collection of `Case`."""

    name: str
    collection: str
    model: type[Record]
    data: type[BaseModel] | None = None  # a history category's model (the `data` field)
    kept_apart: tuple[str, ...] = ()  # fields in a file of their own, or done by hand

    def columns(self) -> dict[str, FieldInfo]:
        return fields_of(self.model, self.kept_apart, self.data)


# Fields a row cannot hold flat, each in a file of its own (`case_csv`)
_KEPT_APART = {"instruments": ("answers",), "plan": ("caution_confirmations",)}


def _record_files() -> Iterator[RecordFile]:
    """A file a collection of `Case` (so a new collection gets one), history a file a kind."""
    by_category = {
        m.model_fields["category"].default: m for m in get_args(get_args(HistoryData)[0])
    }
    for name, info in Case.model_fields.items():
        if name == "patient":
            continue
        (model,) = get_args(info.annotation)  # list[<the record's model>]
        if name == "history":
            for category in HISTORY_CATEGORIES:
                yield RecordFile(f"history_{category}.csv", name, model, by_category[category])
        else:
            yield RecordFile(f"{name}.csv", name, model, kept_apart=_KEPT_APART.get(name, ()))


RECORD_FILES: tuple[RecordFile, ...] = tuple(_record_files())


def _model_of(annotation: Any) -> type[BaseModel] | None:
    return (
        annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    )


def fields_of(
    model: type[BaseModel], apart: tuple[str, ...] = (), data: type[BaseModel] | None = None
) -> dict[str, FieldInfo]:
    """Column name -> the field it holds, in the model's field order, nested models flat."""
    out: dict[str, FieldInfo] = {}
    for name, info in model.model_fields.items():
        if name in apart:
            continue
        inner = data if name == "data" and data is not None else _model_of(info.annotation)
        if inner is None:
            out[name] = info
        else:
            out |= {f"{name}.{k}": v for k, v in fields_of(inner).items()}
    return out


def optional(info: FieldInfo) -> bool:
    """Whether the field takes None (an empty cell reads as None)."""
    origin = get_origin(info.annotation)
    return origin in (Union, types.UnionType) and type(None) in get_args(info.annotation)


def flat_dump(record: BaseModel, apart: tuple[str, ...] = ()) -> dict[str, Any]:
    """The record as JSON values, nested models flattened to `outer.inner` keys; the
    substances list joined into one cell."""
    out: dict[str, Any] = {}

    def put(prefix: str, values: dict[str, Any]) -> None:
        for key, value in values.items():
            if isinstance(value, dict):
                put(f"{prefix}{key}.", value)
            elif key == "substances" and isinstance(value, list):
                out[prefix + key] = SUBSTANCE_SEPARATOR.join(value)
            else:
                out[prefix + key] = value

    put("", record.model_dump(mode="json", exclude=set(apart)))
    return out


def cells(values: list[str], columns: list[str]) -> dict[str, str]:
    """A row's cells by column, the writer's formula escaping taken off (`csv_write`)."""
    return {c: unescape_cell(v) for c, v in zip(columns, values, strict=True)}


def record_from_cells(row: dict[str, str], fields: dict[str, FieldInfo]) -> dict[str, Any]:
    """The nested dict pydantic validates: an empty cell is None where the field takes
    None, and otherwise left out (the field's default, or an error naming it)."""
    out: dict[str, Any] = {}
    for column, raw in row.items():
        if raw == "" and not optional(fields[column]):
            continue
        value: Any = raw or None
        if column == "substances":
            value = [k.strip() for k in raw.split(SUBSTANCE_SEPARATOR) if k.strip()]
        *outer, last = column.split(".")
        target = out
        for part in outer:
            target = target.setdefault(part, {})
        target[last] = value
    return out
