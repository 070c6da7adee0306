"""Imported once by the dashboard server's fork server, before any kernel is forked.

It loads what every dashboard kernel needs and what holds no patient data: the modules the
dashboard template calls (and the chart service's client) and the validated catalog
(parsed TOML, cached by `default_catalog`). A forked kernel then starts with them in
memory. Nothing here opens the store, starts a thread or touches a patient.
"""

from __future__ import annotations

import casebook.charts.plan
import casebook.charts.render
import casebook.charts.results
import casebook.charts.visits
import casebook.dashboard.sections
import casebook.kernels.chart_service
from casebook.catalog import default_catalog

__all__ = ["PRELOADED"]

PRELOADED = (
    casebook.dashboard.sections.__name__,
    casebook.charts.render.__name__,
    casebook.charts.plan.__name__,
    casebook.charts.results.__name__,
    casebook.charts.visits.__name__,
    casebook.kernels.chart_service.__name__,
    default_catalog(),
)
"""What this import loaded (the catalog object is the cached one kernels get)."""
