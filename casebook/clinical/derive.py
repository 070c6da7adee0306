"""Check a record against the catalog and fill in what is derived from it.

The store calls `prepare` before every save, so a total, a band or an H/L flag in
the database always agrees with the answers and values it was computed from.
Pure: no I/O.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from casebook.catalog import Catalog, LabTest
from casebook.clinical.scoring import qualitative_flag, result_flag, score_instrument
from casebook.errors import CasebookError
from casebook.models import (
    Case,
    InstrumentResponse,
    Patient,
    PlanItem,
    Record,
    SymptomRating,
    TestOrder,
    TestResult,
)

if TYPE_CHECKING:
    from casebook.clinical.cautions import CautionIndex

__all__ = [
    "RecordError",
    "check_cautions",
    "check_collected_on",
    "check_ref_range",
    "numeric_range",
    "prepare",
    "prepare_result",
    "result_fields",
    "result_values",
]


class RecordError(CasebookError, ValueError):
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


def check_collected_on(collected_on: date, birth_date: date) -> None:
    """RecordError when a result was collected before the patient was born."""
    if collected_on < birth_date:
        msg = f"{collected_on} is before the birth date {birth_date}"
        raise RecordError("result", "collected_on", msg)


def check_ref_range(ref_low: float | None, ref_high: float | None) -> None:
    """RecordError when a printed reference range is upside down."""
    if ref_low is not None and ref_high is not None and ref_low > ref_high:
        raise RecordError("result", "ref_low", f"{ref_low} is above ref_high {ref_high}")


def numeric_range(
    test: LabTest, sex: str, *, unit: str, ref_low: float | None, ref_high: float | None
) -> tuple[str, float | None, float | None]:
    """(unit, ref_low, ref_high) a numeric result of `test` is stored with: the catalog's
    unit (RecordError for another), the printed range, else the catalog's for `sex`."""
    if unit and not test.accepts_unit(unit):
        raise RecordError(
            "result",
            "unit",
            f"{unit!r} is not the catalog unit {test.unit!r} for {test.name}; "
            "convert the value first",
        )
    if ref_low is None and ref_high is None:
        ref_low, ref_high = test.range_for(sex)
    return test.unit, ref_low, ref_high


def result_values(
    test: LabTest,
    sex: str,
    *,
    value: float | None,
    value_text: str | None,
    unit: str,
    ref_low: float | None,
    ref_high: float | None,
) -> tuple[float | None, str | None, str, float | None, float | None, str | None]:
    """(value, value_text, unit, ref_low, ref_high, flag) as stored, or RecordError naming
    the field: everything `result_fields` decides that does not depend on the dates, so a
    bulk import can decide it once per distinct input."""
    check_ref_range(ref_low, ref_high)
    if test.kind == "qualitative":
        if not value_text:
            allowed = ", ".join(test.normal_values + test.abnormal_values)
            raise RecordError("result", "value", f"{test.name} is reported as text ({allowed})")
        try:
            flag = qualitative_flag(test, value_text)
        except ValueError as exc:
            raise RecordError("result", "value", str(exc)) from None
        return None, value_text, unit, ref_low, ref_high, flag
    if value is None:
        raise RecordError("result", "value", f"{test.name} needs a number")
    unit, ref_low, ref_high = numeric_range(
        test, sex, unit=unit, ref_low=ref_low, ref_high=ref_high
    )
    return value, value_text, unit, ref_low, ref_high, result_flag(value, ref_low, ref_high)


_RESULT_VALUES = ("value", "value_text", "unit", "ref_low", "ref_high", "flag")


def result_fields(
    test: LabTest,
    patient: Patient,
    *,
    collected_on: date,
    value: float | None,
    value_text: str | None,
    unit: str,
    ref_low: float | None,
    ref_high: float | None,
) -> dict[str, Any]:
    """The stored fields of one result (unit, range, flag), or RecordError naming the field.

    Shared by single saves and bulk imports, so both apply exactly the same rules."""
    check_collected_on(collected_on, patient.birth_date)
    values = result_values(
        test,
        patient.sex,
        value=value,
        value_text=value_text,
        unit=unit,
        ref_low=ref_low,
        ref_high=ref_high,
    )
    return {"test": test.key, **dict(zip(_RESULT_VALUES, values, strict=True))}


def prepare_result(record: TestResult, catalog: Catalog, patient: Patient) -> TestResult:
    try:
        test = catalog.test(record.test)
    except KeyError:
        raise RecordError("result", "test", f"unknown test {record.test!r}") from None
    fields = result_fields(
        test,
        patient,
        collected_on=record.collected_on,
        value=record.value,
        value_text=record.value_text,
        unit=record.unit,
        ref_low=record.ref_low,
        ref_high=record.ref_high,
    )
    return record.model_copy(update=fields)


