"""casebook.format: ranges, counts and labels read the same in every view."""

from __future__ import annotations

import pytest

from casebook.format import count, lower_first, range_text, text_table


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


def test_a_table_that_fits_is_laid_out_at_its_natural_widths() -> None:
    assert text_table(("id", "name"), [("p1", "Ada Lovelace")]) == [
        "id  name",
        "--  ------------",
        "p1  Ada Lovelace",
    ]


def test_a_wide_table_narrows_its_widest_columns_with_an_ellipsis() -> None:
    lines = text_table(("id", "detail", "note"), [("p1", "x" * 80, "y" * 60)], width=100)
    assert max(len(line) for line in lines) <= 100
    assert lines[2].startswith("p1  " + "x" * 40) and "…" in lines[2]
    assert len(lines) == 3


def test_a_table_of_many_columns_is_split_into_blocks_led_by_its_key() -> None:
    header = ["patient_id"] + [f"column_{i:02}" for i in range(12)]
    lines = text_table(header, [["demo-0001"] + [str(i) for i in range(12)]], width=60)
    assert max(len(line) for line in lines) <= 60
    blocks = "\n".join(lines).split("\n\n")
    assert len(blocks) > 1
    assert all(block.startswith("patient_id  column_") for block in blocks)
    assert "…" not in "\n".join(lines)  # whole columns, none cut
    assert sum(block.count("column_") for block in blocks) == 12
