"""The patient's dashboard: one surface, in the workbook's and the clinic's shape.

    sections.py   what `templates/dashboard.ipynb` calls, one section per cell (the page's
                  parts in `_page.py`, the test results in `_results.py`)
    templates/    the sections' Jinja templates (autoescaped), and under `voila/casebook/`
                  the Voilà page template `casebook serve` renders the notebook with
    static/       the page's stylesheet (no patient data)

The sections' names are imported on first use, so that finding the templates and the
stylesheet (as `casebook serve` does) stays light.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from casebook._lazy import lazy_exports

if TYPE_CHECKING:
    from casebook.dashboard.sections import (
        CHART_SOCKET,
        SUMMARY_PATH,
        Dashboard,
        Section,
        attention,
        footer,
        header,
        load_dashboard,
        notes_section,
        plan_section,
        questionnaires_section,
        results_section,
        symptoms_section,
        upcoming_tests_section,
        warm_templates,
    )

__all__ = [
    "CHART_SOCKET",
    "STYLESHEET",
    "SUMMARY_PATH",
    "VOILA_TEMPLATES",
    "Dashboard",
    "Section",
    "attention",
    "footer",
    "header",
    "load_dashboard",
    "notes_section",
    "plan_section",
    "questionnaires_section",
    "results_section",
    "symptoms_section",
    "upcoming_tests_section",
    "warm_templates",
]

_HERE = Path(__file__).resolve().parent
VOILA_TEMPLATES = _HERE / "templates" / "voila"
"""Voilà's template folder: the `casebook` template (index.html.j2, conf.json) is in it."""
STYLESHEET = _HERE / "static" / "dashboard.css"
"""The page's stylesheet (no patient data), inlined in the page and served at
/static/dashboard.css."""

_HOMES = {name: "sections" for name in __all__ if name not in ("STYLESHEET", "VOILA_TEMPLATES")}

__getattr__, __dir__ = lazy_exports(__name__, _HOMES, globals())
