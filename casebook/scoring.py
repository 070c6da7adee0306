"""Pure functions over the case record: instrument scores, H/L/A flags, symptom burden,
change since baseline and red-flag rules.

Nothing here does I/O or reads the catalog itself: catalog entries are passed in, so every
function can be tested with hand-built `Instrument`, `LabTest` and `RedFlagRule` objects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Literal

from casebook.catalog.schema import Band, Instrument, LabTest, RedFlagRule
from casebook.models import (
    AlarmScreen,
    Case,
    FamilyHistory,
    InstrumentResponse,
    SymptomRating,
    TestResult,
    Visit,
)

__all__ = [
    "InstrumentChange",
    "RedFlag",
    "Score",
    "ScoringError",
    "VisitBurden",
    "VisitChange",
    "band_for",
    "burden_by_visit",
    "change_since_baseline",
    "instrument_alerts",
    "instrument_trend",
    "qualitative_flag",
    "red_flags",
    "result_flag",
    "score_instrument",
    "symptom_burden",
]

_URGENCY_ORDER = {"same_day": 0, "urgent": 1, "routine": 2}
_FLAG_WORDS = {"H": "high", "L": "low", "A": "abnormal"}


class ScoringError(ValueError):
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
    delta: int | None  # vs the instrument's first scored visit


@dataclass(frozen=True)
class VisitChange:
    visit_id: str
    visit_date: date
    kind: str
    burden: int | None  # None: no symptom ratings at this visit
    burden_delta: int | None  # vs the baseline visit; None if either side is not measured
    instruments: Mapping[str, InstrumentChange]  # every instrument used anywhere in the case


@dataclass(frozen=True)
class RedFlag:
    key: str
    label: str
    reason: str
    urgency: str
    action: str
    source: str
    visit_id: str | None
    on: date | None


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
    """"H" strictly above `high`, "L" strictly below `low`; the bounds themselves are normal."""
    if value is None:
        return None
    if high is not None and value > high:
        return "H"
    if low is not None and value < low:
        return "L"
    return None


def qualitative_flag(test: LabTest, value_text: str) -> Literal["A"] | None:
    """"A" when `value_text` is one of the test's abnormal values (case-insensitive)."""
    text = value_text.strip().casefold()
    if text in (v.casefold() for v in test.abnormal_values):
        return "A"
    if text in (v.casefold() for v in test.normal_values):
        return None
    allowed = ", ".join(repr(v) for v in (*test.normal_values, *test.abnormal_values))
    raise ScoringError(f"{test.name}: result {value_text!r} is not one of {allowed}")


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
            v.id, v.visit_date, v.kind, symptom_burden(by_visit.get(v.id, ())),
            len(by_visit.get(v.id, ())),
        )
        for v in case.sorted_visits()
    ]


def change_since_baseline(
    case: Case, *, instruments: Mapping[str, Instrument] | None = None
) -> list[VisitChange]:
    """Per visit: burden and its change from the baseline visit, and every instrument's total
    with its change from that instrument's first scored visit. None where not measured.

    Instrument totals are the stored ones unless `instruments` is given (then rescored).
    """
    instruments = instruments or {}
    baseline = case.baseline()
    burdens = {b.visit_id: (b.burden if b.rated else None) for b in burden_by_visit(case)}
    base_burden = burdens.get(baseline.id) if baseline is not None else None
    keys = sorted({r.instrument for r in case.instruments})
    scores: dict[tuple[str, str], tuple[int, str]] = {}
    for response in case.instruments:  # a later response at the same visit wins
        scored = _response_score(response, instruments.get(response.instrument))
        if scored is not None:
            scores[(response.visit_id, response.instrument)] = scored
    first: dict[str, int] = {}
    changes: list[VisitChange] = []
    for visit in case.sorted_visits():
        per_instrument: dict[str, InstrumentChange] = {}
        for key in keys:
            scored = scores.get((visit.id, key))
            if scored is None:
                per_instrument[key] = InstrumentChange(None, None, None)
                continue
            start = first.setdefault(key, scored[0])
            per_instrument[key] = InstrumentChange(scored[0], scored[1], scored[0] - start)
        burden = burdens[visit.id]
        delta = None if burden is None or base_burden is None else burden - base_burden
        changes.append(
            VisitChange(visit.id, visit.visit_date, visit.kind, burden, delta, per_instrument)
        )
    return changes


# --- red flags ------------------------------------------------------------------------


def _num(value: float) -> str:
    return f"{value:.10g}"  # 12.0 -> "12", 10.9 -> "10.9", 250000.0 -> "250000"


def _lab_test(rule_test: str, tests: Mapping[str, LabTest]) -> LabTest | None:
    if rule_test in tests:
        return tests[rule_test]
    return next((t for t in tests.values() if t.loinc == rule_test), None)


def _below_threshold(rule: RedFlagRule, sex: str) -> tuple[float | None, str]:
    """The 'below' threshold for this patient and a note on how it was chosen."""
    specific = {"female": rule.below_female, "male": rule.below_male}
    if sex in specific:
        chosen = specific[sex]
        return (chosen, f" ({sex})") if chosen is not None else (rule.below, "")
    known = [v for v in specific.values() if v is not None]
    if known:
        return max(known), f" (sex {sex}: the higher of the female and male thresholds)"
    return rule.below, ""


def _effective_flag(result: TestResult, test: LabTest | None, sex: str) -> str | None:
    if result.flag is not None:
        return result.flag
    if result.value is not None:
        low, high = result.ref_low, result.ref_high
        if low is None and high is None and test is not None:
            low, high = test.range_for(sex)
        return result_flag(result.value, low, high)
    if test is not None and test.kind == "qualitative" and result.value_text:
        try:
            return qualitative_flag(test, result.value_text)
        except ScoringError:
            return None
    return None


