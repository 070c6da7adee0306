"""Text, CSV and JSON renderings of the clinic frames, for the CLI and the notebook."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from casebook.clinical.vocabulary import Urgency
from casebook.format import text_table, wrapped
from casebook.interop.csv_write import frame_to_csv

__all__ = ["format_table", "format_todo", "to_csv", "to_json"]

_FOOTNOTE_COLUMNS = ("mid_source",)  # long citations: listed under the table, not in it


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Dates as YYYY-MM-DD strings, missing values as None."""
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d")
    return out.astype(object).where(out.notna(), None)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".") if value == value else "-"
    return str(value)


def format_table(df: pd.DataFrame) -> str:
    """A plain-text table, then the MID sources, caveats and de-identification note."""
    shown = _plain(df.drop(columns=[c for c in _FOOTNOTE_COLUMNS if c in df.columns]))
    lines: list[str] = []
    if shown.empty:
        lines.append("(nothing to show)")
    else:
        rows = [[_cell(v) for v in row] for row in shown.itertuples(index=False)]
        lines += text_table([str(c) for c in shown.columns], rows)
    if "mid_source" in df.columns:
        sources = [s for s in dict.fromkeys(df["mid_source"].dropna()) if s]
        if sources:
            lines += ["", "Minimal important differences from:"]
            lines += [line for s in sources for line in wrapped(s, "    ", "  - ")]
    caveats = df.attrs.get("caveats") or []
    if caveats:
        lines += ["", "Caveats:"] + [line for c in caveats for line in wrapped(c, "    ", "  - ")]
    if df.attrs.get("deidentified"):
        lines += ["", f"De-identified: {df.attrs['deidentified']}"]
    if df.attrs.get("suppressed"):
        lines += [f"Suppressed: {df.attrs['suppressed']} row(s) too few patients share"]
    return "\n".join(lines) + "\n"


def _whole_numbers(df: pd.DataFrame) -> pd.DataFrame:
    """Float columns that hold whole numbers only (scores, their changes: floats because a
    patient may have none) as integers, so a score of 26 is written `26`, not `26.0`."""
    out = df.copy()
    for col in out.columns:
        values = out[col]
        if pd.api.types.is_float_dtype(values):
            present = values.dropna()
            if not present.empty and bool((present % 1 == 0).all()):
                out[col] = values.astype("Int64")
    return out


def format_todo(patients: pd.DataFrame, items: pd.DataFrame, *, unfold: bool = False) -> str:
    """The worklist as a to-do list in the terminal: a line a patient (most urgent first:
    urgency, name and id, how many items since when), their counts by kind under it, and,
    `unfold`ed, each item of `items` under its patient. Within 100 columns."""
    from casebook.clinic._kinds import kind_of

    if patients.empty:
        return "Nothing to act on.\n"
    lines: list[str] = []
    pad = " " * 10
    for p in patients.itertuples(index=False):
        label = Urgency(p.urgency).label
        who = f"{p.name} ({p.patient_id})" if isinstance(p.name, str) else str(p.patient_id)
        since = "" if pd.isna(p.since) else f", since {p.since:%Y-%m-%d}"
        n = f"{p.items} item{'s' if p.items != 1 else ''}{since}"
        lines += ["", *wrapped(f"{label:<9} {who}: {n}", pad, "")]
        lines += wrapped(str(p.todo), pad)
        if unfold:
            for it in items[items["patient_id"] == p.patient_id].itertuples(index=False):
                kind = kind_of(str(it.kind)).label
                said = f"[{Urgency(it.urgency).label}] {kind}: {it.detail}"
                lines += wrapped(said, pad + "    ", pad + "  - ")
    return "\n".join(lines[1:]) + "\n"


def to_csv(df: pd.DataFrame) -> str:
    """CSV with a header row, dates as YYYY-MM-DD, whole numbers without a decimal point
    and empty cells for missing values, through casebook's one writer
    (`casebook.interop.csv_write`): no text cell can run as a formula."""
    return frame_to_csv(_whole_numbers(df))


def to_json(df: pd.DataFrame) -> str:
    """{"columns", "rows", and every attr (caveats, min_patients, deidentified...)}."""
    payload: dict[str, Any] = {
        "columns": [str(c) for c in df.columns],
        "rows": _plain(df).to_dict(orient="records"),
    }
    for name, value in df.attrs.items():
        payload[name] = list(value) if isinstance(value, tuple) else value
    return json.dumps(payload, ensure_ascii=False, indent=2, default=str)
