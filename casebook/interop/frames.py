"""Tidy pandas DataFrames of cases, one row per observation, for analysis in a notebook.

from casebook.interop.frames import results_frame
df = results_frame(store.load_case(pid) for pid in ids)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from casebook.catalog import Catalog, default_catalog
from casebook.models import Case

__all__ = ["instruments_frame", "plan_frame", "results_frame", "symptoms_frame"]


def _cases(cases: Case | Iterable[Case]) -> list[Case]:
    return [cases] if isinstance(cases, Case) else list(cases)


def _frame(rows: list[dict[str, Any]], columns: list[str], dates: tuple[str, ...]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=columns)
    for col in dates:
        df[col] = pd.to_datetime(df[col])
    return df


def symptoms_frame(cases: Case | Iterable[Case]) -> pd.DataFrame:
    """patient_id, visit_id, visit_date, visit_kind, symptom, severity, frequency."""
    rows = []
    for case in _cases(cases):
        visits = {v.id: v for v in case.visits}
        for r in case.symptoms:
            v = visits[r.visit_id]
            rows.append(
                {
                    "patient_id": case.patient.id,
                    "visit_id": v.id,
                    "visit_date": v.visit_date,
                    "visit_kind": v.kind,
                    "symptom": r.symptom,
                    "severity": r.severity,
                    "frequency": r.frequency,
                }
            )
    cols = [
        "patient_id",
        "visit_id",
        "visit_date",
        "visit_kind",
        "symptom",
        "severity",
        "frequency",
    ]
    return _frame(rows, cols, ("visit_date",)).sort_values(
        ["patient_id", "visit_date", "symptom"], ignore_index=True
    )


def instruments_frame(cases: Case | Iterable[Case]) -> pd.DataFrame:
    """patient_id, visit_id, visit_date, instrument, total, band (None while incomplete)."""
    rows = []
    for case in _cases(cases):
        visits = {v.id: v for v in case.visits}
        for r in case.instruments:
            rows.append(
                {
                    "patient_id": case.patient.id,
                    "visit_id": r.visit_id,
                    "visit_date": visits[r.visit_id].visit_date,
                    "instrument": r.instrument,
                    "total": r.total,
                    "band": r.band,
                }
            )
    cols = ["patient_id", "visit_id", "visit_date", "instrument", "total", "band"]
    df = _frame(rows, cols, ("visit_date",))
    df["total"] = df["total"].astype("Int64")
    return df.sort_values(["patient_id", "visit_date", "instrument"], ignore_index=True)


def results_frame(cases: Case | Iterable[Case], catalog: Catalog | None = None) -> pd.DataFrame:
    """One row per result, with the catalog's name, group and evidence label."""
    catalog = catalog or default_catalog()
    rows = []
    for case in _cases(cases):
        for r in case.results:
            test = catalog.tests.get(r.test)
            rows.append(
                {
                    "patient_id": case.patient.id,
                    "test": r.test,
                    "test_name": test.name if test else r.test,
                    "group": test.group if test else None,
                    "evidence": test.evidence if test else None,
                    "collected_on": r.collected_on,
                    "value": r.value,
                    "value_text": r.value_text,
                    "unit": r.unit,
                    "ref_low": r.ref_low,
                    "ref_high": r.ref_high,
                    "flag": r.flag,
                }
            )
    cols = [
        "patient_id",
        "test",
        "test_name",
        "group",
        "evidence",
        "collected_on",
        "value",
        "value_text",
        "unit",
        "ref_low",
        "ref_high",
        "flag",
    ]
    return _frame(rows, cols, ("collected_on",)).sort_values(
        ["patient_id", "test", "collected_on"], ignore_index=True
    )


def plan_frame(cases: Case | Iterable[Case]) -> pd.DataFrame:
    """One row per plan item."""
    rows = []
    for case in _cases(cases):
        for p in case.plan:
            rows.append(
                {
                    "patient_id": case.patient.id,
                    "category": p.category,
                    "name": p.name,
                    "dose": p.dose,
                    "frequency": p.frequency,
                    "start": p.start,
                    "end": p.end,
                    "status": p.status,
                    "template": p.template,
                }
            )
    cols = [
        "patient_id",
        "category",
        "name",
        "dose",
        "frequency",
        "start",
        "end",
        "status",
        "template",
    ]
    return _frame(rows, cols, ("start", "end")).sort_values(
        ["patient_id", "category", "name"], ignore_index=True
    )
