"""Red flags: alarm features found in the whole record, each with its reason and source.

Pure: rules come from the catalog (`red_flags.toml`) and are passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType

from casebook.catalog.schema import Instrument, LabTest, RedFlagRule
from casebook.format import number
from casebook.models import AlarmScreen, Case, FamilyHistory, Visit
from casebook.scoring import ScoringError, instrument_alerts, read_result

__all__ = ["RedFlag", "red_flags"]

_URGENCY_ORDER = {"same_day": 0, "urgent": 1, "routine": 2}
_FLAG_WORDS = {"H": "high", "L": "low", "A": "abnormal"}


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


# --- red flags ------------------------------------------------------------------------


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
        (
            r
            for r in rec.case.results
            if r.test in keys and (rec.today is None or r.collected_on <= rec.today)
        ),
        key=lambda r: r.collected_on,
    )
    name = test.name if test else (rule.test or "")
    for result in reversed(results):  # most recent evidence first
        shown = (
            f"{number(result.value)} {result.unit or (test.unit if test else '')}".strip()
            if result.value is not None
            else repr(result.value_text)
        )
        evidence = f"{name} {shown} on {result.collected_on}"
        if rule.kind == "lab_flag":
            flag = read_result(result, test, sex).flag
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
            return _flag(
                rule, f"{evidence} is below {number(below)}{note}", None, result.collected_on
            )
        if rule.above is not None and result.value > rule.above:
            reason = f"{evidence} is above {number(rule.above)}"
            return _flag(rule, reason, None, result.collected_on)
    return None


def _family_history(rule: RedFlagRule, rec: _Record) -> RedFlag | None:
    found = [
        h.data
        for h in rec.case.history
        if isinstance(h.data, FamilyHistory) and h.data.condition in rule.conditions
    ]
    if not found:
        return None
    listed = ", ".join(
        f"{f.condition.replace('_', ' ')} ({f.relative}"
        + (f", onset at {f.age_at_onset}" if f.age_at_onset is not None else "")
        + ")"
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


_RULE_KINDS: Mapping[str, Callable[[RedFlagRule, _Record], RedFlag | None]] = MappingProxyType(
    {
        "screen": _screen,
        "onset_age": _onset_age,
        "lab": _lab,
        "lab_flag": _lab,
        "family_history": _family_history,
        "instrument_alert": _instrument_alert,
    }
)


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
