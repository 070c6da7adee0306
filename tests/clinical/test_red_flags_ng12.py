"""NICE NG12 (2023) lower-GI, upper-GI and pancreatic rules (issue 19 item 1): each
combination, on both sides of each age (39/40, 49/50, 54/55, 59/60)."""

from __future__ import annotations

import re
from datetime import date

import pytest

from casebook.catalog import default_catalog
from casebook.clinical.red_flags import RedFlag, red_flags
from casebook.models import AlarmScreen, Case, Patient, SymptomRating, TestResult, Visit

PID = "p-ng12"
DAY = date(2025, 3, 1)
CAT = default_catalog()
RULES = {r.key: r for r in CAT.red_flags}

FIT = "offer FIT first"
ENDOSCOPY = (
    "suspected cancer pathway referral for oesophageal or stomach cancer"
    " (cancer diagnosed or ruled out within 28 days"
)
PATHWAY = "suspected cancer pathway referral"


def _case(
    age: int,
    *,
    screen: dict[str, bool] | None = None,
    rated: dict[str, int] | None = None,
    results: list[TestResult] | None = None,
    sex: str = "female",
) -> Case:
    visit = Visit(
        patient_id=PID,
        visit_date=DAY,
        kind="intake",
        screen=AlarmScreen(symptom_onset=date(DAY.year - 1, 1, 1), **(screen or {})),
    )
    symptoms = [
        SymptomRating(patient_id=PID, visit_id=visit.id, symptom=key, severity=sev)
        for key, sev in (rated or {}).items()
    ]
    return Case(
        patient=Patient(id=PID, name="Rule Test", birth_date=date(DAY.year - age, 3, 1), sex=sex),
        visits=[visit],
        symptoms=symptoms,
        results=results or [],
    )


def _lab(test: str, value: float) -> TestResult:
    return TestResult(
        patient_id=PID, test=test, collected_on=DAY, value=value, unit=CAT.tests[test].unit
    )


def _flags(case: Case) -> dict[str, RedFlag]:
    return {f.key: f for f in red_flags(case, CAT.red_flags, CAT.instruments, CAT.tests)}


NG12_RULES = {
    "bowel_habit_change",
    "abdominal_or_rectal_mass",
    "dysphagia",
    "ng12_fit_iron_deficiency_anemia",
    "ng12_fit_40_weight_loss_pain",
    "ng12_fit_under_50_bleeding",
    "ng12_fit_50_bleeding_pain_weight_loss",
    "ng12_fit_60_anemia",
    "ng12_endoscopy_55_weight_loss",
    "ng12_endoscopy_55_nausea_vomiting",
    "ng12_endoscopy_55_upper_pain_anemia",
    "ng12_endoscopy_55_treatment_resistant_dyspepsia",
    "ng12_endoscopy_55_platelets",
    "ng12_upper_abdominal_mass",
    "ng12_stomach_mass",
    "ng12_gall_bladder_mass",
    "ng12_liver_mass",
    "ng12_anal_mass_or_ulceration",
    "ng12_pancreatic_40_jaundice",
    "ng12_pancreatic_60_weight_loss",
    "fit_positive",
}


def test_the_2015_combinations_are_gone_and_every_ng12_rule_cites_its_recommendation() -> None:
    assert (
        not {
            "ng12_40_weight_loss_pain",
            "ng12_50_rectal_bleeding",
            "ng12_60_bowel_change",
            "ng12_60_iron_deficiency_anemia",
            "bowel_change_over_6_weeks",
        }
        & RULES.keys()
    )
    ng12 = {k for k, r in RULES.items() if "NG12" in r.source and k.startswith("ng12")}
    assert ng12 <= NG12_RULES
    for key in NG12_RULES:
        rule = RULES[key]
        # the version cited: NG12 as last updated in May 2025 (1.2.1 and 1.2.7 reworded)
        assert "NG12" in rule.source and "last updated May 2025" in rule.source, key
        cited = set(re.findall(r"\b1\.[23]\.\d+", rule.source + rule.action))
        assert cited == CITED[key], key


