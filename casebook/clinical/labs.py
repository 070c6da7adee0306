"""Lab-aware readings: anaemia, iron deficiency and celiac serology, each in one place.

Pure: catalog entries are passed in. The red-flag rules of kinds `anemia`,
`iron_deficiency` and `lab_needs_limit` (`clinical.red_flags`) call these functions, and so
may any other rule or view that needs to know whether a patient is anaemic or iron deficient.

- **Anaemia** is haemoglobin below the lower limit of the laboratory performing the test
  (BSG 2021); the catalog's default for the patient's sex only when the lab printed none
  (the higher of the two when the sex is not female or male). In pregnancy the BSH
  thresholds apply instead (first trimester 11.0 g/dL, second and third 10.5, postpartum
  10.0), the stage coming from the recorded due date; pregnant without a due date, the
  first-trimester threshold (the highest).
- **Iron deficiency**: with anaemia, ferritin below 45 ng/mL (AGA 2020; BSG 2021);
  without, ferritin below the lab's lower limit; either way a ferritin up to 100 ng/mL with
  a raised CRP (above its own range, within `INFLAMMATION_WINDOW_DAYS`) can still be iron
  deficiency (BSG 2021; AGA 2020).
- A finding whose test has a newer result that does not cross the threshold is
  `superseded`: the newer result is in range, and views say so rather than fire for ever.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from casebook.catalog.schema import LabTest
from casebook.clinical.scoring import read_result
from casebook.format import number
from casebook.models import Case, SafetyFacts, TestResult

__all__ = [
    "CELIAC_STATUSES",
    "CELIAC_TESTS",
    "FERRITIN_WITH_ANAEMIA",
    "FERRITIN_WITH_INFLAMMATION",
    "INFLAMMATION_TESTS",
    "INFLAMMATION_WINDOW_DAYS",
    "POSTPARTUM_DAYS",
    "PREGNANCY_HB_LOWER",
    "CeliacSerology",
    "LabFinding",
    "anaemia_threshold",
    "celiac_serology_status",
    "has_anaemia",
    "has_iron_deficiency",
    "latest_finding",
    "pregnancy_stage",
    "shown",
    "unreadable_without_limit",
]

PREGNANCY_HB_LOWER: Mapping[str, float] = {
    "first trimester": 11.0,
    "second trimester": 10.5,
    "third trimester": 10.5,
    "postpartum": 10.0,
    "stage not recorded": 11.0,
}
"""g/dL: Pavord S et al. UK guidelines on the management of iron deficiency in pregnancy
(BSH). Br J Haematol 2020;188:819-830 (as in its 2012 edition, Br J Haematol
2012;156:588-600): Hb below 110 g/L first trimester, 105 second and third, 100 postpartum."""
POSTPARTUM_DAYS = 42
"""Days after the due date read as postpartum (the six weeks after birth)."""
FERRITIN_WITH_ANAEMIA = 45.0
"""ng/mL (= µg/L): AGA 2020 (Ko CW et al., Gastroenterology 2020;159:1085-1094)."""
FERRITIN_WITH_INFLAMMATION = 100.0
"""ng/mL: up to this, with inflammation, can still be iron deficiency (BSG 2021; AGA 2020)."""
INFLAMMATION_TESTS = ("crp", "hs_crp")
INFLAMMATION_WINDOW_DAYS = 30
"""A CRP this many days either side of the ferritin counts as its inflammation context."""
CELIAC_TESTS = ("ttg_iga", "ttg_igg", "dgp_igg")
_IGG_TESTS = ("ttg_igg", "dgp_igg")

CELIAC_STATUSES = ("not tested", "negative", "positive", "IgA deficient", "needs review")
"""What `celiac_serology_status` says: no serology; negative with adequate total IgA (or
IgG-based and negative when IgA is low); positive; total IgA low with no IgG-based result;
a result that cannot be read yet (no lab limit, or total IgA not measured)."""


@dataclass(frozen=True)
class LabFinding:
    """A result that crosses a threshold, why, the other results it leans on, and the newer
    result of the same test that is in range (None: it is the latest)."""

    result: TestResult
    why: str
    also: tuple[TestResult, ...] = ()
    superseded_by: TestResult | None = None


def shown(result: TestResult, test: LabTest | None) -> str:
    """'Hemoglobin 11.9 g/dL on 2026-03-02', as reasons cite a result."""
    name = test.name if test else result.test
    if result.value is None:
        value = repr(result.value_text)
    else:
        value = f"{number(result.value)} {result.unit or (test.unit if test else '')}".strip()
    return f"{name} {value} on {result.collected_on}"


def _results(
    case: Case, keys: Iterable[str], today: date | None, tests: Mapping[str, LabTest]
) -> list[TestResult]:
    """The case's results of these tests up to `today`, oldest first, leaving out numbers in
    a unit the catalog does not list for the test (they cannot meet its thresholds)."""
    wanted = set(keys)
    out = []
    for r in case.results:
        if r.test not in wanted or (today is not None and r.collected_on > today):
            continue
        test = tests.get(r.test)
        if r.value is not None and r.unit and test is not None and not test.accepts_unit(r.unit):
            continue
        out.append(r)
    return sorted(out, key=lambda r: r.collected_on)


def latest_finding(
    results: Iterable[TestResult], fires: Callable[[TestResult], LabFinding | None]
) -> LabFinding | None:
    """The newest result that `fires` (most recent evidence first), marked superseded when
    the newest result of the same test does not fire."""
    ordered = sorted(results, key=lambda r: r.collected_on)
    for result in reversed(ordered):
        found = fires(result)
        if found is None:
            continue
        newest = [r for r in ordered if r.test == result.test][-1]
        if newest.collected_on > result.collected_on and fires(newest) is None:
            return LabFinding(found.result, found.why, found.also, newest)
        return found
    return None


# --- pregnancy and anaemia ---------------------------------------------------------------


def pregnancy_stage(case: Case, on: date) -> str | None:
    """'first trimester' ... 'postpartum' or 'stage not recorded' on `on`; None when the
    record does not say the patient is pregnant (or just was) then.

    A due date dates the pregnancy (280 days before it to the due date; the 42 days after
    it postpartum); without one, the latest safety facts recorded by `on` decide."""
    entries = [e.data for e in case.history if isinstance(e.data, SafetyFacts)]
    entries.sort(key=lambda d: (d.recorded_on is not None, d.recorded_on or date.min))
    for facts in reversed(entries):
        due = facts.due_date
        if facts.pregnant is not True or due is None:
            continue
        if due - timedelta(days=280) <= on <= due:
            weeks = (280 - (due - on).days) // 7
            return (
                "first trimester"
                if weeks < 14
                else ("second trimester" if weeks < 28 else "third trimester")
            )
        if due < on <= due + timedelta(days=POSTPARTUM_DAYS):
            return "postpartum"
    known = [d for d in entries if d.pregnant is not None and (d.recorded_on or date.min) <= on]
    if known and known[-1].pregnant and known[-1].due_date is None:
        return "stage not recorded"
    return None


def anaemia_threshold(result: TestResult, test: LabTest | None, case: Case) -> tuple[float, str]:
    """The haemoglobin lower limit for this result and where it comes from."""
    stage = pregnancy_stage(case, result.collected_on)
    if stage is not None:
        return PREGNANCY_HB_LOWER[stage], f"pregnancy, {stage} (BSH)"
    if result.ref_low is not None:
        return result.ref_low, "the lab's lower limit"
    sex = case.patient.sex
    if test is None:
        return 13.0 if sex != "female" else 12.0, f"the default for sex {sex}"
    if sex in ("female", "male"):
        low = test.range_for(sex)[0]
        if low is not None:
            return low, f"the catalog's default, {sex}"
    lows = [r.low for r in test.ranges.values() if r.low is not None]
    if lows:
        return max(lows), f"the catalog's default, sex {sex}: the higher of female and male"
    return test.ref_low if test.ref_low is not None else 12.0, "the catalog's default"


def _anaemic(case: Case, tests: Mapping[str, LabTest]) -> Callable[[TestResult], LabFinding | None]:
    def fires(result: TestResult) -> LabFinding | None:
        if result.value is None:
            return None
        test = tests.get(result.test)
        limit, where = anaemia_threshold(result, test, case)
        if result.value >= limit:
            return None
        return LabFinding(result, f"is below {number(limit)} ({where})")

    return fires


def has_anaemia(
    case: Case, tests: Mapping[str, LabTest], *, today: date | None = None, key: str = "hemoglobin"
) -> LabFinding | None:
    """The most recent haemoglobin below its threshold (`anaemia_threshold`), or None."""
    return latest_finding(_results(case, [key], today, tests), _anaemic(case, tests))


# --- iron ------------------------------------------------------------------------------


def _raised_crp(
    case: Case, tests: Mapping[str, LabTest], around: date, today: date | None
) -> TestResult | None:
    window = timedelta(days=INFLAMMATION_WINDOW_DAYS)
    near = [
        r
        for r in _results(case, INFLAMMATION_TESTS, today, tests)
        if abs(r.collected_on - around) <= window
    ]
    raised = [r for r in near if read_result(r, tests.get(r.test), case.patient.sex).flag == "H"]
    return raised[-1] if raised else None


def has_iron_deficiency(
    case: Case,
    tests: Mapping[str, LabTest],
    *,
    anaemic: bool,
    today: date | None = None,
    key: str = "ferritin",
) -> LabFinding | None:
    """The most recent ferritin that reads as iron deficiency, or None.

    With anaemia: below `FERRITIN_WITH_ANAEMIA`; without: below the lab's lower limit (the
    catalog's when the lab gives none). Either way, up to `FERRITIN_WITH_INFLAMMATION` with a
    raised CRP near it (the finding then cites that CRP too)."""
    sex = case.patient.sex

    def fires(result: TestResult) -> LabFinding | None:
        value = result.value
        if value is None:
            return None
        test = tests.get(result.test)
        if anaemic and value < FERRITIN_WITH_ANAEMIA:
            return LabFinding(result, f"is below {number(FERRITIN_WITH_ANAEMIA)} with anemia")
        reading = read_result(result, test, sex)
        low = reading.low
        if not anaemic and low is not None and value < low:
            return LabFinding(result, f"is below the lower limit {number(low)}")
        if not anaemic and reading.flag == "L":
            return LabFinding(result, "is flagged low by the lab")
        if value <= FERRITIN_WITH_INFLAMMATION:
            crp = _raised_crp(case, tests, result.collected_on, today)
            if crp is not None:
                why = (
                    f"is {number(FERRITIN_WITH_INFLAMMATION)} or less with a raised CRP "
                    f"({shown(crp, tests.get(crp.test))}): with inflammation this can still "
                    "be iron deficiency"
                )
                return LabFinding(result, why, (crp,))
        return None

    return latest_finding(_results(case, [key], today, tests), fires)


# --- celiac serology ---------------------------------------------------------------------


def _readable(result: TestResult, test: LabTest | None, sex: str) -> bool:
    """Can the result be read: a flag from the lab, or an upper limit to read it against."""
    reading = read_result(result, test, sex)
    return reading.flag is not None or reading.high is not None or result.value is None


def unreadable_without_limit(
    case: Case, tests: Mapping[str, LabTest], keys: Iterable[str], *, today: date | None = None
) -> LabFinding | None:
    """The most recent of these results with a number but neither the lab's upper limit nor
    its flag (so nobody can say whether it is raised); superseded by a newer readable one."""
    sex = case.patient.sex

    def fires(result: TestResult) -> LabFinding | None:
        if _readable(result, tests.get(result.test), sex):
            return None
        return LabFinding(result, "has no upper limit from the lab, so it cannot be read")

    return latest_finding(_results(case, keys, today, tests), fires)


@dataclass(frozen=True)
class CeliacSerology:
    """Where celiac serology stands: one of CELIAC_STATUSES, why, and the results read."""

    status: str
    reason: str
    results: tuple[str, ...] = ()


def _latest(results: list[TestResult], key: str) -> TestResult | None:
    found = [r for r in results if r.test == key]
    return found[-1] if found else None


def celiac_serology_status(
    case: Case, tests: Mapping[str, LabTest], *, today: date | None = None
) -> CeliacSerology:
    """Celiac serology read with total IgA (ACG 2023, Rubio-Tapia et al.): the latest result
    of each test. A gluten-free trial needs 'negative' (or a practitioner's confirmation)."""
    sex = case.patient.sex
    results = _results(case, (*CELIAC_TESTS, "total_iga"), today, tests)
    latest = {k: r for k in CELIAC_TESTS if (r := _latest(results, k)) is not None}
    if not latest:
        return CeliacSerology("not tested", "no celiac serology recorded")
    ids = tuple(r.id for r in latest.values())
    flags = {k: read_result(r, tests.get(k), sex).flag for k, r in latest.items()}
    positive = [k for k, f in flags.items() if f in ("H", "A")]
    if positive:
        r = latest[positive[0]]
        return CeliacSerology("positive", f"{shown(r, tests.get(r.test))} is raised", ids)
    unread = [r for k, r in latest.items() if not _readable(r, tests.get(k), sex)]
    if unread:
        r = unread[0]
        why = f"{shown(r, tests.get(r.test))} has no upper limit from the lab"
        return CeliacSerology("needs review", why, ids)
    iga = _latest(results, "total_iga")
    iga_low = iga is not None and read_result(iga, tests.get("total_iga"), sex).flag == "L"
    igg_negative = any(k in latest for k in _IGG_TESTS)
    with_iga = ids + ((iga.id,) if iga is not None else ())
    if iga is None:
        return CeliacSerology("needs review", "total IgA not measured", ids)
    if iga_low:
        if igg_negative:
            return CeliacSerology(
                "negative", "IgG-based serology negative; total IgA low", with_iga
            )
        return CeliacSerology(
            "IgA deficient", "total IgA is low: a negative tTG-IgA cannot be read", with_iga
        )
    if "ttg_iga" in latest:
        return CeliacSerology("negative", "tTG-IgA negative with adequate total IgA", with_iga)
    return CeliacSerology("needs review", "only IgG-based serology, total IgA adequate", with_iga)
