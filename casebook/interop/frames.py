"""Case records as pandas DataFrames: the one place that builds them.

Tidy frames for analysis in a notebook, one row per observation:

    from casebook.interop.frames import results_frame
    df = results_frame(store.load_case(pid) for pid in ids)

The clinic's frames of many cases, built in one pass (`clinic_frames`): visits with their
symptom burden, scores (stored totals, else scored now), plan items, orders, and results
with their record ids, effective flags and review state, ids shared as categoricals.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from casebook.catalog import Catalog, default_catalog
from casebook.clinical.baseline import baseline_visit
from casebook.clinical.scoring import ScoringError, burden_by_visit, read_result, score_instrument
from casebook.format import number
from casebook.models import Case, InstrumentResponse
from casebook.store.reads import LoadedCases, UnreadableCase

__all__ = [
    "ClinicFrames",
    "as_frames",
    "clinic_frames",
    "instruments_frame",
    "join_per_patient",
    "plan_frame",
    "results_frame",
    "symptoms_frame",
]

_DATE = "datetime64[ns]"


def _cases(cases: Case | Iterable[Case]) -> list[Case]:
    return [cases] if isinstance(cases, Case) else list(cases)


def _frame(
    rows: list[tuple[Any, ...]] | list[dict[str, Any]], columns: list[str], dates: tuple[str, ...]
) -> pd.DataFrame:
    df = pd.DataFrame.from_records(rows, columns=columns)
    for col in dates:
        df[col] = pd.to_datetime(df[col]).astype(_DATE)
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


# id column -> the frames whose column shares one categorical dtype
_SHARED: dict[str, tuple[str, ...]] = {
    "patient_id": ("patients", "visits", "scores", "plan", "orders", "results"),
    "visit_id": ("visits", "scores"),
    "test": ("orders", "results"),
}
_FEW: dict[str, tuple[str, ...]] = {
    "scores": ("instrument",),
    "plan": ("status",),
    "orders": ("status",),
    "results": ("flag",),
}


@dataclass(frozen=True)
class ClinicFrames:
    """Tidy frames of many cases, one row per visit / score / plan item / order / result.

    `cases` keeps the records themselves for the rules that need a whole case (red flags);
    `unreadable` the patients a bulk read left out because a stored record of theirs does
    not validate (the worklist lists each as needing attention).
    """

    patients: pd.DataFrame  # patient_id, name
    visits: pd.DataFrame  # patient_id, visit_id, visit_date, kind, burden, seq, is_baseline
    scores: pd.DataFrame  # patient_id, visit_id, visit_date, instrument, total
    plan: pd.DataFrame  # patient_id, item_id, category, name, start, end, status, template
    orders: pd.DataFrame  # patient_id, order_id, test, status, ordered_on, resulted
    results: pd.DataFrame  # patient_id, result_id, test, test_name, collected_on, shown, flag,
    #                        reviewed (marked reviewed in the store), version (as stored)
    cases: tuple[Case, ...] = ()
    unreadable: tuple[UnreadableCase, ...] = ()

    def __post_init__(self) -> None:
        # Ids as categoricals sharing their categories across the frames, once: every
        # merge, group and isin on them then works on integer codes, not on strings.
        for column, names in _SHARED.items():
            frames = {name: getattr(self, name) for name in names}
            dtypes = {frames[name][column].dtype for name in names}
            if len(dtypes) == 1 and isinstance(next(iter(dtypes)), pd.CategoricalDtype):
                continue
            values = pd.concat(
                [df[column].astype(object) for df in frames.values()], ignore_index=True
            ).dropna()
            dtype = pd.CategoricalDtype(pd.Index(values.unique(), dtype=str).sort_values())
            for name, df in frames.items():
                object.__setattr__(self, name, df.assign(**{column: df[column].astype(dtype)}))
        for name, columns in _FEW.items():  # few distinct values: compared by code too
            df = getattr(self, name)
            object.__setattr__(
                self,
                name,
                df.assign(
                    **{
                        c: df[c].astype("category")
                        for c in columns
                        if not isinstance(df[c].dtype, pd.CategoricalDtype)
                    }
                ),
            )


def _score(response: InstrumentResponse, catalog: Catalog) -> int | None:
    """The stored total (the store derives it on save), else the answers scored now."""
    if response.total is not None:
        return response.total
    instrument = catalog.instruments.get(response.instrument)
    if instrument is None:
        return None
    try:
        return score_instrument(instrument, response.answers).total
    except ScoringError:
        return None


def clinic_frames(cases: Iterable[Case], catalog: Catalog) -> ClinicFrames:
    """Build the clinic frames from loaded cases (one Python pass; the rest is pandas); the
    patients a store's `load_cases` could not read come along as `unreadable`."""
    unreadable = cases.unreadable if isinstance(cases, LoadedCases) else ()
    kept = tuple(cases)
    patients, visits, scores, plan, orders, results = [], [], [], [], [], []
    for case in kept:
        pid = case.patient.id
        patients.append((pid, case.patient.name))
        baseline = baseline_visit(case)
        base_id = baseline.id if baseline is not None else None
        dates = {}
        for seq, vb in enumerate(burden_by_visit(case)):
            dates[vb.visit_id] = vb.visit_date
            visits.append(
                (
                    pid,
                    vb.visit_id,
                    vb.visit_date,
                    vb.kind,
                    vb.burden if vb.rated else None,
                    seq,
                    vb.visit_id == base_id,
                )
            )
        for response in case.instruments:
            total = _score(response, catalog)
            if total is not None:
                scores.append(
                    (pid, response.visit_id, dates[response.visit_id], response.instrument, total)
                )
        for p in case.plan:
            plan.append((pid, p.id, p.category, p.name, p.start, p.end, p.status, p.template))
        resulted = {r.order_id for r in case.results if r.order_id is not None}
        for o in case.orders:
            orders.append(
                (
                    pid,
                    o.id,
                    o.test,
                    o.status,
                    o.ordered_on,
                    o.status == "resulted" or o.id in resulted,
                )
            )
        sex = case.patient.sex
        for r in case.results:
            test = catalog.tests.get(r.test)
            shown = (
                f"{number(r.value)} {r.unit}".strip() if r.value is not None else str(r.value_text)
            )
            results.append(
                (
                    pid,
                    r.id,
                    r.test,
                    test.name if test else r.test,
                    r.collected_on,
                    shown,
                    read_result(r, test, sex).flag,
                    r.reviewed_at is not None,
                    r.version,
                )
            )
    visit_frame = _frame(
        visits,
        ["patient_id", "visit_id", "visit_date", "kind", "burden", "seq", "is_baseline"],
        ("visit_date",),
    )
    visit_frame["burden"] = visit_frame["burden"].astype("float64")
    score_frame = _frame(
        scores, ["patient_id", "visit_id", "visit_date", "instrument", "total"], ("visit_date",)
    )
    score_frame["total"] = score_frame["total"].astype("float64")
    return ClinicFrames(
        patients=_frame(patients, ["patient_id", "name"], ()),
        visits=visit_frame,
        scores=score_frame,
        plan=_frame(
            plan,
            ["patient_id", "item_id", "category", "name", "start", "end", "status", "template"],
            ("start", "end"),
        ),
        orders=_frame(
            orders,
            ["patient_id", "order_id", "test", "status", "ordered_on", "resulted"],
            ("ordered_on",),
        ),
        results=_frame(
            results,
            [
                "patient_id",
                "result_id",
                "test",
                "test_name",
                "collected_on",
                "shown",
                "flag",
                "reviewed",
                "version",
            ],
            ("collected_on",),
        ),
        cases=kept,
        unreadable=unreadable,
    )


def join_per_patient(df: pd.DataFrame, column: str, sep: str = "; ") -> pd.Series:
    """Per patient_id, the `column` strings of its rows joined by `sep`, in row order.

    Vectorised (a pivot on the row number within the patient), not a Python aggregate."""
    if df.empty:
        return pd.Series(dtype=object)
    n = df.groupby("patient_id", sort=False).cumcount()
    wide = df.assign(_n=n).pivot(index="patient_id", columns="_n", values=column)
    joined = wide[0].astype(object)
    for col in wide.columns[1:]:
        more = wide[col].notna()
        joined[more] = joined[more] + sep + wide.loc[more, col]
    return joined


def as_frames(source: Iterable[Case] | ClinicFrames, catalog: Catalog) -> ClinicFrames:
    """`source` as clinic frames: built from cases, or passed through when already built."""
    if isinstance(source, ClinicFrames):
        return source
    if isinstance(source, Case):
        return clinic_frames([source], catalog)
    return clinic_frames(source, catalog)
