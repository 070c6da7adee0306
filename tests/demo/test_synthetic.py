"""The seeded synthetic generator: reproducible, varied, valid, with an alarm patient."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from casebook.catalog import default_catalog
from casebook.clinical.red_flags import red_flags
from casebook.demo.synthetic import generate_case, generate_cases
from casebook.models import Case

TODAY = date(2025, 6, 15)


@pytest.fixture(scope="module")
def population() -> list[Case]:
    return generate_cases(40, seed=5, today=TODAY)


def test_same_seed_gives_identical_cases_ids_included() -> None:
    first = generate_cases(6, seed=11, today=TODAY)
    second = generate_cases(6, seed=11, today=TODAY)
    assert [c.model_dump() for c in first] == [c.model_dump() for c in second]
    assert [v.id for v in first[3].visits] == [v.id for v in second[3].visits]
    assert generate_case(3, seed=11, today=TODAY) == first[3]


def test_different_seed_gives_different_cases() -> None:
    one = generate_cases(6, seed=1, today=TODAY)
    two = generate_cases(6, seed=2, today=TODAY)
    assert [c.patient.id for c in one] == [c.patient.id for c in two]  # ids are by position
    assert [c.model_dump() for c in one] != [c.model_dump() for c in two]
    assert {v.id for c in one for v in c.visits}.isdisjoint({v.id for c in two for v in c.visits})
    assert [c.patient.name for c in one] != [c.patient.name for c in two]


def test_patient_ids_are_sequential(population: list[Case]) -> None:
    assert [c.patient.id for c in population] == [f"demo-{i:04d}" for i in range(1, 41)]


def test_patient_zero_is_an_alarm_case() -> None:
    cat = default_catalog()
    for seed in (1, 2, 3):
        case = generate_case(0, seed=seed, today=TODAY)
        assert case.patient.age_on(TODAY) >= 50
        flags = red_flags(case, cat.red_flags, cat.instruments, cat.tests)
        labels = {f.label for f in flags}
        assert flags, f"seed {seed}: no red flag for the alarm patient"
        assert "Unintentional weight loss" in labels
        assert "Anemia (low hemoglobin)" in labels


def test_visit_counts_range_from_one_to_six(population: list[Case]) -> None:
    counts = Counter(len(c.visits) for c in population)
    assert set(counts) <= set(range(1, 7))
    assert len(counts) >= 4, counts  # varied, not all alike
    for case in population:
        kinds = [v.kind for v in case.sorted_visits()]
        assert kinds[0] == "intake"
        assert set(kinds[1:]) <= {"follow-up"}


def test_every_generated_case_validates(population: list[Case]) -> None:
    for case in population:
        assert Case.model_validate(case.model_dump()) == case
        assert Case.model_validate_json(case.model_dump_json()) == case


def test_dates_are_plausible(population: list[Case]) -> None:
    for case in population:
        p = case.patient
        assert date(1900, 1, 1) <= p.birth_date < TODAY
        assert 18 <= p.age_on(TODAY) <= 75
        days = (
            [v.visit_date for v in case.visits]
            + [r.collected_on for r in case.results]
            + [o.ordered_on for o in case.orders]
            + [n.written_on for n in case.notes]
        )
        assert all(p.birth_date < d <= TODAY for d in days), p.id
        for order in case.orders:
            if order.collected_on is not None:
                assert order.ordered_on <= order.collected_on


def test_every_case_has_the_expected_parts(population: list[Case]) -> None:
    cat = default_catalog()
    for case in population:
        assert len(case.symptoms) == len(case.visits) * len(cat.symptoms)
        assert {r.instrument for r in case.instruments} <= set(cat.instruments)
        assert {r.test for r in case.results} <= set(cat.tests)
        assert any(o.test == "giardia_antigen" and o.status == "ordered" for o in case.orders)
        assert case.plan and case.notes and case.history


def test_leap_day_today_works() -> None:
    """Regression: on 29 February, birth dates in common years used to raise ValueError."""
    leap = date(2024, 2, 29)
    cases = generate_cases(30, seed=1, today=leap)
    assert len(cases) == 30
    assert all(c.patient.birth_date < leap for c in cases)


def test_generator_does_not_touch_the_global_random_state() -> None:
    import random

    random.seed(123)
    expected = random.random()
    random.seed(123)
    generate_cases(2, seed=9, today=TODAY)
    assert random.random() == expected
