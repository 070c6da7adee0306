"""The dashboard's test results and the tests still to come, for the patient: the latest
result of each test with its usual range in plain words, how much weight the test carries,
and a result a red flag cites said as one to talk through, never as "within the usual
range"."""

from __future__ import annotations

from typing import Any

from casebook.catalog.schema import LabTest
from casebook.clinical.flag_lifecycle import cited_result_words
from casebook.clinical.scoring import read_result
from casebook.clinical.vocabulary import EVIDENCE_PATIENT_WORDS, result_patient_words
from casebook.dashboard._page import Dashboard, Section, _chart, _section
from casebook.format import day, number
from casebook.models import TestResult

__all__ = [
    "results_section",
    "upcoming_tests_section",
]


_LAB_LIMIT_WORDS = (
    "This test is read against the testing lab's own limit, which we do not have yet. "
    "Your practitioner will check it with the lab before using the result."
)


def _range_text(low: float | None, high: float | None, unit: str, test: LabTest | None) -> str:
    if low is None and high is None and test is not None and test.needs_lab_range:
        return _LAB_LIMIT_WORDS
    if low is not None and high is not None:
        return f"Usual range: {number(low)} to {number(high)} {unit}"
    if high is not None:
        return f"Usual range: up to {number(high)} {unit}"
    if low is not None:
        return f"Usual range: {number(low)} {unit} or more"
    return "No usual range is given for this test; your practitioner will explain it."


def _test_name(page: Dashboard, key: str) -> str:
    test = page.catalog.tests.get(key)
    return test.patient_name if test else key.replace("_", " ").capitalize()


def _result_block(page: Dashboard, key: str, results: list[TestResult]) -> dict[str, Any]:
    from casebook.charts import analyte_chart

    test, last = page.catalog.tests.get(key), results[-1]
    reading = read_result(last, test, page.case.patient.sex)
    flag = reading.flag
    if last.value is not None:
        shown = f"{number(last.value)} {last.unit}"
        words = result_patient_words(flag, numeric=True)
    else:
        shown = last.value_text or ""
        words = result_patient_words(flag, numeric=False)
    judged = flag is not None or last.value is None or reading.has_range
    discuss = cited_result_words(last.id, page.statuses)
    numeric = [r for r in results if r.value is not None]
    chart = (
        _chart(
            analyte_chart(page.case, page.catalog, key, audience="patient"),
            f"Your {test.patient_name} results over time.",
        )
        if test is not None and len(numeric) > 1
        else ""
    )
    return {
        "name": _test_name(page, key),
        "shown": shown,
        "on": last.collected_on,
        "verdict": discuss or (words if judged else ""),
        "verdict_class": "discuss" if discuss else (flag or "ok").lower(),
        "range_text": (
            _range_text(reading.low, reading.high, last.unit, test)
            if last.value is not None
            else ""
        ),
        "test": test,
        "evidence_words": EVIDENCE_PATIENT_WORDS[test.evidence] if test else "",
        "chart": chart,
    }


def results_section(page: Dashboard) -> Section:
    """The latest result of each test, its usual range, and a note on the test itself."""
    case = page.case
    keys = list(dict.fromkeys([*page.catalog.tests, *sorted({r.test for r in case.results})]))
    blocks = []
    for key in keys:
        results = sorted((r for r in case.results if r.test == key), key=lambda r: r.collected_on)
        if results:
            blocks.append(_result_block(page, key, results))
    return _section("results", blocks=blocks)


def upcoming_tests_section(page: Dashboard) -> Section:
    """Tests asked for that have no result yet."""
    rows = []
    for order in sorted(page.case.orders, key=lambda o: o.ordered_on):
        if order.status not in ("ordered", "collected"):
            continue
        test = page.catalog.tests.get(order.test)
        state = (
            f"sample taken on {day(order.collected_on)}, waiting for the result"
            if order.status == "collected" and order.collected_on
            else f"asked for on {day(order.ordered_on)}"
        )
        rows.append(
            {
                "name": _test_name(page, order.test),
                "state": state,
                "note": test.patient_note if test else "",
            }
        )
    return _section("upcoming", rows=rows)
