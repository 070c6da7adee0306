"""The practitioner's forms: thin views over the store and the pure scoring functions.

One `CaseSession` per notebook holds the store, the patient, the loaded case and the
selected visit; it is the only thing that saves. Each form reads the case from it, turns
what the practitioner typed into records, and hands them back to it to save.

Names are imported on first use, so that `import casebook.workbook.widgets` stays light.
"""

from __future__ import annotations

from casebook._lazy import lazy_exports

__all__ = [
    "CaseSession",
    "CheckinPanel",
    "Fold",
    "Header",
    "HistoryForm",
    "InstrumentsForm",
    "NotesForm",
    "OrderForm",
    "OrderStatusForm",
    "PlanForm",
    "ResultForm",
    "ResultsView",
    "SymptomsForm",
    "VisitsForm",
    "read_only_notice",
    "static_html",
    "widget_bundle",
]

_HOMES = {
    "CaseSession": "session",
    "CheckinPanel": "checkins",
    "Fold": "_views",
    "Header": "header",
    "HistoryForm": "history",
    "InstrumentsForm": "instruments",
    "NotesForm": "notes",
    "OrderForm": "orders",
    "OrderStatusForm": "orders",
    "PlanForm": "plan",
    "ResultForm": "results",
    "ResultsView": "results",
    "SymptomsForm": "symptoms",
    "VisitsForm": "visits",
    "read_only_notice": "_views",
    "static_html": "_static",
    "widget_bundle": "_static",
}


__getattr__, __dir__ = lazy_exports(__name__, _HOMES, globals())
