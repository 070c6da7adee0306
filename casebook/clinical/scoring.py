"""Pure functions over the case record: instrument scores, H/L/A flags, symptom burden and
change since baseline. The red-flag rules live in `casebook.clinical.red_flags`.

`read_result` is the one place that decides which flag and which reference range apply to a
result: the red flags, the charts, the workbook's result table, the terminal report and the
patient's dashboard all call it.

Nothing here does I/O or reads the catalog itself: catalog entries are passed in, so every
function can be tested with hand-built `Instrument`, `LabTest` and `RedFlagRule` objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal

from casebook.catalog.schema import Band, Instrument, LabTest
from casebook.clinical.baseline import starting_visit, symptoms_start
from casebook.clinical.vocabulary import ResultFlag
from casebook.errors import CasebookError
from casebook.models import (
    Case,
    InstrumentResponse,
    SymptomRating,
    TestResult,
    Visit,
)

__all__ = [
    "InstrumentChange",
    "MeasureStarts",
    "Reading",
    "ResultFlag",
    "Score",
    "ScoringError",
    "VisitBurden",
    "VisitChange",
    "band_for",
    "burden_by_visit",
    "change_since_baseline",
    "instrument_alerts",
    "instrument_trend",
    "measure_starts",
    "qualitative_flag",
    "read_result",
    "reference_range",
    "result_flag",
    "score_instrument",
    "symptom_burden",
]


class ScoringError(CasebookError, ValueError):
    """An answer, total or result that cannot be scored; the message names what and where."""


@dataclass(frozen=True)
class Score:
    total: int
    band: str
    band_text: str
    alerts: tuple[str, ...] = ()


@dataclass(frozen=True)
class VisitBurden:
    visit_id: str
    visit_date: date
    kind: str
    burden: int
    rated: int  # how many symptoms were rated at the visit (0: not measured)


@dataclass(frozen=True)
class InstrumentChange:
    total: int | None  # None: not measured (or not scorable) at this visit
    band: str | None
    delta: int | None  # vs where the instrument starts (clinical.baseline)


@dataclass(frozen=True)
class VisitChange:
    visit_id: str
    visit_date: date
    kind: str
    burden: int | None  # None: no symptom ratings at this visit
    burden_delta: int | None  # vs where the burden starts (clinical.baseline); None: unmeasured
    instruments: Mapping[str, InstrumentChange]  # every instrument used anywhere in the case


# --- instruments ----------------------------------------------------------------------


def _ids(values: Iterable[object]) -> str:
    return ", ".join(repr(str(v)) for v in values)


def band_for(instrument: Instrument, total: int) -> Band:
    """The band of `instrument` that contains `total`."""
    for band in instrument.bands:
        if band.min <= total <= band.max:
            return band
    lo, hi = instrument.total_range
    raise ScoringError(f"{instrument.short_name}: total {total} is outside {lo}-{hi}")


def _valid_answer(instrument: Instrument, value: object) -> bool:
    return type(value) is int and value in instrument.option_values  # bool is not an answer


def instrument_alerts(instrument: Instrument, answers: Mapping[str, int]) -> tuple[str, ...]:
    """Messages of the alerts whose item's raw answer is >= the alert's min_value.

    Lenient on purpose: an incomplete response still raises its alerts (a self-harm answer
    matters even if another item was skipped). Answers that are not valid options are ignored.
    """
    return tuple(
        alert.message
        for alert in instrument.alerts
        if _valid_answer(instrument, answers.get(alert.item))
        and answers[alert.item] >= alert.min_value
    )


def score_instrument(instrument: Instrument, answers: Mapping[str, int]) -> Score:
    """Total, band and alerts of one complete set of answers.

    Raises ScoringError naming every unknown item, unanswered item and invalid answer.
    """
    name = instrument.short_name
    item_ids = [item.id for item in instrument.items]
    problems: list[str] = []
    unknown = [key for key in answers if key not in item_ids]
    if unknown:
        problems.append(f"{name}: unknown item ids {_ids(unknown)} (items are {_ids(item_ids)})")
    missing = [i for i in item_ids if i not in answers]
    if missing:
        problems.append(f"{name}: items {_ids(missing)} are not answered")
    allowed = ", ".join(str(v) for v in instrument.option_values)
    for item_id in item_ids:
        if item_id in answers and not _valid_answer(instrument, answers[item_id]):
            problems.append(
                f"{name} item {item_id!r}: answer {answers[item_id]!r} is not one of {allowed}"
            )
    if problems:
        raise ScoringError("; ".join(problems))

    if instrument.scoring == "category":
        total = answers[item_ids[0]]
    else:
        lo, hi = min(instrument.option_values), max(instrument.option_values)
        total = sum(
            (lo + hi - answers[item.id]) if item.reverse else answers[item.id]
            for item in instrument.items
        )
    band = band_for(instrument, total)
    return Score(total, band.label, band.patient_text, instrument_alerts(instrument, answers))


def _response_score(
    response: InstrumentResponse, instrument: Instrument | None
) -> tuple[int, str] | None:
    """(total, band) of a response: rescored when the instrument is known, else as stored."""
    if instrument is None:
        return None if response.total is None else (response.total, response.band or "")
    try:
        score = score_instrument(instrument, response.answers)
    except ScoringError:
        return None
    return score.total, score.band


def instrument_trend(
    case: Case, instrument_key: str, *, instrument: Instrument | None = None
) -> list[tuple[date, int, str]]:
    """(visit date, total, band) of every scored response of one instrument, oldest first.

    Uses the stored total and band unless `instrument` is given, then rescores the answers.
    Responses that do not score are left out.
    """
    rows: list[tuple[date, int, str]] = []
    for visit in case.sorted_visits():
        for response in case.instruments:
            if response.visit_id == visit.id and response.instrument == instrument_key:
                scored = _response_score(response, instrument)
                if scored is not None:
                    rows.append((visit.visit_date, *scored))
    return rows


# --- results --------------------------------------------------------------------------


def result_flag(
    value: float | None, low: float | None, high: float | None
) -> Literal["H", "L"] | None:
    """ "H" strictly above `high`, "L" strictly below `low`; the bounds themselves are normal."""
    if value is None:
        return None
    if high is not None and value > high:
        return "H"
    if low is not None and value < low:
        return "L"
    return None


def qualitative_flag(test: LabTest, value_text: str) -> Literal["A"] | None:
    """ "A" when `value_text` is one of the test's abnormal values (case-insensitive)."""
    text = value_text.strip().casefold()
    if text in (v.casefold() for v in test.abnormal_values):
        return "A"
    if text in (v.casefold() for v in test.normal_values):
        return None
    allowed = ", ".join(repr(v) for v in (*test.normal_values, *test.abnormal_values))
    raise ScoringError(f"{test.name}: result {value_text!r} is not one of {allowed}")