# The NG12 recommendations each rule cites, by number (read in NICE's text as last updated
# in May 2025: see the comment at the top of red_flags.toml).
FIT_NUMBERS = {"1.3.1", "1.3.2", "1.3.3"}
NON_URGENT = {"1.2.3", "1.2.9"}
CITED = {
    "bowel_habit_change": FIT_NUMBERS,
    "abdominal_or_rectal_mass": FIT_NUMBERS | {"1.3.5"},
    "dysphagia": {"1.2.1", "1.2.7"},
    "ng12_fit_iron_deficiency_anemia": FIT_NUMBERS,
    "ng12_fit_40_weight_loss_pain": FIT_NUMBERS,
    "ng12_fit_under_50_bleeding": FIT_NUMBERS,
    "ng12_fit_50_bleeding_pain_weight_loss": FIT_NUMBERS,
    "ng12_fit_60_anemia": FIT_NUMBERS,
    "ng12_endoscopy_55_weight_loss": {"1.2.1", "1.2.7"},
    "ng12_endoscopy_55_nausea_vomiting": NON_URGENT,
    "ng12_endoscopy_55_upper_pain_anemia": NON_URGENT,
    "ng12_endoscopy_55_treatment_resistant_dyspepsia": NON_URGENT,
    "ng12_endoscopy_55_platelets": NON_URGENT,
    "ng12_upper_abdominal_mass": {"1.2.6", "1.2.10", "1.2.11"},  # asks which applies
    "ng12_stomach_mass": {"1.2.6"},
    "ng12_gall_bladder_mass": {"1.2.10"},
    "ng12_liver_mass": {"1.2.11"},
    "ng12_anal_mass_or_ulceration": {"1.3.1", "1.3.6"},
    "ng12_pancreatic_40_jaundice": {"1.2.4"},
    "ng12_pancreatic_60_weight_loss": {"1.2.5"},
    "fit_positive": {"1.3.2"},
}


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("bowel_habit_change", FIT),
        ("abdominal_or_rectal_mass", FIT),
        ("ng12_fit_iron_deficiency_anemia", FIT),
        ("ng12_fit_40_weight_loss_pain", FIT),
        ("ng12_fit_under_50_bleeding", FIT),
        ("ng12_fit_50_bleeding_pain_weight_loss", FIT),
        ("ng12_fit_60_anemia", FIT),
        ("dysphagia", ENDOSCOPY),
        ("ng12_endoscopy_55_weight_loss", ENDOSCOPY),
        ("ng12_endoscopy_55_nausea_vomiting", "non-urgent direct-access upper GI endoscopy"),
        ("ng12_endoscopy_55_upper_pain_anemia", "non-urgent direct-access upper GI endoscopy"),
        (
            "ng12_endoscopy_55_treatment_resistant_dyspepsia",
            "non-urgent direct-access upper GI endoscopy",
        ),
        ("ng12_endoscopy_55_platelets", "non-urgent direct-access upper GI endoscopy"),
        ("ng12_stomach_mass", PATHWAY),
        ("ng12_gall_bladder_mass", "urgent direct-access ultrasound"),
        ("ng12_liver_mass", "urgent direct-access ultrasound"),
        ("ng12_anal_mass_or_ulceration", PATHWAY),
        ("ng12_pancreatic_40_jaundice", PATHWAY),
        ("ng12_pancreatic_60_weight_loss", "urgent direct-access CT"),
        ("fit_positive", PATHWAY),
    ],
)
def test_each_action_names_its_pathway(key: str, words: str) -> None:
    assert words.casefold() in RULES[key].action.casefold()


# --- lower GI: FIT guides the referral (NG12 1.3.1, DG56) ------------------------------


@pytest.mark.parametrize("age", [18, 39, 70])
def test_any_change_in_bowel_habit_at_any_adult_age(age: int) -> None:
    assert "bowel_habit_change" in _flags(_case(age, screen={"bowel_habit_change": True}))
    assert "bowel_habit_change" not in _flags(_case(age, screen={"bowel_habit_change": False}))


