"""The practitioner's case workbook: one surface, in the dashboard's and the clinic's shape.

    sections.py   what `templates/case.ipynb` calls, one section per cell
    widgets/      the forms the sections are made of (ipywidgets)
    static/       the forms' stylesheet (and the banner's, which keeps its cell in view),
                  inlined in a <style> element

`from casebook import workbook; workbook.header(session)` is how a template cell reads.
"""

from __future__ import annotations

from casebook.workbook.sections import (
    TEMPLATE,
    WidgetSection,
    case_notebook,
    header,
    history_section,
    instruments_section,
    notes_section,
    open_case,
    patient_banner,
    plan_section,
    symptoms_section,
    tests_section,
    visits_section,
    write_case_notebooks,
)

__all__ = [
    "TEMPLATE",
    "WidgetSection",
    "case_notebook",
    "header",
    "history_section",
    "instruments_section",
    "notes_section",
    "open_case",
    "patient_banner",
    "plan_section",
    "symptoms_section",
    "tests_section",
    "visits_section",
    "write_case_notebooks",
]