@dataclass(frozen=True)
class Reading:
    """How one result reads: its flag and the reference range it is judged against."""

    flag: ResultFlag | None
    low: float | None
    high: float | None

    @property
    def has_range(self) -> bool:
        return self.low is not None or self.high is not None


def reference_range(
    result: TestResult, test: LabTest | None, sex: str
) -> tuple[float | None, float | None]:
    """The range printed with the result when it has one, else the catalog's for this sex
    (the female and male limits where the test has them); (None, None) when neither has one."""
    if result.ref_low is not None or result.ref_high is not None:
        return result.ref_low, result.ref_high
    return test.range_for(sex) if test is not None else (None, None)


def read_result(result: TestResult, test: LabTest | None, sex: str) -> Reading:
    """The flag and reference range that apply to `result` (the one rule every view uses).

    The flag is the stored one (the reporting lab's, or the one computed at save), else
    computed: a number against `reference_range`, a text result against the test's normal
    and abnormal values (an unknown text reads as unflagged)."""
    low, high = reference_range(result, test, sex)
    flag: ResultFlag | None = result.flag
    if flag is None and result.value is not None:
        flag = result_flag(result.value, low, high)
    elif flag is None and test is not None and test.kind == "qualitative" and result.value_text:
        try:
            flag = qualitative_flag(test, result.value_text)
        except ScoringError:
            flag = None
    return Reading(flag, low, high)