def test_an_old_looser_stools_answer_reads_as_a_change_in_bowel_habit() -> None:
    case = _case(30)
    case.visits[0].screen = AlarmScreen.model_validate({"bowel_change_over_6_weeks": True})
    assert case.visits[0].screen.bowel_habit_change is True
    assert "bowel_habit_change" in _flags(case)
    # a no to looser stools said nothing about harder or rarer ones: not asked
    assert (
        AlarmScreen.model_validate({"bowel_change_over_6_weeks": False}).bowel_habit_change is None
    )


def test_abdominal_mass_at_any_age_and_a_rectal_mass_skips_fit() -> None:
    flag = _flags(_case(25, screen={"abdominal_or_rectal_mass": True}))["abdominal_or_rectal_mass"]
    assert flag.urgency == "urgent" and "rectal mass needs no FIT" in flag.action


@pytest.mark.parametrize(("hb", "ferritin", "fires"), [(11.0, 20.0, True), (12.5, 20.0, False)])
def test_iron_deficiency_anemia_at_any_adult_age(hb: float, ferritin: float, fires: bool) -> None:
    flags = _flags(_case(30, results=[_lab("hemoglobin", hb), _lab("ferritin", ferritin)]))
    assert ("ng12_fit_iron_deficiency_anemia" in flags) is fires
    assert "ng12_fit_60_anemia" not in flags


@pytest.mark.parametrize(
    ("age", "screen", "rated", "fires"),
    [
        (40, {"unintentional_weight_loss": True}, {"abdominal_pain": 2}, True),
        (39, {"unintentional_weight_loss": True}, {"abdominal_pain": 2}, False),
        (40, {"unintentional_weight_loss": True, "upper_abdominal_pain": True}, {}, True),
        (40, {"unintentional_weight_loss": True}, {"abdominal_pain": 0}, False),
        (40, {"unintentional_weight_loss": False}, {"abdominal_pain": 3}, False),
    ],
)
def test_40_and_over_with_weight_loss_and_abdominal_pain(
    age: int, screen: dict[str, bool], rated: dict[str, int], fires: bool
) -> None:
    flags = _flags(_case(age, screen=screen, rated=rated))
    assert ("ng12_fit_40_weight_loss_pain" in flags) is fires
    if fires:
        assert f"Age {age}" in flags["ng12_fit_40_weight_loss_pain"].reason


def test_at_50_the_wider_rule_raises_one_fit_flag_not_two() -> None:
    flags = _flags(
        _case(50, screen={"unintentional_weight_loss": True}, rated={"abdominal_pain": 2})
    )
    assert "ng12_fit_50_bleeding_pain_weight_loss" in flags
    assert "ng12_fit_40_weight_loss_pain" not in flags


@pytest.mark.parametrize(
    ("age", "screen", "rated", "fires"),
    [
        (49, {"gi_bleeding": True}, {"abdominal_pain": 1}, True),
        (49, {"gi_bleeding": True, "unintentional_weight_loss": True}, {}, True),
        (49, {"gi_bleeding": True, "upper_abdominal_pain": True}, {}, True),
        (49, {"gi_bleeding": True}, {"abdominal_pain": 0}, False),
        (49, {"gi_bleeding": False}, {"abdominal_pain": 2}, False),
        (50, {"gi_bleeding": True}, {"abdominal_pain": 1}, False),  # the 50 rule instead
        (18, {"gi_bleeding": True}, {"abdominal_pain": 1}, True),
    ],
)
def test_under_50_with_rectal_bleeding_and_pain_or_weight_loss(
    age: int, screen: dict[str, bool], rated: dict[str, int], fires: bool
) -> None:
    flags = _flags(_case(age, screen=screen, rated=rated))
    assert ("ng12_fit_under_50_bleeding" in flags) is fires


@pytest.mark.parametrize(
    ("screen", "rated"),
    [
        ({"gi_bleeding": True}, {}),
        ({"unintentional_weight_loss": True}, {}),
        ({}, {"abdominal_pain": 1}),
        ({"upper_abdominal_pain": True}, {}),
    ],
)
@pytest.mark.parametrize(("age", "fires"), [(50, True), (49, False)])
def test_50_and_over_with_any_of_rectal_bleeding_abdominal_pain_or_weight_loss(
    screen: dict[str, bool], rated: dict[str, int], age: int, fires: bool
) -> None:
    flags = _flags(_case(age, screen=screen, rated=rated))
    assert ("ng12_fit_50_bleeding_pain_weight_loss" in flags) is fires
    assert not {"ng12_fit_40_weight_loss_pain", "ng12_fit_under_50_bleeding"} & flags.keys()


