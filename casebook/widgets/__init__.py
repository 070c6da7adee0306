"""The practitioner's forms: thin views over the store and the pure scoring functions.

One `CaseSession` per notebook holds the store, the patient, the loaded case and the
selected visit; it is the only thing that saves. Each form reads the case from it, turns
what the practitioner typed into records, and hands them back to it to save.

Names are imported on first use, so that `import casebook.widgets` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "CaseSession",
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
    "static_html",
]

_HOMES = {
    "CaseSession": "session",
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
    "static_html": "_static",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
