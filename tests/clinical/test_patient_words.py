"""Words that stay true (issue 19 item 6): nothing a patient reads says "today" after that
day, and a result a red flag cites is never "within the usual range", whatever the
flag's state. Pure: vocabulary.dated_patient_text and the lifecycle's helpers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from casebook.catalog import default_catalog
from casebook.clinical.flag_lifecycle import (
    cited_result_words,
    flag_statuses,
    patient_plan_item,
)
from casebook.clinical.red_flags import RedFlag
from casebook.clinical.vocabulary import (
    GET_IN_TOUCH,
    RESULT_DISCUSS_WORDS,
    RESULT_REVIEWED_WORDS,
    dated_patient_text,
)
from casebook.models import FlagReview, PlanItem
from tests.plan_items import same_day_review_item

DAY = date(2025, 1, 10)
SAME_DAY = next(t for t in default_catalog().protocols if t.key == "same_day_mental_health_review")


def _flag(on: date = DAY, results: tuple[str, ...] = ()) -> RedFlag:
    return RedFlag("phq9_self_harm", "L", "r", "same_day", "a", "s", None, on, results)  # type: ignore[arg-type]  # the enum's value, as the catalog spells it


def _review(state: str, **extra: str) -> FlagReview:
    return FlagReview(
        patient_id="p1",
        rule_key="phq9_self_harm",
        state=state,  # type: ignore[arg-type]  # a literal checked by pydantic
        at=datetime(2025, 1, 10, 15, tzinfo=UTC),
        evidence_on=DAY,
        actor="ann",
        **extra,
    )


def _item() -> PlanItem:
    return same_day_review_item("p1", DAY)


def test_the_same_day_template_says_today() -> None:
    """The catalog's wording is what the tests below rewrite (so they can fail)."""
    assert "today" in SAME_DAY.patient_name and "today" in SAME_DAY.instructions


def test_on_its_own_day_the_words_are_kept() -> None:
    shown = patient_plan_item(_item(), flag_statuses([_flag()], [], today=DAY), today=DAY)
    assert (shown.name, shown.instructions) == (SAME_DAY.patient_name, SAME_DAY.instructions)


@pytest.mark.parametrize("later", [1, 3, 40])
def test_after_that_day_an_open_flag_asks_to_get_in_touch(later: int) -> None:
    today = DAY + timedelta(days=later)
    shown = patient_plan_item(_item(), flag_statuses([_flag()], [], today=today), today=today)
    assert "today" not in f"{shown.name} {shown.instructions}".lower()
    assert shown.name == "A talk with a clinician"
    assert f"{GET_IN_TOUCH}." in shown.instructions
    assert shown.instructions.startswith("Thank you for answering honestly.")


@pytest.mark.parametrize(
    "review",
    [
        _review("acknowledged", note="called"),
        _review("referred", referred_to="crisis team"),
        _review("resolved", outcome="seen"),
    ],
)
def test_once_the_flag_is_handled_nothing_asks_or_promises(review: FlagReview) -> None:
    today = DAY + timedelta(days=2)
    statuses = flag_statuses([_flag()], [review], today=today)
    shown = patient_plan_item(_item(), statuses, today=today)
    assert "today" not in shown.instructions.lower()
    assert GET_IN_TOUCH not in shown.instructions
    assert shown.instructions == "Thank you for answering honestly."


def test_a_letter_read_later_never_says_today() -> None:
    """today=None: a letter dated the visit day is read after it."""
    shown = patient_plan_item(_item(), flag_statuses([_flag()], [], today=DAY), today=None)
    assert "today" not in f"{shown.name} {shown.instructions}".lower()
    assert f"{GET_IN_TOUCH}." in shown.instructions


@pytest.mark.parametrize(
    ("text", "written_on", "today", "contact", "expected"),
    [
        ("Rest well.", DAY, DAY + timedelta(days=9), True, "Rest well."),
        ("We will call you today.", DAY, DAY, False, "We will call you today."),
        ("We will call you today.", DAY, DAY + timedelta(days=1), False, None),
        ("We will call you today.", None, DAY, True, f"{GET_IN_TOUCH}."),
        ("A. We will call tonight. B.", DAY, DAY + timedelta(days=1), False, "A. B."),
        ("Today. Today too.", DAY, DAY + timedelta(days=1), True, f"{GET_IN_TOUCH}."),
    ],
)
def test_dated_patient_text(
    text: str, written_on: date | None, today: date, contact: bool, expected: str | None
) -> None:
    out = dated_patient_text(text, written_on=written_on, today=today, needs_contact=contact)
    if expected is None:  # nothing true is left: a calm line, no promise
        assert "today" not in out.lower() and "call" not in out
    else:
        assert out == expected


def test_a_cited_result_is_discussed_until_every_citing_flag_is_resolved() -> None:
    flag = _flag(results=("r1",))
    today = DAY + timedelta(days=5)
    assert cited_result_words("r1", flag_statuses([flag], [], today=today)) == (
        RESULT_DISCUSS_WORDS
    )
    referred = flag_statuses([flag], [_review("referred", referred_to="GI")], today=today)
    assert cited_result_words("r1", referred) == RESULT_DISCUSS_WORDS
    resolved = flag_statuses([flag], [_review("resolved", outcome="normal")], today=today)
    assert cited_result_words("r1", resolved) == RESULT_REVIEWED_WORDS
    assert cited_result_words("r2", resolved) is None