def test_50_and_over_with_none_of_them_raises_nothing() -> None:
    flags = _flags(_case(70, screen={"gi_bleeding": False}, rated={"abdominal_pain": 0}))
    assert "ng12_fit_50_bleeding_pain_weight_loss" not in flags


@pytest.mark.parametrize(("age", "fires"), [(60, True), (59, False)])
def test_60_and_over_with_anemia_even_without_iron_deficiency(age: int, fires: bool) -> None:
    # hemoglobin just under the threshold, ferritin normal: anemia without iron deficiency
    flags = _flags(_case(age, results=[_lab("hemoglobin", 11.9), _lab("ferritin", 120.0)]))
    assert "anemia" in flags and "iron_deficiency_anemia" not in flags
    assert ("ng12_fit_60_anemia" in flags) is fires
    if fires:
        assert flags["ng12_fit_60_anemia"].urgency == "urgent"


def test_60_and_over_with_iron_deficiency_anemia_raises_the_iron_rule_only() -> None:
    flags = _flags(_case(65, results=[_lab("hemoglobin", 11.0), _lab("ferritin", 20.0)]))
    assert "ng12_fit_iron_deficiency_anemia" in flags and "ng12_fit_60_anemia" not in flags


def test_60_and_over_without_anemia_raises_nothing() -> None:
    flags = _flags(_case(70, results=[_lab("hemoglobin", 12.0), _lab("ferritin", 120.0)]))
    assert "ng12_fit_60_anemia" not in flags and "anemia" not in flags


# --- upper GI: oesophageal and stomach (NG12 1.2) ------------------------------------


@pytest.mark.parametrize("age", [18, 30, 80])
def test_dysphagia_at_any_age(age: int) -> None:
    flag = _flags(_case(age, screen={"dysphagia": True}))["dysphagia"]
    # NG12's suspected cancer pathway referral since October 2023: the faster diagnosis
    # standard's 28 days, not an appointment within 2 weeks
    assert flag.urgency == "urgent" and "ruled out within 28 days" in flag.action
    assert "dysphagia" not in _flags(_case(age, screen={"dysphagia": False}))


@pytest.mark.parametrize("symptom", ["upper_abdominal_pain", "reflux", "dyspepsia"])
@pytest.mark.parametrize(("age", "fires"), [(55, True), (54, False)])
def test_55_and_over_with_weight_loss_and_an_upper_gi_symptom(
    symptom: str, age: int, fires: bool
) -> None:
    flags = _flags(_case(age, screen={"unintentional_weight_loss": True, symptom: True}))
    assert ("ng12_endoscopy_55_weight_loss" in flags) is fires
    if fires:
        assert flags["ng12_endoscopy_55_weight_loss"].urgency == "urgent"


@pytest.mark.parametrize(
    "screen",
    [
        {"unintentional_weight_loss": True},
        {"reflux": True, "dyspepsia": True, "upper_abdominal_pain": True},
        {"unintentional_weight_loss": False, "reflux": True},
    ],
)
def test_55_and_over_needs_weight_loss_and_an_upper_gi_symptom(screen: dict[str, bool]) -> None:
    assert "ng12_endoscopy_55_weight_loss" not in _flags(_case(70, screen=screen))


@pytest.mark.parametrize("other", ["reflux", "dyspepsia", "upper_abdominal_pain"])
@pytest.mark.parametrize(("age", "fires"), [(55, True), (54, False)])
def test_55_and_over_nausea_or_vomiting_with_another_symptom_is_non_urgent(
    other: str, age: int, fires: bool
) -> None:
    flags = _flags(_case(age, screen={"nausea_or_vomiting": True, other: True}))
    assert ("ng12_endoscopy_55_nausea_vomiting" in flags) is fires
    if fires:
        assert flags["ng12_endoscopy_55_nausea_vomiting"].urgency == "routine"