# --- symptoms and change --------------------------------------------------------------


def symptom_burden(ratings: Iterable[SymptomRating]) -> int:
    """Sum of severities (0-4 each; 0-44 for the eleven clinic symptoms)."""
    return sum(r.severity for r in ratings)


def burden_by_visit(case: Case) -> list[VisitBurden]:
    """Symptom burden of every visit, ordered like `case.sorted_visits()`."""
    by_visit: dict[str, list[SymptomRating]] = {}
    for rating in case.symptoms:
        by_visit.setdefault(rating.visit_id, []).append(rating)
    return [
        VisitBurden(
            v.id,
            v.visit_date,
            v.kind,
            symptom_burden(by_visit.get(v.id, ())),
            len(by_visit.get(v.id, ())),
        )
        for v in case.sorted_visits()
    ]


def _scores(
    case: Case, instruments: Mapping[str, Instrument]
) -> dict[tuple[str, str], tuple[int, str]]:
    """(visit id, instrument) -> (total, band) of every response that scores."""
    scores: dict[tuple[str, str], tuple[int, str]] = {}
    for response in case.instruments:  # a later response at the same visit wins
        scored = _response_score(response, instruments.get(response.instrument))
        if scored is not None:
            scores[(response.visit_id, response.instrument)] = scored
    return scores


@dataclass(frozen=True)
class MeasureStarts:
    """Where each measure's change is counted from (`casebook.clinical.baseline`)."""

    burden: Visit | None  # None: no symptom rated
    instruments: Mapping[str, Visit]  # instrument key -> its starting visit (scored ones)


def _starts(case: Case, scores: Mapping[tuple[str, str], tuple[int, str]]) -> MeasureStarts:
    keys = sorted({k for _, k in scores})
    found = {k: starting_visit(case, {vid for vid, key in scores if key == k}) for k in keys}
    return MeasureStarts(symptoms_start(case), {k: v for k, v in found.items() if v is not None})


def measure_starts(
    case: Case, *, instruments: Mapping[str, Instrument] | None = None
) -> MeasureStarts:
    """Where the symptom burden and each instrument start, as `change_since_baseline`
    counts their changes (a check-in the patient sent can be the start)."""
    return _starts(case, _scores(case, instruments or {}))


def change_since_baseline(
    case: Case, *, instruments: Mapping[str, Instrument] | None = None
) -> list[VisitChange]:
    """Per visit: burden and every instrument's total, each with its change from where that
    measure starts (`measure_starts`, from `casebook.clinical.baseline`: the first visit,
    from the baseline visit on, where it was recorded; a check-in the patient sent counts).
    None where not measured.

    Instrument totals are the stored ones unless `instruments` is given (then rescored).
    """
    burdens = {b.visit_id: (b.burden if b.rated else None) for b in burden_by_visit(case)}
    scores = _scores(case, instruments or {})
    starts = _starts(case, scores)
    base_burden = burdens[starts.burden.id] if starts.burden is not None else None
    keys = sorted({r.instrument for r in case.instruments})
    first = {key: scores[(start.id, key)][0] for key, start in starts.instruments.items()}
    changes: list[VisitChange] = []
    for visit in case.sorted_visits():
        per_instrument: dict[str, InstrumentChange] = {}
        for key in keys:
            scored = scores.get((visit.id, key))
            base = first.get(key)
            if scored is None:
                per_instrument[key] = InstrumentChange(None, None, None)
                continue
            delta = None if base is None else scored[0] - base
            per_instrument[key] = InstrumentChange(scored[0], scored[1], delta)
        burden = burdens[visit.id]
        delta = None if burden is None or base_burden is None else burden - base_burden
        changes.append(
            VisitChange(visit.id, visit.visit_date, visit.kind, burden, delta, per_instrument)
        )
    return changes
