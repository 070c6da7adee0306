"""Jaundice at any age: under 40 the `jaundice` rule (BSG commissioning report, acute
jaundice: seen within 7 days, immediately or the same day when unwell); at 40 and over
NICE NG12 1.2.4 (`ng12_pancreatic_40_jaundice`) and not both. Both sides of 40, visits at
either age, and old visits without the question."""

from __future__ import annotations

from datetime import date

import pytest

from casebook.catalog import default_catalog
from casebook.clinical.red_flags import RedFlag, red_flags
from casebook.models import AlarmScreen, Case, Patient, Visit

PID = "p-jaundice"
BORN = date(1990, 6, 1)
CAT = default_catalog()
PANCREATIC = "ng12_pancreatic_40_jaundice"


def _on_birthday(age: int) -> date:
    return date(BORN.year + age, BORN.month, BORN.day)


def _case(*visits: tuple[int, bool | None]) -> Case:
    """A visit at each age (on the birthday) answering the jaundice question so."""
    return Case(
        patient=Patient(id=PID, name="Rule Test", birth_date=BORN),
        visits=[
            Visit(patient_id=PID, visit_date=_on_birthday(age), screen=AlarmScreen(jaundice=yes))
            for age, yes in visits
        ],
    )


def _flags(case: Case) -> dict[str, RedFlag]:
    return {f.key: f for f in red_flags(case, CAT.red_flags, CAT.instruments, CAT.tests)}


@pytest.mark.parametrize(
    ("age", "rule"), [(18, "jaundice"), (39, "jaundice"), (40, PANCREATIC), (75, PANCREATIC)]
)
def test_one_jaundice_flag_on_each_side_of_40(age: int, rule: str) -> None:
    flags = _flags(_case((age, True)))
    assert {"jaundice", PANCREATIC} & flags.keys() == {rule}
    assert flags[rule].urgency == "urgent"


@pytest.mark.parametrize("age", [18, 39, 40, 75])
@pytest.mark.parametrize("answer", [False, None])
def test_no_jaundice_no_flag(age: int, answer: bool | None) -> None:
    assert not {"jaundice", PANCREATIC} & _flags(_case((age, answer))).keys()


def test_jaundice_at_39_then_at_40_raises_the_ng12_rule_only() -> None:
    flags = _flags(_case((39, True), (40, True)))
    assert PANCREATIC in flags and "jaundice" not in flags


def test_jaundice_at_39_gone_at_40_keeps_the_jaundice_flag() -> None:
    flags = _flags(_case((39, True), (40, False)))
    assert "jaundice" in flags and PANCREATIC not in flags
    assert str(_on_birthday(39)) in flags["jaundice"].reason


def test_the_flag_says_how_soon_why_and_its_source() -> None:
    flag = _flags(_case((30, True)))["jaundice"]
    assert flag.reason == (
        f"Jaundice (yellow skin or whites of the eyes): answered yes on the alarm screen on "
        f"{_on_birthday(30)}"
    )
    assert flag.action.startswith("Refer for medical assessment, to be seen within 7 days")
    assert "refer immediately" in flag.action and "the same day to hospital" in flag.action
    assert "British Society of Gastroenterology" in flag.source
    assert "acute jaundice" in flag.source and "NG12" not in flag.source