def test_nausea_alone_is_not_an_ng12_criterion() -> None:
    assert "ng12_endoscopy_55_nausea_vomiting" not in _flags(
        _case(70, screen={"nausea_or_vomiting": True})
    )


def test_nausea_with_weight_loss_and_reflux_raises_the_urgent_rule_only() -> None:
    flags = _flags(
        _case(
            58,
            screen={"nausea_or_vomiting": True, "unintentional_weight_loss": True, "reflux": True},
        )
    )
    assert "ng12_endoscopy_55_weight_loss" in flags
    assert "ng12_endoscopy_55_nausea_vomiting" not in flags


@pytest.mark.parametrize(
    ("age", "hb", "fires"), [(55, 11.0, True), (54, 11.0, False), (55, 12.5, False)]
)
def test_55_and_over_upper_abdominal_pain_with_low_hemoglobin(
    age: int, hb: float, fires: bool
) -> None:
    flags = _flags(
        _case(age, screen={"upper_abdominal_pain": True}, results=[_lab("hemoglobin", hb)])
    )
    assert ("ng12_endoscopy_55_upper_pain_anemia" in flags) is fires


# --- pancreas (NG12 1.2) ------------------------------------------------------------


@pytest.mark.parametrize(("age", "fires"), [(40, True), (39, False)])
def test_40_and_over_with_jaundice(age: int, fires: bool) -> None:
    flags = _flags(_case(age, screen={"jaundice": True}))
    assert ("ng12_pancreatic_40_jaundice" in flags) is fires
    assert "ng12_pancreatic_40_jaundice" not in _flags(_case(70, screen={"jaundice": False}))


@pytest.mark.parametrize(
    ("screen", "rated"),
    [
        ({}, {"diarrhea": 2}),
        ({"back_pain": True}, {}),
        ({}, {"abdominal_pain": 1}),
        ({"upper_abdominal_pain": True}, {}),
        ({"nausea_or_vomiting": True}, {}),
        ({}, {"constipation": 3}),
        ({"new_onset_diabetes": True}, {}),
    ],
)
@pytest.mark.parametrize(("age", "fires"), [(60, True), (59, False)])
def test_60_and_over_with_weight_loss_and_one_more_feature(
    screen: dict[str, bool], rated: dict[str, int], age: int, fires: bool
) -> None:
    case = _case(age, screen={"unintentional_weight_loss": True, **screen}, rated=rated)
    flags = _flags(case)
    assert ("ng12_pancreatic_60_weight_loss" in flags) is fires
    if fires:
        assert "CT" in flags["ng12_pancreatic_60_weight_loss"].action


def test_60_and_over_needs_the_weight_loss() -> None:
    case = _case(70, screen={"back_pain": True, "new_onset_diabetes": True}, rated={"diarrhea": 3})
    assert "ng12_pancreatic_60_weight_loss" not in _flags(case)


def test_weight_loss_alone_at_60_raises_no_pancreatic_flag() -> None:
    flags = _flags(_case(70, screen={"unintentional_weight_loss": True}, rated={"diarrhea": 0}))
    assert "ng12_pancreatic_60_weight_loss" not in flags


# --- the done-when ----------------------------------------------------------


def test_a_58_year_old_with_weight_loss_and_reflux_is_sent_for_urgent_endoscopy() -> None:
    flags = _flags(_case(58, screen={"unintentional_weight_loss": True, "reflux": True}))
    flag = flags["ng12_endoscopy_55_weight_loss"]
    assert flag.urgency == "urgent" and "1.2.1" in flag.source
    assert "Age 58" in flag.reason and "reflux" in flag.reason


def test_a_62_year_old_with_hemoglobin_just_under_the_limit_and_normal_ferritin() -> None:
    flags = _flags(
        _case(62, sex="male", results=[_lab("hemoglobin", 12.9), _lab("ferritin", 150.0)])
    )
    assert "ng12_fit_60_anemia" in flags and "1.3.1" in flags["ng12_fit_60_anemia"].source