def _flag(rule: RedFlagRule, reason: str, visit_id: str | None, on: date | None) -> RedFlag:
    return RedFlag(
        rule.key, rule.label, reason, rule.urgency, rule.action, rule.source, visit_id, on
    )


@dataclass(frozen=True)
class _Record:
    """What a rule sees: the case, its visits as of `today`, and the catalog entries."""

    case: Case
    visits: list[Visit]
    instruments: Mapping[str, Instrument]
    tests: Mapping[str, LabTest]
    today: date | None


def _screen(rule: RedFlagRule, rec: _Record) -> RedFlag | None:
    field = rule.field or ""
    if field not in AlarmScreen.model_fields or field == "symptom_onset":
        raise ScoringError(f"rule {rule.key!r}: {field!r} is not a yes/no screen field")
    hits = [v for v in rec.visits if getattr(v.screen, field) is True]
    if not hits:
        return None
    last = hits[-1]
    also = f" (also on {len(hits) - 1} earlier visit(s))" if len(hits) > 1 else ""
    reason = f"{rule.label}: answered yes on the alarm screen on {last.visit_date}{also}"
    return _flag(rule, reason, last.id, last.visit_date)


def _onset_age(rule: RedFlagRule, rec: _Record) -> RedFlag | None:
    onsets = [(v.screen.symptom_onset, v) for v in rec.visits if v.screen.symptom_onset]
    if not onsets or rule.min_age is None:
        return None  # never guess an onset that was not recorded
    onset, visit = min(onsets, key=lambda pair: pair[0])
    age = rec.case.patient.age_on(onset)
    if age < rule.min_age:
        return None
    reason = f"Symptoms began on {onset}, at age {age} (threshold {rule.min_age})"
    return _flag(rule, reason, visit.id, onset)


def _lab(rule: RedFlagRule, rec: _Record) -> RedFlag | None:
    sex = rec.case.patient.sex
    test = _lab_test(rule.test or "", rec.tests)
    keys = {rule.test, test.key if test else None}
    results = sorted(
        (r for r in rec.case.results
         if r.test in keys and (rec.today is None or r.collected_on <= rec.today)),
        key=lambda r: r.collected_on,
    )
    name = test.name if test else (rule.test or "")
    for result in reversed(results):  # most recent evidence first
        shown = (
            f"{_num(result.value)} {result.unit or (test.unit if test else '')}".strip()
            if result.value is not None else repr(result.value_text)
        )
        evidence = f"{name} {shown} on {result.collected_on}"
        if rule.kind == "lab_flag":
            flag = _effective_flag(result, test, sex)
            if flag in rule.flags:
                reason = f"{evidence} is flagged {flag} ({_FLAG_WORDS.get(flag, flag)})"
                return _flag(rule, reason, None, result.collected_on)
            continue
        if result.value is None:
            continue
        if test is not None and result.unit and not test.accepts_unit(result.unit):
            continue  # a value in another unit cannot be compared with the threshold
        below, note = _below_threshold(rule, sex)
        if below is not None and result.value < below:
            return _flag(rule, f"{evidence} is below {_num(below)}{note}", None,
                         result.collected_on)
        if rule.above is not None and result.value > rule.above:
            return _flag(rule, f"{evidence} is above {_num(rule.above)}", None,
                         result.collected_on)
    return None


def _family_history(rule: RedFlagRule, rec: _Record) -> RedFlag | None:
    found = [
        h.data for h in rec.case.history
        if isinstance(h.data, FamilyHistory) and h.data.condition in rule.conditions
    ]
    if not found:
        return None
    listed = ", ".join(
        f"{f.condition.replace('_', ' ')} ({f.relative}"
        + (f", onset at {f.age_at_onset}" if f.age_at_onset is not None else "") + ")"
        for f in found
    )
    return _flag(rule, f"Family history of {listed}", None, None)


def _instrument_alert(rule: RedFlagRule, rec: _Record) -> RedFlag | None:
    instrument = rec.instruments.get(rule.instrument or "")
    if instrument is None:
        return None  # cannot check answers without the instrument's alerts
    for visit in reversed(rec.visits):
        for response in reversed(rec.case.instruments):
            if response.visit_id != visit.id or response.instrument != instrument.key:
                continue
            fired = instrument_alerts(instrument, response.answers)
            if fired:
                reason = f"{instrument.short_name} on {visit.visit_date}: " + "; ".join(fired)
                return _flag(rule, reason, visit.id, visit.visit_date)
    return None


_RULE_KINDS: Mapping[str, Callable[[RedFlagRule, _Record], RedFlag | None]] = MappingProxyType({
    "screen": _screen,
    "onset_age": _onset_age,
    "lab": _lab,
    "lab_flag": _lab,
    "family_history": _family_history,
    "instrument_alert": _instrument_alert,
})


def red_flags(
    case: Case,
    rules: Iterable[RedFlagRule],
    instruments: Mapping[str, Instrument],
    tests: Mapping[str, LabTest] | None = None,
    *,
    today: date | None = None,
) -> list[RedFlag]:
    """One RedFlag per rule that fires (citing its most recent evidence), most urgent first.

    `today` evaluates the record as of that date: visits and results after it are ignored.
    """
    visits = [v for v in case.sorted_visits() if today is None or v.visit_date <= today]
    rec = _Record(case, visits, instruments, tests or {}, today)
    found = [flag for rule in rules if (flag := _RULE_KINDS[rule.kind](rule, rec)) is not None]
    return sorted(found, key=lambda f: (_URGENCY_ORDER.get(f.urgency, 99), f.key))
