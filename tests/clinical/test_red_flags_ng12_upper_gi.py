"""NICE NG12 criteria added after the first NG12 rules: treatment-resistant dyspepsia and a
raised platelet count at 55 and over (non-urgent endoscopy), an upper abdominal mass by what
it is consistent with (stomach, gall bladder, liver), an anal mass or anal ulceration; each
on both sides of its age and of its finding, and old visits without these answers."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from casebook.catalog import default_catalog
from casebook.clinical.red_flags import RedFlag, red_flags
from casebook.models import AlarmScreen, Case, Patient, TestResult, Visit

PID = "p-ng12-ugi"
DAY = date(2025, 3, 1)
CAT = default_catalog()
RULES = {r.key: r for r in CAT.red_flags}
NON_URGENT = "non-urgent direct-access upper GI endoscopy"
PATHWAY = "suspected cancer pathway referral"
SCAN = "urgent direct-access ultrasound scan (within 2 weeks)"


def _case(
    age: int,
    screen: dict[str, bool] | None = None,
    *,
    value: float | None = None,
    ref_high: float | None = None,
) -> Case:
    """A visit at `age` with these screen answers, and a platelet count when `value` is given
    (with the testing lab's upper limit when `ref_high` is)."""
    visit = Visit(
        patient_id=PID, visit_date=DAY, kind="intake", screen=AlarmScreen(**(screen or {}))
    )
    results = []
    if value is not None:
        results.append(
            TestResult(
                patient_id=PID,
                test="platelets",
                collected_on=DAY,
                value=value,
                unit="10^9/L",
                ref_high=ref_high,
            )
        )
    patient = Patient(id=PID, name="Rule Test", birth_date=date(DAY.year - age, 3, 1))
    return Case(patient=patient, visits=[visit], results=results)


def _flags(case: Case) -> dict[str, RedFlag]:
    return {f.key: f for f in red_flags(case, CAT.red_flags, CAT.instruments, CAT.tests)}


# --- treatment-resistant dyspepsia ----------------------------------------------------


@pytest.mark.parametrize(
    ("age", "answer", "fires"), [(55, True, True), (54, True, False), (70, False, False)]
)
def test_55_and_over_with_treatment_resistant_dyspepsia(
    age: int, answer: bool, fires: bool
) -> None:
    flags = _flags(_case(age, {"treatment_resistant_dyspepsia": answer}))
    assert ("ng12_endoscopy_55_treatment_resistant_dyspepsia" in flags) is fires
    if fires:
        flag = flags["ng12_endoscopy_55_treatment_resistant_dyspepsia"]
        assert flag.urgency == "routine" and NON_URGENT in flag.action
        assert "Age 55" in flag.reason


def test_with_weight_loss_the_urgent_endoscopy_rule_is_the_one_raised() -> None:
    screen = {"treatment_resistant_dyspepsia": True, "dyspepsia": True}
    flags = _flags(_case(60, {**screen, "unintentional_weight_loss": True}))
    assert "ng12_endoscopy_55_weight_loss" in flags
    assert "ng12_endoscopy_55_treatment_resistant_dyspepsia" not in flags


# --- raised platelet count ------------------------------------------------------------


@pytest.mark.parametrize(
    "symptom",
    [
        "nausea_or_vomiting",
        "unintentional_weight_loss",
        "reflux",
        "dyspepsia",
        "upper_abdominal_pain",
    ],
)
@pytest.mark.parametrize(("age", "fires"), [(55, True), (54, False)])
def test_55_and_over_raised_platelets_with_an_upper_gi_symptom(
    symptom: str, age: int, fires: bool
) -> None:
    flags = _flags(_case(age, {symptom: True}, value=450.0))
    assert "platelets_raised" in flags
    assert ("ng12_endoscopy_55_platelets" in flags) is fires
    if fires:
        flag = flags["ng12_endoscopy_55_platelets"]
        assert flag.urgency == "routine" and NON_URGENT in flag.action


@pytest.mark.parametrize(("value", "raised"), [(400.0, False), (401.0, True)])
def test_raised_is_above_the_catalog_upper_limit_without_the_lab_s(
    value: float, raised: bool
) -> None:
    flags = _flags(_case(60, {"reflux": True}, value=value))
    assert ("platelets_raised" in flags) is raised
    assert ("ng12_endoscopy_55_platelets" in flags) is raised


@pytest.mark.parametrize(("ref_high", "raised"), [(450.0, False), (380.0, True)])
def test_raised_is_above_the_testing_lab_s_upper_limit_first(ref_high: float, raised: bool) -> None:
    flags = _flags(_case(60, {"dyspepsia": True}, value=420.0, ref_high=ref_high))
    assert ("ng12_endoscopy_55_platelets" in flags) is raised


def test_raised_platelets_without_an_upper_gi_symptom_is_no_endoscopy_criterion() -> None:
    flags = _flags(_case(70, {"reflux": False}, value=500.0))
    assert "platelets_raised" in flags and "ng12_endoscopy_55_platelets" not in flags


def test_the_platelet_count_is_in_the_catalog_as_the_rule_reads_it() -> None:
    test = CAT.tests["platelets"]
    assert (test.loinc, test.unit, test.ref_high, test.evidence) == (
        "777-3",
        "10^9/L",
        400.0,
        "guideline-backed",
    )
    assert "150-400" in test.source


# --- an upper abdominal mass (stomach, gall bladder, liver) ---------------------------


# What the mass is consistent with, the rule it raises, and the one NG12 recommendation
# and pathway that rule names (1.2.6, 1.2.10, 1.2.11).
MASS_FINDINGS = [
    ("mass_consistent_with_stomach_cancer", "ng12_stomach_mass", "1.2.6", PATHWAY),
    ("mass_consistent_with_enlarged_gall_bladder", "ng12_gall_bladder_mass", "1.2.10", SCAN),
    ("mass_consistent_with_enlarged_liver", "ng12_liver_mass", "1.2.11", SCAN),
]
MASS_RULES = {"ng12_upper_abdominal_mass", *(rule for _, rule, _, _ in MASS_FINDINGS)}


@pytest.mark.parametrize("age", [18, 40, 80])
@pytest.mark.parametrize(("finding", "key", "number", "pathway"), MASS_FINDINGS)
def test_an_upper_abdominal_mass_raises_the_rule_of_what_it_is_consistent_with(
    age: int, finding: str, key: str, number: str, pathway: str
) -> None:
    flags = _flags(_case(age, {finding: True}))
    assert flags.keys() & MASS_RULES == {key}
    flag = flags[key]
    assert flag.urgency == "urgent"
    assert pathway in flag.action and f"NG12 {number}:" in flag.action
    # only its own recommendation: no other organ's clause
    others = {n for _, _, n, _ in MASS_FINDINGS} - {number}
    assert not any(n in flag.action or n in flag.source for n in others)
    # asked once: the upper mass and the abdominal mass of the colorectal rule (FIT) follow
    screen = AlarmScreen(**{finding: True})
    assert screen.upper_abdominal_mass is True and screen.abdominal_or_rectal_mass is True
    assert "abdominal_or_rectal_mass" in flags
    assert not flags.keys() & MASS_RULES - {key}
    assert not _flags(_case(age, {finding: False})).keys() & MASS_RULES


def test_gall_bladder_and_liver_both_found_raise_both_scans_and_no_stomach_rule() -> None:
    screen = {
        "mass_consistent_with_enlarged_gall_bladder": True,
        "mass_consistent_with_enlarged_liver": True,
    }
    flags = _flags(_case(60, screen))
    assert flags.keys() & MASS_RULES == {"ng12_gall_bladder_mass", "ng12_liver_mass"}


@pytest.mark.parametrize("age", [18, 80])
def test_an_upper_mass_without_a_finding_asks_for_it_and_meets_no_pathway(age: int) -> None:
    flags = _flags(_case(age, {"upper_abdominal_mass": True}))
    assert flags.keys() & MASS_RULES == {"ng12_upper_abdominal_mass"}
    flag = flags["ng12_upper_abdominal_mass"]
    assert flag.urgency == "urgent" and flag.action.startswith("Examine and record")
    assert "Meets" not in flag.action and "direct-access" not in flag.action
    assert "abdominal_or_rectal_mass" in flags
    assert "ng12_upper_abdominal_mass" not in _flags(_case(age, {"upper_abdominal_mass": False}))


@pytest.mark.parametrize("finding", [f for f, _, _, _ in MASS_FINDINGS])
def test_a_finding_with_no_upper_mass_is_refused_in_one_line(finding: str) -> None:
    with pytest.raises(ValidationError, match=f"{finding} is yes but upper_abdominal_mass is no"):
        AlarmScreen(**{finding: True, "upper_abdominal_mass": False})


def test_an_abdominal_mass_that_is_not_upper_raises_only_the_colorectal_rule() -> None:
    flags = _flags(_case(50, {"abdominal_or_rectal_mass": True}))
    assert "abdominal_or_rectal_mass" in flags and not flags.keys() & MASS_RULES


def test_an_upper_mass_with_no_abdominal_mass_is_refused_in_one_line() -> None:
    with pytest.raises(
        ValidationError, match="upper_abdominal_mass is yes but abdominal_or_rectal_mass is no"
    ):
        AlarmScreen(upper_abdominal_mass=True, abdominal_or_rectal_mass=False)


# --- an anal mass or anal ulceration --------------------------------------------------


@pytest.mark.parametrize("age", [18, 49, 80])
def test_an_anal_mass_or_ulceration_at_any_age(age: int) -> None:
    flag = _flags(_case(age, {"anal_mass_or_ulceration": True}))["ng12_anal_mass_or_ulceration"]
    assert flag.urgency == "urgent" and "suspected cancer pathway referral" in flag.action
    assert "anal cancer" in flag.action and "1.3.6" in flag.source
    no = _flags(_case(age, {"anal_mass_or_ulceration": False}))
    assert "ng12_anal_mass_or_ulceration" not in no


# --- old visits ------------------------------------------------------------------------


def test_a_visit_stored_before_these_questions_loads_with_them_not_asked() -> None:
    old = {"unintentional_weight_loss": False, "dyspepsia": True, "abdominal_or_rectal_mass": False}
    screen = AlarmScreen.model_validate(old)
    assert screen.treatment_resistant_dyspepsia is None
    assert screen.upper_abdominal_mass is None and screen.anal_mass_or_ulceration is None
    assert all(getattr(screen, finding) is None for finding, _, _, _ in MASS_FINDINGS)
    case = _case(70)
    case.visits[0].screen = screen
    assert (
        not {
            "ng12_endoscopy_55_treatment_resistant_dyspepsia",
            "ng12_upper_abdominal_mass",
            "ng12_anal_mass_or_ulceration",
        }
        & _flags(case).keys()
    )
