"""The patient's "please get in touch" card follows the flag's lifecycle, and never promises
a timed call-back."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from casebook import dashboard as d
from casebook.catalog import default_catalog
from casebook.clinical.red_flags import red_flags
from casebook.models import Case, FlagReview, Patient, TestResult

DAY = date.today() - timedelta(days=4)
PID = "card-1"


def _page(reviews: list[FlagReview], *, more: list[TestResult] | None = None) -> d.Dashboard:
    results = [
        TestResult(patient_id=PID, test="giardia_antigen", value_text="positive", collected_on=DAY),
        *(more or []),
    ]
    case = Case(
        patient=Patient(id=PID, name="Card Test", birth_date=date(1992, 5, 5)),
        results=results,
        flag_reviews=reviews,
    )
    cat = default_catalog()
    return d.Dashboard(case, cat, red_flags(case, cat.red_flags, cat.instruments, cat.tests))


def _step(state: str, **extra: str) -> FlagReview:
    return FlagReview(
        patient_id=PID,
        rule_key="parasite_positive",
        state=state,  # type: ignore[arg-type]
        at=datetime.now(UTC),
        evidence_on=DAY,
        actor="ann",
        **extra,
    )


def test_the_card_shows_until_the_urgent_flag_is_acknowledged() -> None:
    page = _page([])
    assert [f.key for f in page.flags] == ["parasite_positive"]
    assert "Please get in touch with your practitioner" in d.attention(page).html
    for reviews in (
        [_step("acknowledged")],
        [_step("referred", referred_to="GP")],
        [_step("resolved", outcome="treated")],
    ):
        assert d.attention(_page(reviews)).html == ""


def test_newer_evidence_brings_the_card_back() -> None:
    newer = TestResult(
        patient_id=PID, test="giardia_antigen", value_text="positive", collected_on=date.today()
    )
    page = _page([_step("resolved", outcome="treated")], more=[newer])
    assert "Please get in touch" in d.attention(page).html


def test_a_routine_flag_alone_shows_no_card() -> None:
    crp = Case(
        patient=Patient(id=PID, name="Card Test", birth_date=date(1992, 5, 5)),
        results=[
            TestResult(patient_id=PID, test="hs_crp", value=14.0, unit="mg/L", collected_on=DAY)
        ],
    )
    cat = default_catalog()
    page = d.Dashboard(crp, cat, red_flags(crp, cat.red_flags, cat.instruments, cat.tests))
    assert [f.urgency for f in page.flags] == ["routine"]
    assert d.attention(page).html == ""


TIMED = re.compile(
    r"\bwithin\s+\d+\s*(hours?|days?|minutes?)\b|\bwe will (call|phone|ring|"
    r"contact)\b|\bcall you (back|today|tomorrow)\b|\b\d+\s*(hours?|hrs?)\b",
    re.I,
)


def test_the_card_never_promises_a_timed_call_back() -> None:
    assert TIMED.search("We will call you within 24 hours")  # the check can fail
    html = d.attention(_page([])).html
    assert html and not TIMED.search(html)
    template = Path(d.__file__).parent / "templates" / "attention.html.j2"
    assert not TIMED.search(template.read_text(encoding="utf-8"))
