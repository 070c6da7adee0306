"""The shipped red-flag rules, each tried on both sides of its threshold (issue 9)."""

from __future__ import annotations

from datetime import date

import pytest

from casebook.catalog import default_catalog
from casebook.clinical.red_flags import CASE_PARTS, RedFlag, red_flags
from casebook.demo.synthetic import generate_case
from casebook.models import (
    AlarmScreen,
    Case,
    FamilyHistory,
    HistoryEntry,
    Patient,
    SymptomRating,
    TestResult,
    Visit,
)

PID = "p-rules"
DAY = date(2025, 3, 1)
CAT = default_catalog()
RULES = {r.key: r for r in CAT.red_flags}


def _case(
    *,
    age: int = 35,
    sex: str = "female",
    screen: dict[str, object] | None = None,
    results: list[TestResult] | None = None,
    pain: int = 0,
    family: list[FamilyHistory] | None = None,
) -> Case:
    birth = date(DAY.year - age, DAY.month, DAY.day)
    visit = Visit(
        patient_id=PID,
        visit_date=DAY,
        kind="intake",
        screen=AlarmScreen(
            symptom_onset=date(DAY.year - 1, 1, 1) if age < 51 else None, **(screen or {})
        ),
    )
    symptoms = [
        SymptomRating(patient_id=PID, visit_id=visit.id, symptom="abdominal_pain", severity=pain)
    ]
    history = [HistoryEntry(patient_id=PID, data=f) for f in family or []]
    return Case(
        patient=Patient(id=PID, name="Rule Test", birth_date=birth, sex=sex),
        visits=[visit],
        symptoms=symptoms,
        results=results or [],
        history=history,
    )


def _result(
    test: str, value: float | None = None, text: str | None = None, **kw: object
) -> TestResult:
    unit = CAT.tests[test].unit if value is not None else ""
    return TestResult(
        patient_id=PID, test=test, collected_on=DAY, value=value, value_text=text, unit=unit, **kw
    )  # type: ignore[arg-type]


def _flags(case: Case) -> dict[str, RedFlag]:
    return {f.key: f for f in red_flags(case, CAT.red_flags, CAT.instruments, CAT.tests)}


# --- sources ---------------------------------------------------------------------------


def test_every_rule_cites_a_primary_source() -> None:
    for rule in CAT.red_flags:
        text = rule.source.casefold()
        assert "clinical reference" not in text and "casebook" not in text, rule.key
        assert any(ch.isdigit() for ch in rule.source), f"{rule.key}: no year or citation"


# --- celiac serology -----------------------------------------------------------------


@pytest.mark.parametrize("test", ["ttg_iga", "ttg_igg", "dgp_igg"])
@pytest.mark.parametrize(
    ("value", "fires"), [(30.0, True), (10.1, True), (10.0, False), (2.0, False)]
)
def test_celiac_serology_above_the_results_own_upper_limit(
    test: str, value: float, fires: bool
) -> None:
    res = _result(test, value, ref_high=10.0)
    flags = _flags(_case(results=[res]))
    assert ("celiac_serology_positive" in flags) is fires
    if fires:
        flag = flags["celiac_serology_positive"]
        assert flag.urgency == "urgent" and "keep eating gluten" in flag.action
        assert flag.results == (res.id,)
        assert "Rubio-Tapia" in flag.source


def test_celiac_serology_without_a_printed_limit_uses_the_catalogs() -> None:
    # assays differ, so the catalog gives no default upper limit for tTG: nothing to compare
    assert CAT.tests["ttg_iga"].ref_high is None
    assert "celiac_serology_positive" not in _flags(_case(results=[_result("ttg_iga", 90.0)]))


@pytest.mark.parametrize(("iga", "fires"), [(69.0, True), (70.0, False)])
def test_low_total_iga_prompts_an_igg_based_test(iga: float, fires: bool) -> None:
    flags = _flags(
        _case(results=[_result("total_iga", iga), _result("ttg_iga", 1.0, ref_high=10.0)])
    )
    assert ("low_total_iga" in flags) is fires
    if fires:
        assert "tTG-IgG or DGP-IgG" in flags["low_total_iga"].action


def test_low_total_iga_is_moot_when_serology_is_already_positive() -> None:
    flags = _flags(
        _case(results=[_result("total_iga", 20.0), _result("ttg_igg", 40.0, ref_high=10.0)])
    )
    assert "celiac_serology_positive" in flags and "low_total_iga" not in flags


# --- inflammation and infection ----------------------------------------------------------


@pytest.mark.parametrize("test", ["crp", "hs_crp"])
@pytest.mark.parametrize(("value", "fires"), [(14.0, True), (10.0, True), (9.9, False)])
def test_crp_and_hs_crp_alike(test: str, value: float, fires: bool) -> None:
    flags = _flags(_case(results=[_result(test, value)]))
    assert ("crp_raised" in flags) is fires


def test_crp_reference_range_is_the_printed_one_not_the_alarm_threshold() -> None:
    assert CAT.tests["crp"].ref_high == CAT.tests["hs_crp"].ref_high == 5.0
    assert RULES["crp_raised"].at_least == 10.0


