"""A symptom's severity is said in one place (casebook.clinical.vocabulary): the patient reads
"strong" on the dashboard, in the after-visit summary and in the patient's chart; the
practitioner reads "marked" in the workbook's chart and form."""

from __future__ import annotations

import json

from casebook import dashboard as d
from casebook.catalog import default_catalog
from casebook.charts.visits import symptom_chart
from casebook.clinical.vocabulary import SEVERITY_PATIENT_WORDS, SEVERITY_WORDS, severity_words
from casebook.demo.synthetic import generate_cases
from casebook.letters._summary import _symptoms
from casebook.models import Case

CATALOG = default_catalog()


def _case_with_a_rating_of_3() -> Case:
    for case in generate_cases(12, seed=1, catalog=CATALOG):
        if any(r.severity == 3 for r in case.symptoms) and len(case.visits) > 1:
            return case
    raise AssertionError("no demo case rates a symptom 3")


def test_the_two_wordings_differ_only_where_a_lay_reader_needs_it() -> None:
    assert severity_words(patient=True) is SEVERITY_PATIENT_WORDS
    assert severity_words(patient=False) is SEVERITY_WORDS
    differ = [
        i
        for i, (a, b) in enumerate(zip(SEVERITY_WORDS, SEVERITY_PATIENT_WORDS, strict=True))
        if a != b
    ]
    assert differ == [3] and SEVERITY_PATIENT_WORDS[3] == "strong"


def test_chart_legends_use_each_audiences_words() -> None:
    case = _case_with_a_rating_of_3()
    patient = json.dumps(symptom_chart(case, CATALOG, audience="patient").to_dict())
    practitioner = json.dumps(symptom_chart(case, CATALOG).to_dict())
    assert "3 strong" in patient and "marked" not in patient
    assert "3 marked" in practitioner and "strong'" not in practitioner


def test_dashboard_and_summary_say_strong_never_marked() -> None:
    case = _case_with_a_rating_of_3()
    html = d.symptoms_section(d.Dashboard(case, CATALOG)).html
    assert "marked" not in html
    visits = sorted(case.visits, key=lambda v: v.visit_date)
    lines = [line for visit in visits for line in _symptoms(case, CATALOG, visit)]
    rated_3 = [line for line in lines if ": strong" in line]
    assert rated_3 and not any("marked" in line for line in lines)