def _declared(item: PlanItem, catalog: Catalog) -> PlanItem:
    """`item` with the substances its name matches added, or RecordError: an unknown
    substance key, or a typed supplement item that names none and gives no reason."""
    from casebook.clinical.overrides import reason_problem
    from casebook.clinical.substances import SUBSTANCE_CATEGORIES, match_substances

    unknown = [k for k in item.substances if k not in catalog.substances]
    if unknown:
        raise RecordError("plan item", "substances", f"unknown substance {unknown[0]!r}")
    keys = list(dict.fromkeys([*item.substances, *match_substances(item.name, catalog)]))
    if keys != item.substances:
        item = item.model_copy(update={"substances": keys})
    if item.template is None and not keys and item.category in SUBSTANCE_CATEGORIES:
        if not item.no_substance_reason.strip():
            raise RecordError(
                "plan item",
                "substances",
                f"{item.name!r} matches no catalog substance: name its substances, or give "
                "no_substance_reason saying why none is listed",
            )
        problem = reason_problem(item.no_substance_reason)
        if problem:
            raise RecordError("plan item", "no_substance_reason", problem)
    return item


def check_cautions(
    item: PlanItem,
    catalog: Catalog,
    case: Case,
    index: CautionIndex | None = None,
    *,
    review: bool = False,
) -> PlanItem:
    """Refuse a plan item in force (`cautions.in_force`: active, proposed, or completed
    since the last visit) whose cautions match the patient without a confirmation for each
    that passes `casebook.clinical.overrides` (a contraindication: a reason that says why and
    who advised; each caution its own reason); stopped items pass. A gluten-free trial with
    positive celiac serology is refused until a gastroenterology referral is in the plan.

    `review=True` (whole-case imports: a case's own export always imports back) keeps an
    unconfirmed caution and lets the item be listed for review (`cautions.items_for_review`)
    instead of refusing it. Matching reads the patient and the history, not the plan, so the
    item is judged against `case` as given; `index` (`caution_index(case, catalog)`, built
    once for a whole case) keeps checking every item of a large plan linear."""
    from casebook.clinical.cautions import caution_index, in_force, unconfirmed_cautions
    from casebook.clinical.overrides import duplicate_reason
    from casebook.clinical.preconditions import is_gluten_free_trial, referral_kind

    index = index or caution_index(case, catalog)
    if item.template is not None and item.template not in index.templates:
        raise RecordError("plan item", "template", f"unknown protocol template {item.template!r}")
    if review or not in_force(item, case):
        return item
    item = _declared(item, catalog)
    repeated = duplicate_reason(item.caution_confirmations)
    if repeated:
        raise RecordError(
            "plan item",
            "caution_confirmations",
            f"{item.name!r}: the confirmation of {repeated!r} repeats another's reason; "
            "confirm each caution on its own",
        )
    if (
        is_gluten_free_trial(item)
        and index.celiac == "positive"
        and not any(
            referral_kind(i) == "gi" and i.status in ("active", "proposed", "completed")
            for i in case.plan
        )
    ):
        raise RecordError(
            "plan item",
            "status",
            f"{item.name!r}: celiac serology is positive; refer to gastroenterology (biopsy "
            "while still eating gluten) before any gluten-free trial",
        )
    missing = unconfirmed_cautions(case, catalog, item, index=index)
    if missing:
        first = missing[0]
        more = f" (and {', '.join(m.key for m in missing[1:])})" if missing[1:] else ""
        raise RecordError(
            "plan item",
            "caution_confirmations",
            f"{item.name!r}: {first.caution.kind} {first.key!r}{more} matches the patient "
            f"({'; '.join(first.reasons)}); {first.problem}",
        )
    return item


def prepare(
    record: Record,
    catalog: Catalog,
    patient: Patient,
    case: Case | None = None,
    *,
    cautions: CautionIndex | None = None,
    review: bool = False,
) -> Record:
    """The record as it should be stored, or RecordError naming the bad field.

    A plan item is checked against its template's cautions when the `case` it belongs to is
    given (the store always gives it); `cautions`, the case's `caution_index`, lets a bulk
    import work it out once for every item; `review` (whole-case imports) lists an
    unconfirmed caution for review instead of refusing the item."""
    if isinstance(record, PlanItem):
        if case is None:
            return record
        return check_cautions(record, catalog, case, cautions, review=review)
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