@pytest.mark.parametrize(
    ("test", "text", "fires"),
    [
        ("giardia_antigen", "positive", True),
        ("giardia_antigen", "detected", True),
        ("giardia_antigen", "negative", False),
        ("ova_parasites", "detected", True),
        ("ova_parasites", "none seen", False),
        ("h_pylori_stool_antigen", "positive", True),
        ("h_pylori_stool_antigen", "negative", False),
        ("h_pylori_breath", "positive", True),
        ("h_pylori_breath", "negative", False),
    ],
)
def test_positive_stool_and_breath_infection_tests(test: str, text: str, fires: bool) -> None:
    key = "h_pylori_positive" if test.startswith("h_pylori") else "parasite_positive"
    assert (key in _flags(_case(results=[_result(test, text=text)]))) is fires


@pytest.mark.parametrize(("value", "fires"), [(10.0, True), (9.0, False)])
def test_fit_at_10(value: float, fires: bool) -> None:
    assert ("fit_positive" in _flags(_case(results=[_result("fit", value)]))) is fires


@pytest.mark.parametrize(("value", "fires"), [(50.1, True), (50.0, False)])
def test_calprotectin_above_50(value: float, fires: bool) -> None:
    flags = _flags(_case(results=[_result("calprotectin", value)]))
    assert ("calprotectin_positive" in flags) is fires


# --- age (NICE NG12 combinations: tests/clinical/test_red_flags_ng12.py) -------------


@pytest.mark.parametrize(("age", "fires"), [(50, True), (49, False)])
def test_age_50_at_intake_counts_when_onset_was_not_recorded(age: int, fires: bool) -> None:
    case = _case(age=age)
    case.visits[0].screen = AlarmScreen()  # no onset recorded
    assert ("onset_after_50" in _flags(case)) is fires


# --- bleeding -----------------------------------------------------------------------


@pytest.mark.parametrize("field", ["melena", "hematemesis"])
def test_melena_and_hematemesis_are_same_day_apart_from_other_bleeding(field: str) -> None:
    flags = _flags(_case(screen={field: True}))
    assert flags[field].urgency == "same_day"
    assert "gi_bleeding" not in flags
    assert _flags(_case(screen={field: False})) == {}


def test_other_gi_bleeding_is_urgent() -> None:
    flags = _flags(_case(screen={"gi_bleeding": True}))
    assert flags["gi_bleeding"].urgency == "urgent" and "melena" not in flags


def test_old_alarm_screens_load_without_the_new_fields() -> None:
    screen = AlarmScreen.model_validate({"gi_bleeding": True})
    assert screen.melena is None and screen.hematemesis is None


# --- iron ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ferritin", "hb", "expected"),
    [
        (44.9, 11.9, {"anemia", "iron_deficiency_anemia", "ng12_fit_iron_deficiency_anemia"}),
        (45.0, 11.9, {"anemia"}),
        (29.9, 12.0, {"iron_deficiency_without_anemia"}),
        (30.0, 12.0, set()),
        (38.0, 13.0, set()),  # the example: a ferritin of 38 alone is not an alarm
    ],
)
def test_iron_deficiency_anemia_apart_from_iron_deficiency(
    ferritin: float, hb: float, expected: set[str]
) -> None:
    fer, hem = _result("ferritin", ferritin), _result("hemoglobin", hb)
    flags = _flags(_case(results=[fer, hem]))
    assert set(flags) == expected
    if "iron_deficiency_anemia" in flags:
        assert flags["iron_deficiency_anemia"].urgency == "urgent"
        assert set(flags["iron_deficiency_anemia"].results) == {fer.id, hem.id}
    if "iron_deficiency_without_anemia" in flags:
        assert flags["iron_deficiency_without_anemia"].urgency == "routine"


# --- family history ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relative", "fires"),
    [
        ("parent", True),
        ("sibling", True),
        ("child", True),
        ("grandparent", False),
        ("other", False),
    ],
)
def test_family_history_counts_first_degree_relatives_only(relative: str, fires: bool) -> None:
    family = [FamilyHistory(relative=relative, condition="colorectal_cancer")]  # type: ignore[arg-type]
    assert ("family_history_gi" in _flags(_case(family=family))) is fires


def test_family_history_reason_keeps_the_capitals_of_ibd() -> None:
    from casebook.catalog import default_catalog
    from casebook.clinical.red_flags import red_flags
    from casebook.demo.synthetic import generate_cases

    cat = default_catalog()
    reasons = [
        f.reason
        for case in generate_cases(12, seed=1)
        for f in red_flags(case, cat.red_flags, cat.instruments, cat.tests)
        if f.key == "family_history_gi"
    ]
    assert reasons and all("ibd" not in r for r in reasons)
    assert any("Family history of IBD" in r for r in reasons)


def test_the_rules_read_only_the_case_parts_they_name() -> None:
    """A writer that must know the flags at once reads only `CASE_PARTS` (the check-in
    submission): the flags are the same as over the whole case."""
    catalog = default_catalog()
    args = (catalog.red_flags, catalog.instruments, catalog.tests)
    fired = 0
    for index in range(40):
        case = generate_case(index, seed=3, catalog=catalog)
        parts = case.model_copy(
            update={
                name: [] for name in type(case).model_fields if name not in (*CASE_PARTS, "patient")
            }
        )
        whole = red_flags(case, *args)
        assert red_flags(parts, *args) == whole
        fired += len(whole)
    assert fired  # the population raises flags, so the comparison means something
