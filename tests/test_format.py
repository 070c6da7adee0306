"""casebook.format: ranges, counts and labels read the same in every view."""

from __future__ import annotations

import pytest

from casebook.format import count, lower_first, range_text


@pytest.mark.parametrize(
    ("low", "high", "unit", "text"),
    [
        (3.0, 10.0, "", "3 – 10"),
        (30.0, None, "", "≥ 30"),
        (None, 50.0, "µg/g", "≤ 50 µg/g"),
        (None, None, "mg/L", ""),
        (0.0, None, "", "≥ 0"),  # zero is an end, not a missing one
    ],
)
def test_range_text_never_shows_an_open_end_as_a_dash(
    low: float | None, high: float | None, unit: str, text: str
) -> None:
    assert range_text(low, high, unit) == text


@pytest.mark.parametrize(
    ("label", "inside"),
    [
        ("Raised CRP (10 mg/L or more)", "raised CRP (10 mg/L or more)"),
        ("Family history of IBD", "family history of IBD"),
        ("IBD in a first-degree relative", "IBD in a first-degree relative"),
        ("A", "a"),
        ("", ""),
    ],
)
def test_lower_first_keeps_every_other_capital(label: str, inside: str) -> None:
    assert lower_first(label) == inside


def test_count_is_singular_for_one() -> None:
    assert [count(n, "day") for n in (0, 1, 2)] == ["0 days", "1 day", "2 days"]
    assert count(2, "entry", "entries") == "2 entries"
