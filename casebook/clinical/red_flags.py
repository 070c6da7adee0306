"""Red flags: alarm features found in the whole record, each with its reason and source.

Pure: rules come from the catalog (`red_flags.toml`) and are passed in. A rule may need
other rules to fire (`requires`) or not to fire (`unless`); rules are decided in that order,
so iron-deficiency anemia (ferritin low, and anemia) and iron deficiency without anemia are
two flags with their own urgency. Each flag names the results that raised it, so a view can
say which values the practitioner wants to discuss.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from types import MappingProxyType

from casebook.catalog.rule_schema import RedFlagRule
from casebook.catalog.schema import Instrument, LabTest
from casebook.clinical.labs import (
    LabFinding,
    has_anaemia,
    has_iron_deficiency,
    latest_finding,
    shown,
    unreadable_without_limit,
)
from casebook.clinical.scoring import ScoringError, instrument_alerts, read_result
from casebook.clinical.vocabulary import RESULT_FLAG_WORDS, Urgency
from casebook.format import lower_first, number
from casebook.models import AlarmScreen, Case, FamilyHistory, TestResult, Visit

__all__ = ["CASE_PARTS", "RedFlag", "red_flags"]

CASE_PARTS = ("visits", "history", "symptoms", "instruments", "results")
"""The parts of a case the rules read (beside the patient): a writer that must know the
flags at once reads only these (`casebook.store.reads.read_case_parts`)."""


@dataclass(frozen=True)
class RedFlag:
    key: str
    label: str
    reason: str
    urgency: Urgency  # the rule's; a view shows `flag_lifecycle.shown_urgency`
    action: str
    source: str
    visit_id: str | None
    on: date | None
    results: tuple[str, ...] = ()  # ids of the results it cites
    superseded: str = ""  # "a newer result is in range: ..." (`clinical.labs`), else ""


# --- red flags ------------------------------------------------------------------------


def _lab_tests(rule: RedFlagRule, tests: Mapping[str, LabTest]) -> dict[str, LabTest | None]:
    """Result test key -> catalog entry, for every test (key or LOINC code) the rule names."""
    out: dict[str, LabTest | None] = {}
    for name in rule.test_keys:
        test = tests.get(name) or next((t for t in tests.values() if t.loinc == name), None)
        out[name] = test
        if test is not None:
            out[test.key] = test
    return out


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


def _flag(
    rule: RedFlagRule,
    reason: str,
    visit_id: str | None,
    on: date | None,
    results: tuple[str, ...] = (),
) -> RedFlag:
    return RedFlag(
        rule.key,
        rule.label,
        reason,
        rule.urgency,
        rule.action,
        rule.source,
        visit_id,
        on,
        results,
    )


@dataclass(frozen=True)
class _Record:
    """What a rule sees: the case, its visits as of `today`, and the catalog entries."""

    case: Case
    visits: list[Visit]
    instruments: Mapping[str, Instrument]
    tests: Mapping[str, LabTest]
    today: date | None


def _screen(rule: RedFlagRule, rec: _Record, needs: Sequence[RedFlag]) -> RedFlag | None:
    field_name = rule.field or ""
    if field_name not in AlarmScreen.model_fields or field_name == "symptom_onset":
        raise ScoringError(f"rule {rule.key!r}: {field_name!r} is not a yes/no screen field")
    hits = [v for v in rec.visits if getattr(v.screen, field_name) is True]
    if not hits:
        return None
    last = hits[-1]
    also = f" (also on {len(hits) - 1} earlier visit(s))" if len(hits) > 1 else ""
    reason = f"{rule.label}: answered yes on the alarm screen on {last.visit_date}{also}"
    return _flag(rule, reason, last.id, last.visit_date)


def _onset_age(rule: RedFlagRule, rec: _Record, needs: Sequence[RedFlag]) -> RedFlag | None:
    """Onset at or after `min_age`; with no onset recorded, the age at the intake visit."""
    if rule.min_age is None or not rec.visits:
        return None
    onsets = [(v.screen.symptom_onset, v) for v in rec.visits if v.screen.symptom_onset]
    if onsets:
        onset, visit = min(onsets, key=lambda pair: pair[0])
        age = rec.case.patient.age_on(onset)
        reason = f"Symptoms began on {onset}, at age {age} (threshold {rule.min_age})"
        return _flag(rule, reason, visit.id, onset) if age >= rule.min_age else None
    intake = next((v for v in rec.visits if v.kind == "intake"), rec.visits[0])
    age = rec.case.patient.age_on(intake.visit_date)
    if age < rule.min_age:
        return None
    reason = (
        f"No symptom onset recorded; age {age} at the visit on {intake.visit_date} "
        f"(threshold {rule.min_age}): ask when the symptoms began"
    )
    return _flag(rule, reason, intake.id, intake.visit_date)


def _rated(rec: _Record, visit: Visit, symptom: str) -> bool:
    return any(
        r.visit_id == visit.id and r.symptom == symptom and r.severity > 0
        for r in rec.case.symptoms
    )


def _words(name: str) -> str:
    return _FIELD_WORDS.get(name, name.replace("_", " "))


# Screen fields and symptoms as a reason names them.
_FIELD_WORDS = {"gi_bleeding": "rectal or other GI bleeding"}


def _found_at(rule: RedFlagRule, rec: _Record, visit: Visit) -> list[str] | None:
    """What the rule's combination finds at this visit, or None when it is not met: every
    one of `fields` and `symptoms`, and (when given) at least one of `any_fields` and
    `any_symptoms`."""
    if not all(getattr(visit.screen, f) is True for f in rule.fields):
        return None
    if not all(_rated(rec, visit, s) for s in rule.symptoms):
        return None
    found = [*rule.fields, *rule.symptoms]
    if rule.any_fields or rule.any_symptoms:
        some = [f for f in rule.any_fields if getattr(visit.screen, f) is True]
        some += [s for s in rule.any_symptoms if _rated(rec, visit, s)]
        if not some:
            return None
        found += [n for n in some if n not in found]
    return [_words(n) for n in found]


def _age_with(rule: RedFlagRule, rec: _Record, needs: Sequence[RedFlag]) -> RedFlag | None:
    """NICE NG12 age combinations: an age, with screen answers, symptoms or other flags."""
    min_age = rule.min_age or 0
    patient = rec.case.patient
    also = [lower_first(n.label) for n in needs]
    if not (rule.fields or rule.symptoms or rule.any_fields or rule.any_symptoms):
        # only other flags: age on their latest evidence
        dates = [n.on for n in needs if n.on is not None]
        when = max(dates) if dates else (rec.today or date.today())
        age = patient.age_on(when)
        if age < min_age:
            return None
        return _flag(rule, f"Age {age} on {when}, with {' and '.join(also)}", None, when)
    for visit in reversed(rec.visits):
        age = patient.age_on(visit.visit_date)
        if age < min_age or (rule.under_age is not None and age >= rule.under_age):
            continue
        found = _found_at(rule, rec, visit)
        if found is not None:
            reason = (
                f"Age {age} at the visit on {visit.visit_date}, with "
                f"{' and '.join([*found, *also])}"
            )
            return _flag(rule, reason, visit.id, visit.visit_date)
    return None


def _threshold(rule: RedFlagRule, result: TestResult, sex: str) -> str | None:
    """Why a numeric result crosses the rule's threshold, or None."""
    value = result.value
    if value is None:
        return None
    below, note = _below_threshold(rule, sex)
    if below is not None and value < below:
        return f"is below {number(below)}{note}"
    if rule.at_least is not None and value >= rule.at_least:
        return f"is at or above {number(rule.at_least)}"
    if rule.above is not None and value > rule.above:
        return f"is above {number(rule.above)}"
    return None


