"""Lab-aware thresholds (issue 19, item 2): the lab's own limit, pregnancy, ferritin with
inflammation, results superseded by newer ones in range, and celiac serology without the
lab's upper limit. Each threshold is tried on both sides."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from casebook.catalog import default_catalog
from casebook.clinical.flag_lifecycle import check_step, flag_statuses
from casebook.clinical.labs import (
    anaemia_threshold,
    celiac_serology_status,
    has_anaemia,
    has_iron_deficiency,
    pregnancy_stage,
)
from casebook.clinical.red_flags import RedFlag, red_flags
from casebook.clinical.vocabulary import Urgency
from casebook.models import Case, HistoryEntry, Patient, SafetyFacts, TestResult, Visit

PID = "p-labs"
DAY = date(2025, 6, 1)
CAT = default_catalog()


def _case(
    results: list[TestResult],
    *,
    age: int = 45,
    sex: str = "female",
    safety: list[SafetyFacts] | None = None,
) -> Case:
    return Case(
        patient=Patient(id=PID, name="Lab Test", birth_date=date(DAY.year - age, 1, 1), sex=sex),
        visits=[Visit(patient_id=PID, visit_date=DAY, kind="intake")],
        results=results,
        history=[HistoryEntry(patient_id=PID, data=s) for s in safety or []],
    )


def _r(
    test: str, value: float | None = None, on: date = DAY, text: str | None = None, **kw: object
) -> TestResult:
    unit = CAT.tests[test].unit if value is not None else ""
    return TestResult(
        patient_id=PID, test=test, collected_on=on, value=value, value_text=text, unit=unit, **kw
    )  # type: ignore[arg-type]


def _flags(case: Case, today: date | None = None) -> dict[str, RedFlag]:
    found = red_flags(case, CAT.red_flags, CAT.instruments, CAT.tests, today=today)
    return {f.key: f for f in found}


# --- anaemia: the lab's own lower limit first -------------------------------------------


@pytest.mark.parametrize(
    ("sex", "value", "ref_low", "anaemic"),
    [
        ("male", 13.4, 13.5, True),  # just under the lab's limit
        ("male", 13.5, 13.5, False),  # at it
        ("male", 13.4, None, False),  # the catalog's male default is 13
        ("female", 11.8, 11.5, False),  # the lab's limit is lower than the default 12
        ("female", 11.4, 11.5, True),
        ("female", 11.9, None, True),  # catalog default for women: 12
        ("female", 12.0, None, False),
        ("male", 12.9, None, True),
        ("male", 13.0, None, False),
        ("unknown", 12.9, None, True),  # the higher of the two defaults
        ("unknown", 13.0, None, False),
    ],
)
def test_anaemia_is_below_the_labs_lower_limit(
    sex: str, value: float, ref_low: float | None, anaemic: bool
) -> None:
    case = _case([_r("hemoglobin", value, ref_low=ref_low)], sex=sex)
    assert (has_anaemia(case, CAT.tests) is not None) is anaemic
    assert ("anemia" in _flags(case)) is anaemic


def test_the_reason_says_where_the_limit_comes_from() -> None:
    lab = _case([_r("hemoglobin", 13.4, ref_low=13.5)], sex="male", age=62)
    assert _flags(lab)["anemia"].reason == (
        "Hemoglobin 13.4 g/dL on 2025-06-01 is below 13.5 (the lab's lower limit)"
    )
    default = _case([_r("hemoglobin", 11.9)])
    assert "below 12 (the catalog's default, female)" in _flags(default)["anemia"].reason


def test_a_62_year_old_just_under_the_labs_limit_with_normal_ferritin() -> None:
    """The issue's example: anaemia raised (urgent), no iron-deficiency anaemia, and the NG12
    iron-deficiency rule does not fire on a normal ferritin, and NG12's 60-and-over anaemia
    rule does."""
    case = _case([_r("hemoglobin", 13.4, ref_low=13.5), _r("ferritin", 80.0)], sex="male", age=62)
    flags = _flags(case)
    assert flags["anemia"].urgency == "urgent"
    assert "iron_deficiency_anemia" not in flags
    assert "ng12_fit_iron_deficiency_anemia" not in flags
    assert "ng12_fit_60_anemia" in flags  # NG12 1.3.1: 60 and over with anaemia, FIT first


# --- pregnancy ---------------------------------------------------------------------------

DUE = date(2025, 12, 1)
CONCEPTION = DUE - timedelta(days=280)  # 0 weeks of gestation as counted from the due date


def _pregnant(due: date | None = DUE, recorded_on: date = date(2025, 4, 1)) -> SafetyFacts:
    return SafetyFacts(recorded_on=recorded_on, pregnant=True, due_date=due)


@pytest.mark.parametrize(
    ("on", "stage"),
    [
        (CONCEPTION + timedelta(weeks=13, days=6), "first trimester"),
        (CONCEPTION + timedelta(weeks=14), "second trimester"),
        (CONCEPTION + timedelta(weeks=27, days=6), "second trimester"),
        (CONCEPTION + timedelta(weeks=28), "third trimester"),
        (DUE, "third trimester"),
        (DUE + timedelta(days=1), "postpartum"),
        (DUE + timedelta(days=42), "postpartum"),
        (DUE + timedelta(days=43), None),
        (CONCEPTION - timedelta(days=1), None),
    ],
)
def test_pregnancy_stage_from_the_due_date(on: date, stage: str | None) -> None:
    assert pregnancy_stage(_case([], safety=[_pregnant()]), on) == stage


def test_pregnancy_stage_without_a_due_date_and_after_a_no() -> None:
    facts = [_pregnant(None, date(2025, 3, 1))]
    assert pregnancy_stage(_case([], safety=facts), date(2025, 5, 1)) == "stage not recorded"
    assert pregnancy_stage(_case([], safety=facts), date(2025, 2, 1)) is None  # before
    facts.append(SafetyFacts(recorded_on=date(2025, 4, 1), pregnant=False))
    assert pregnancy_stage(_case([], safety=facts), date(2025, 5, 1)) is None
    assert pregnancy_stage(_case([]), date(2025, 5, 1)) is None


@pytest.mark.parametrize(
    ("weeks", "value", "anaemic"),
    [
        (10, 10.9, True),  # first trimester: below 11.0
        (10, 11.0, False),
        (20, 10.4, True),  # second: below 10.5
        (20, 10.5, False),
        (20, 10.9, False),  # anaemic in the first trimester, not in the second
        (32, 10.4, True),  # third: below 10.5
        (32, 10.5, False),
    ],
)
def test_pregnancy_thresholds_by_trimester(weeks: int, value: float, anaemic: bool) -> None:
    on = CONCEPTION + timedelta(weeks=weeks)
    # the lab's non-pregnant limit (12) does not apply in pregnancy
    case = _case([_r("hemoglobin", value, on, ref_low=12.0)], safety=[_pregnant()])
    flags = _flags(case, today=on)
    assert ("anemia" in flags) is anaemic
    if anaemic:
        assert "pregnancy" in flags["anemia"].reason and "(BSH)" in flags["anemia"].reason


@pytest.mark.parametrize(("value", "anaemic"), [(9.9, True), (10.0, False)])
def test_postpartum_threshold(value: float, anaemic: bool) -> None:
    on = DUE + timedelta(days=20)
    case = _case([_r("hemoglobin", value, on)], safety=[_pregnant()])
    assert (has_anaemia(case, CAT.tests, today=on) is not None) is anaemic


@pytest.mark.parametrize(("value", "anaemic"), [(10.9, True), (11.0, False)])
def test_pregnant_without_a_due_date_uses_the_highest_threshold(
    value: float, anaemic: bool
) -> None:
    case = _case([_r("hemoglobin", value)], safety=[_pregnant(None)])
    assert (has_anaemia(case, CAT.tests) is not None) is anaemic
    limit, where = anaemia_threshold(case.results[0], CAT.tests["hemoglobin"], case)
    assert (limit, where) == (11.0, "pregnancy, stage not recorded (BSH)")


# --- ferritin with inflammation ----------------------------------------------------------


@pytest.mark.parametrize(
    ("ferritin", "crp", "expected"),
    [
        (99.0, 12.0, True),
        (100.0, 12.0, True),  # "up to 100"
        (101.0, 12.0, False),
        (99.0, 4.0, False),  # CRP within its range: no inflammation
        (99.0, None, False),  # no CRP
    ],
)
def test_ferritin_up_to_100_with_raised_crp_without_anaemia(
    ferritin: float, crp: float | None, expected: bool
) -> None:
    results = [_r("ferritin", ferritin), _r("hemoglobin", 13.0)]
    results += [_r("crp", crp)] if crp is not None else []
    flags = _flags(_case(results))
    assert ("iron_deficiency_without_anemia" in flags) is expected
    assert "anemia" not in flags and "iron_deficiency_anemia" not in flags
    if expected:
        flag = flags["iron_deficiency_without_anemia"]
        assert flag.urgency == "routine" and "raised CRP" in flag.reason
        assert set(flag.results) == {results[0].id, results[2].id}  # the ferritin and the CRP


@pytest.mark.parametrize(
    ("ferritin", "crp", "expected"),
    [
        (44.0, 4.0, True),  # below 45 with anaemia, CRP normal
        (45.0, 4.0, False),
        (99.0, 12.0, True),
        (100.0, 12.0, True),
        (101.0, 12.0, False),
        (99.0, 4.0, False),
    ],
)
def test_iron_deficiency_anaemia_with_inflammation(
    ferritin: float, crp: float, expected: bool
) -> None:
    results = [_r("ferritin", ferritin), _r("hemoglobin", 11.0), _r("crp", crp)]
    flags = _flags(_case(results, age=64))
    assert "anemia" in flags
    assert ("iron_deficiency_anemia" in flags) is expected
    assert ("ng12_fit_iron_deficiency_anemia" in flags) is expected  # ng12 reads the same rule
    assert "iron_deficiency_without_anemia" not in flags


@pytest.mark.parametrize(
    ("kw", "expected"),
    [({"ref_low": 40.0}, True), ({"flag": "L"}, True), ({}, False), ({"ref_low": 35.0}, False)],
)
def test_ferritin_below_the_labs_own_limit_without_anaemia(
    kw: dict[str, object], expected: bool
) -> None:
    flags = _flags(_case([_r("ferritin", 38.0, **kw), _r("hemoglobin", 13.0)]))
    assert ("iron_deficiency_without_anemia" in flags) is expected


@pytest.mark.parametrize(("days", "expected"), [(30, True), (31, False), (-30, True)])
def test_the_crp_must_be_near_the_ferritin(days: int, expected: bool) -> None:
    results = [_r("ferritin", 80.0), _r("crp", 15.0, DAY + timedelta(days=days))]
    found = has_iron_deficiency(_case(results), CAT.tests, anaemic=False, today=DAY + timedelta(60))
    assert (found is not None) is expected


# --- superseded by a newer result in range -----------------------------------------------


def test_an_old_low_hemoglobin_with_a_newer_normal_one_is_superseded() -> None:
    old, new = _r("hemoglobin", 10.0, date(2022, 1, 5)), _r("hemoglobin", 13.1, date(2025, 5, 1))
    case = _case([old, new, _r("ferritin", 20.0, date(2022, 1, 5))], age=64)
    flags = _flags(case)
    anemia = flags["anemia"]
    assert anemia.results == (old.id,)
    assert anemia.superseded == "a newer result is in range: Hemoglobin 13.1 g/dL on 2025-05-01"
    assert anemia.superseded in anemia.reason
    # what requires anaemia is superseded with it; the low ferritin is now read without it
    assert flags["iron_deficiency_anemia"].superseded == anemia.superseded
    assert flags["ng12_fit_iron_deficiency_anemia"].superseded == anemia.superseded
    assert "iron_deficiency_without_anemia" in flags
    statuses = {s.flag.key: s for s in flag_statuses(flags.values(), (), today=DAY)}
    shown = statuses["anemia"]
    assert shown.urgency == Urgency.ROUTINE and not shown.needs_contact
    assert shown.state == "open"  # never silent: a practitioner resolves it
    assert shown.headline() == "routine — a newer result is in range"
    check_step(list(statuses.values()), "anemia", "resolved", outcome="Repeat FBC normal")


def test_a_newer_abnormal_result_is_not_superseded() -> None:
    results = [
        _r("hemoglobin", 10.0, date(2022, 1, 5)),
        _r("hemoglobin", 13.1, date(2023, 5, 1)),
        _r("hemoglobin", 11.0, date(2025, 5, 1)),
    ]
    anemia = _flags(_case(results))["anemia"]
    assert anemia.superseded == "" and anemia.on == date(2025, 5, 1)
    statuses = flag_statuses([anemia], (), today=DAY)
    assert statuses[0].urgency == Urgency.URGENT and statuses[0].needs_contact


def test_superseded_is_read_as_of_today() -> None:
    results = [_r("hemoglobin", 10.0, date(2024, 1, 5)), _r("hemoglobin", 13.1, date(2025, 5, 1))]
    assert _flags(_case(results), today=date(2024, 6, 1))["anemia"].superseded == ""
    assert _flags(_case(results), today=DAY)["anemia"].superseded != ""


@pytest.mark.parametrize(("newer", "superseded"), [("negative", True), ("positive", False)])
def test_a_qualitative_positive_with_a_newer_negative(newer: str, superseded: bool) -> None:
    results = [
        _r("giardia_antigen", text="positive", on=date(2024, 1, 1)),
        _r("giardia_antigen", text=newer, on=date(2025, 1, 1)),
    ]
    flag = _flags(_case(results))["parasite_positive"]
    assert bool(flag.superseded) is superseded


def test_a_newer_result_in_another_unit_does_not_supersede() -> None:
    old = _r("hemoglobin", 10.0, date(2024, 1, 5))
    new = TestResult(patient_id=PID, test="hemoglobin", collected_on=DAY, value=131.0, unit="g/L")
    assert _flags(_case([old, new]))["anemia"].superseded == ""


# --- celiac serology needs the lab's upper limit -----------------------------------------


@pytest.mark.parametrize(
    ("kw", "unreadable", "positive"),
    [
        ({}, True, False),  # no limit, no flag: cannot be read, listed for review
        ({"ref_high": 20.0}, False, True),
        ({"ref_high": 30.0}, False, False),
        ({"flag": "H"}, False, True),  # the lab's flag without its limit reads
    ],
)
def test_celiac_result_without_the_labs_upper_limit(
    kw: dict[str, object], unreadable: bool, positive: bool
) -> None:
    flags = _flags(_case([_r("ttg_iga", 25.0, **kw), _r("total_iga", 150.0)]))
    assert ("celiac_serology_without_limit" in flags) is unreadable
    assert ("celiac_serology_positive" in flags) is positive
    if unreadable:
        flag = flags["celiac_serology_without_limit"]
        assert flag.urgency == "routine" and "cannot be read" in flag.reason


def test_a_later_readable_celiac_result_supersedes_the_unreadable_one() -> None:
    results = [_r("ttg_iga", 25.0, date(2025, 1, 1)), _r("ttg_iga", 2.0, DAY, ref_high=20.0)]
    assert _flags(_case(results))["celiac_serology_without_limit"].superseded


@pytest.mark.parametrize(
    ("results", "status"),
    [
        ([], "not tested"),
        ([_r("ttg_iga", 2.0, ref_high=20.0), _r("total_iga", 150.0)], "negative"),
        ([_r("ttg_iga", 25.0, ref_high=20.0), _r("total_iga", 150.0)], "positive"),
        ([_r("ttg_iga", 25.0), _r("total_iga", 150.0)], "needs review"),  # no limit
        ([_r("ttg_iga", 2.0, ref_high=20.0)], "needs review"),  # total IgA not measured
        ([_r("ttg_iga", 2.0, ref_high=20.0), _r("total_iga", 5.0)], "IgA deficient"),
        (
            [
                _r("ttg_iga", 2.0, ref_high=20.0),
                _r("total_iga", 5.0),
                _r("ttg_igg", 3.0, ref_high=20.0),
            ],
            "negative",
        ),
        ([_r("ttg_igg", 30.0, ref_high=20.0), _r("total_iga", 5.0)], "positive"),
        ([_r("ttg_igg", 3.0, ref_high=20.0), _r("total_iga", 150.0)], "needs review"),
    ],
)
def test_celiac_serology_status(results: list[TestResult], status: str) -> None:
    found = celiac_serology_status(_case(results), CAT.tests)
    assert found.status == status
    assert found.reason


def test_celiac_tests_need_the_labs_range_and_calprotectin_carries_dg11() -> None:
    assert all(CAT.tests[k].needs_lab_range for k in ("ttg_iga", "ttg_igg", "dgp_igg"))
    calprotectin = CAT.tests["calprotectin"]
    assert "DG11" in calprotectin.evidence_note and "DG11" in calprotectin.source
    assert "does not rule out colorectal cancer" in calprotectin.evidence_note
    assert "not a test for cancer" in calprotectin.patient_note
