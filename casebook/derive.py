"""Check a record against the catalog and fill in what is derived from it.

The store calls `prepare` before every save, so a total, a band or an H/L flag in
the database always agrees with the answers and values it was computed from.
Pure: no I/O.
"""

from __future__ import annotations

from casebook.catalog import Catalog
from casebook.models import (
    InstrumentResponse,
    Patient,
    Record,
    SymptomRating,
    TestOrder,
    TestResult,
)
from casebook.scoring import qualitative_flag, result_flag, score_instrument

__all__ = ["RecordError", "prepare", "prepare_result"]


class RecordError(ValueError):
    """A record that the catalog does not allow; the message names the field."""

    def __init__(self, kind: str, field: str, message: str) -> None:
        super().__init__(f"{kind} {field}: {message}")
        self.kind = kind
        self.field = field
        self.reason = message


def _instrument(record: InstrumentResponse, catalog: Catalog) -> InstrumentResponse:
    try:
        instrument = catalog.instruments[record.instrument]
    except KeyError:
        known = ", ".join(sorted(catalog.instruments))
        raise RecordError(
            "instrument response",
            "instrument",
            f"unknown instrument {record.instrument!r} (known: {known})",
        ) from None
    items = {item.id for item in instrument.items}
    allowed = set(instrument.option_values)
    for item, value in record.answers.items():
        if item not in items:
            raise RecordError(
                "instrument response",
                f"answers[{item!r}]",
                f"{instrument.short_name} has no item {item!r}",
            )
        if value not in allowed:
            raise RecordError(
                "instrument response",
                f"answers[{item!r}]",
                f"{value} is not one of {', '.join(map(str, sorted(allowed)))}",
            )
    if set(record.answers) == items:
        score = score_instrument(instrument, record.answers)
        total, band = score.total, score.band
    else:  # partly answered: kept as typed, scored once complete
        total, band = None, None
    if (total, band) == (record.total, record.band):
        return record
    return record.model_copy(update={"total": total, "band": band})


def prepare_result(record: TestResult, catalog: Catalog, patient: Patient) -> TestResult:
    try:
        test = catalog.test(record.test)
    except KeyError:
        raise RecordError("result", "test", f"unknown test {record.test!r}") from None
    update: dict[str, object] = {"test": test.key}
    if test.kind == "qualitative":
        if record.value_text is None:
            raise RecordError(
                "result",
                "value",
                f"{test.name} is reported as text "
                f"({', '.join(test.normal_values + test.abnormal_values)})",
            )
        try:
            update["flag"] = qualitative_flag(test, record.value_text)
        except ValueError as exc:
            raise RecordError("result", "value", str(exc)) from None
    else:
        if record.value is None:
            raise RecordError("result", "value", f"{test.name} needs a number")
        if record.unit and not test.accepts_unit(record.unit):
            raise RecordError(
                "result",
                "unit",
                f"{record.unit!r} is not the catalog unit {test.unit!r} "
                f"for {test.name}; convert the value first",
            )
        low, high = record.ref_low, record.ref_high
        if low is None and high is None:
            low, high = test.range_for(patient.sex)
        update.update(
            unit=test.unit, ref_low=low, ref_high=high, flag=result_flag(record.value, low, high)
        )
    if record.collected_on < patient.birth_date:
        raise RecordError(
            "result",
            "collected_on",
            f"{record.collected_on} is before the birth date {patient.birth_date}",
        )
    return record.model_copy(update=update)


def prepare(record: Record, catalog: Catalog, patient: Patient) -> Record:
    """The record as it should be stored, or RecordError naming the bad field."""
    if isinstance(record, InstrumentResponse):
        return _instrument(record, catalog)
    if isinstance(record, SymptomRating):
        if record.symptom not in {s.key for s in catalog.symptoms}:
            raise RecordError("symptom rating", "symptom", f"unknown symptom {record.symptom!r}")
        return record
    if isinstance(record, TestOrder):
        try:
            test = catalog.test(record.test)
        except KeyError:
            raise RecordError("order", "test", f"unknown test {record.test!r}") from None
        return record if test.key == record.test else record.model_copy(update={"test": test.key})
    if isinstance(record, TestResult):
        return prepare_result(record, catalog, patient)
    return record