def _found(
    rule: RedFlagRule, found: LabFinding | None, tests: Mapping[str, LabTest | None]
) -> RedFlag | None:
    """The flag of a lab finding: its reason, the results it cites, and whether a newer
    result of the same test is in range (`superseded`)."""
    if found is None:
        return None
    result = found.result
    reason = f"{shown(result, tests.get(result.test))} {found.why}"
    newer = found.superseded_by
    superseded = ""
    if newer is not None:
        superseded = f"a newer result is in range: {shown(newer, tests.get(newer.test))}"
        reason += f"; {superseded}"
    cited = (result.id, *(r.id for r in found.also))
    return replace(_flag(rule, reason, None, result.collected_on, cited), superseded=superseded)


def _lab(rule: RedFlagRule, rec: _Record, needs: Sequence[RedFlag]) -> RedFlag | None:
    sex = rec.case.patient.sex
    tests = _lab_tests(rule, rec.tests)

    def comparable(result: TestResult) -> bool:
        test = tests[result.test]
        return rule.kind == "lab_flag" or not (
            test is not None and result.unit and not test.accepts_unit(result.unit)
        )  # a value in another unit cannot be compared with the threshold

    def fires(result: TestResult) -> LabFinding | None:
        test = tests[result.test]
        if rule.kind == "lab_flag":
            flag = read_result(result, test, sex).flag
            if flag is None or flag not in rule.flags:
                return None
            return LabFinding(result, f"is flagged {flag} ({RESULT_FLAG_WORDS[flag]})")
        why = _threshold(rule, result, sex)
        return LabFinding(result, why) if why else None

    results = [
        r
        for r in rec.case.results
        if r.test in tests and (rec.today is None or r.collected_on <= rec.today) and comparable(r)
    ]
    return _found(rule, latest_finding(results, fires), tests)


def _test_key(rule: RedFlagRule, rec: _Record) -> str:
    """The catalog key of the rule's (first) test, which may be named by LOINC code."""
    name = rule.test_keys[0]
    test = rec.tests.get(name) or next((t for t in rec.tests.values() if t.loinc == name), None)
    return test.key if test is not None else name


def _anemia(rule: RedFlagRule, rec: _Record, needs: Sequence[RedFlag]) -> RedFlag | None:
    key = _test_key(rule, rec)
    return _found(rule, has_anaemia(rec.case, rec.tests, today=rec.today, key=key), rec.tests)


def _iron_deficiency(rule: RedFlagRule, rec: _Record, needs: Sequence[RedFlag]) -> RedFlag | None:
    found = has_iron_deficiency(
        rec.case, rec.tests, anaemic=bool(rule.anemic), today=rec.today, key=_test_key(rule, rec)
    )
    return _found(rule, found, rec.tests)


def _needs_limit(rule: RedFlagRule, rec: _Record, needs: Sequence[RedFlag]) -> RedFlag | None:
    keys = list(_lab_tests(rule, rec.tests))
    found = unreadable_without_limit(rec.case, rec.tests, keys, today=rec.today)
    return _found(rule, found, rec.tests)


# Written as clinicians write them: IBD keeps its capitals.
_CONDITION_WORDS = {"ibd": "IBD"}


def _family_history(rule: RedFlagRule, rec: _Record, needs: Sequence[RedFlag]) -> RedFlag | None:
    found = [
        h.data
        for h in rec.case.history
        if isinstance(h.data, FamilyHistory)
        and h.data.condition in rule.conditions
        and h.data.relative in rule.relatives
    ]
    if not found:
        return None
    listed = ", ".join(
        f"{_CONDITION_WORDS.get(f.condition, f.condition.replace('_', ' '))} ({f.relative}"
        + (f", onset at {f.age_at_onset}" if f.age_at_onset is not None else "")
        + ")"
        for f in found
    )
    return _flag(rule, f"Family history of {listed}", None, None)


def _instrument_alert(rule: RedFlagRule, rec: _Record, needs: Sequence[RedFlag]) -> RedFlag | None:
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


_Kind = Callable[[RedFlagRule, _Record, Sequence[RedFlag]], RedFlag | None]
_RULE_KINDS: Mapping[str, _Kind] = MappingProxyType(
    {
        "screen": _screen,
        "onset_age": _onset_age,
        "age_with": _age_with,
        "lab": _lab,
        "lab_flag": _lab,
        "anemia": _anemia,
        "iron_deficiency": _iron_deficiency,
        "lab_needs_limit": _needs_limit,
        "family_history": _family_history,
        "instrument_alert": _instrument_alert,
    }
)


def _in_order(rules: Sequence[RedFlagRule]) -> list[RedFlagRule]:
    """The rules, each after every rule it requires or excludes (ScoringError on a cycle)."""
    return [rules[i] for i in _order(tuple((r.key, r.requires, r.unless) for r in rules))]


_Deps = tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]


@functools.lru_cache(maxsize=16)
def _order(deps: _Deps) -> tuple[int, ...]:
    """The order of `_in_order` as indexes, worked out once per set of rules (a server
    checks every check-in submission against the same catalog's rules)."""
    keys = {key for key, _, _ in deps}
    done: set[str] = set()
    ordered: list[int] = []
    pending = list(range(len(deps)))
    while pending:
        ready = [
            i
            for i in pending
            if all(k in done or k not in keys for k in (*deps[i][1], *deps[i][2]))
        ]
        if not ready:
            cycle = ", ".join(sorted(deps[i][0] for i in pending))
            raise ScoringError(f"rules {cycle} require or exclude each other in a cycle")
        for i in ready:
            ordered.append(i)
            done.add(deps[i][0])
            pending.remove(i)
    return tuple(ordered)


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
    A rule with `requires` fires only when those rules fire too (its flag also cites their
    results); a rule with `unless` only when those do not.
    """
    visits = [v for v in case.sorted_visits() if today is None or v.visit_date <= today]
    rec = _Record(case, visits, instruments, tests or {}, today)
    fired: dict[str, RedFlag] = {}
    for rule in _in_order(list(rules)):
        # a flag whose newer result is in range does not rule out another (`unless`)
        current = {k for k, f in fired.items() if not f.superseded}
        if any(k not in fired for k in rule.requires) or any(k in current for k in rule.unless):
            continue
        needs = [fired[k] for k in rule.requires]
        flag = _RULE_KINDS[rule.kind](rule, rec, needs)
        if flag is not None:
            cited = tuple(dict.fromkeys((*flag.results, *(i for n in needs for i in n.results))))
            flag = replace(flag, results=cited)
            gone = next((n.superseded for n in needs if n.superseded), "")
            if gone and not flag.superseded:  # what it requires is in range now
                flag = replace(flag, reason=f"{flag.reason}; {gone}", superseded=gone)
            fired[rule.key] = flag
    return sorted(fired.values(), key=lambda f: (Urgency(f.urgency).rank, f.key))
