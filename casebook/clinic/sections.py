"""The sections `templates/clinic.ipynb` calls, one per cell, and the notebook's generator.

    session = open_clinic(database_url, date_from=..., date_to=..., practitioner=...,
                          notebooks_dir=...)
    filters_section(session); worklist_section(session); outcomes_section(session)
    export_section(session)

The store is read once (one bulk load); the filters narrow what is shown without reading it
again. Every string from a person reaches HTML through Jinja with autoescape; charts are
static SVG (casebook.charts.render), offline, and draw group figures only (no id, no name).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from markupsafe import Markup

from casebook.clinic._outcomes import CAVEATS
from casebook.clinic._session import EXPORTS, ClinicSession
from casebook.clinic._store import (
    ClinicFilter,
)
from casebook.clinic._worklist_view import worklist_html, worklist_section
from casebook.errors import ClinicError
from casebook.templating import environment

if TYPE_CHECKING:
    import altair as alt
    import ipywidgets as W


__all__ = [
    "EXPORTS",
    "TEMPLATE",
    "ClinicSession",
    "clinic_notebook",
    "export_section",
    "filters_section",
    "open_clinic",
    "outcome_chart",
    "outcomes_html",
    "outcomes_section",
    "worklist_html",
    "worklist_section",
]

TEMPLATE = "clinic.ipynb"


def _day(name: str, text: str | date | None) -> date | None:
    from casebook.notebooks import ParameterError, parse_day  # the template's parameters

    try:
        return parse_day(name, text)
    except ParameterError as exc:
        raise ClinicError(str(exc)) from None


def open_clinic(
    database_url: str,
    *,
    date_from: str = "",
    date_to: str = "",
    practitioner: str = "",
    notebooks_dir: str = ".",
    actor: str | None = None,
) -> ClinicSession:
    """The clinic session the notebook's cells share (its parameters, checked)."""
    from casebook.charts.render import warm_up
    from casebook.store import CaseStore

    # The outcome charts need vl-convert's JavaScript engine: start it while the store loads.
    warm_up(background=True)
    clinic_filter = ClinicFilter(
        practitioner=practitioner or None,
        date_from=_day("date_from", date_from),
        date_to=_day("date_to", date_to),
    )
    return ClinicSession(
        CaseStore(database_url, actor=actor), clinic_filter, notebooks_dir=notebooks_dir
    )


# --- sections ---------------------------------------------------------------------------
def _html(value: str, sentence: str) -> W.HTML:
    from casebook.clinic._widgets import SectionHTML

    return SectionHTML(value, sentence=sentence)


def outcome_chart(groups: pd.DataFrame, measure: str = "burden") -> alt.Chart | None:
    """Median change with its interquartile range per group, for one measure; only groups
    with enough patients (their figures are shown). None when there is nothing to draw."""
    import altair as alt

    rows = groups[(groups["measure"] == measure) & groups["median_change"].notna()]
    if rows.empty:
        return None
    data = rows[["group_name", "median_change", "q1_change", "q3_change", "n_measured"]]
    base = alt.Chart(
        data, title=f"{rows['measure_name'].iloc[0]}: median change (IQR) since baseline"
    ).encode(y=alt.Y("group_name:N", title=None, sort=None))
    bars = base.mark_rule(strokeWidth=2, color="#1f5f99").encode(
        x=alt.X("q1_change:Q", title="change (negative: better)"), x2="q3_change:Q"
    )
    points = base.mark_point(filled=True, size=70, color="#1f5f99").encode(
        x="median_change:Q", tooltip=["group_name:N", "median_change:Q", "n_measured:Q"]
    )
    chart: alt.Chart = (bars + points).properties(width=560)
    return chart


# The table's columns: (header a person reads, how a row's cell is written).
_OUTCOME_HEADERS = (
    "Protocol template",
    "Measure",
    "Patients",
    "Followed up",
    "Lost to follow-up",
    "Median change (IQR)",
    "MID",
    "Improved by the MID or more",
    "Note",
)
_NUMERIC = frozenset(range(2, 8))  # right-aligned, never wrapped


def _median_iqr(median: Any, q1: Any, q3: Any) -> str:
    from casebook.clinic._format import _cell

    if median is None:
        return "-"
    return f"{_cell(median)} ({_cell(q1)} to {_cell(q3)})"


def _outcome_rows(groups: pd.DataFrame) -> list[dict[str, Any]]:
    """The table's rows: a template's name on its first row only, numbers as people write
    them (a share as a percentage, the IQR beside its median)."""
    from casebook.clinic._format import _cell, _plain

    rows, last = [], None
    for r in _plain(groups).itertuples(index=False):
        share = r.improved_share
        cells = [
            "" if r.group_name == last else _cell(r.group_name),
            _cell(r.measure_name),
            _cell(r.n_patients),
            _cell(r.n_followed_up),
            _cell(r.n_lost_to_follow_up),
            _median_iqr(r.median_change, r.q1_change, r.q3_change),
            _cell(r.mid),
            "-" if share is None else f"{round(100 * float(share))}%",
            _cell(r.note) if r.note else "",
        ]
        rows.append({"first": r.group_name != last, "cells": cells})
        last = r.group_name
    return rows


def outcomes_html(session: ClinicSession) -> str:
    from casebook.charts import chart_html

    groups = session.table("template")
    import altair as alt

    drawn = [
        c for c in (outcome_chart(groups, m) for m in ("burden", "phq9", "gad7")) if c is not None
    ]
    # One picture, one vl-convert call; its text is escaped by vl-convert.
    charts = [Markup(chart_html(alt.vconcat(*drawn)))] if drawn else []  # noqa: S704
    sources = [s for s in dict.fromkeys(groups["mid_source"]) if s]
    return (
        environment("casebook.clinic")
        .get_template("outcomes.html.j2")
        .render(
            headers=_OUTCOME_HEADERS,
            numeric=_NUMERIC,
            rows=_outcome_rows(groups),
            charts=charts,
            sources=sources,
            caveats=[*CAVEATS, *([groups.attrs["left_out"]] if "left_out" in groups.attrs else [])],
        )
    )


_OUTCOMES_SENTENCE = (
    "Outcomes by protocol template: run this notebook (Run ▸ Run All Cells) to see them."
)
_FILTERS_SENTENCE = (
    "Filters by date range and practitioner: run this notebook (Run ▸ Run All Cells) to use them."
)
_EXPORT_SENTENCE = "Export to CSV: run this notebook (Run ▸ Run All Cells) to use it."


def outcomes_section(session: ClinicSession) -> W.HTML:
    """Outcomes by protocol template: the table, charts of median change, the caveats."""
    out = _html(outcomes_html(session), _OUTCOMES_SENTENCE)
    session.observe(lambda: setattr(out, "value", outcomes_html(session)))
    return out


def filters_section(session: ClinicSession) -> W.VBox:
    """Date range and practitioner; Apply redraws every section from the loaded frames."""
    import ipywidgets as W

    f = session.filter
    start = W.DatePicker(description="From", value=f.date_from)
    end = W.DatePicker(description="To", value=f.date_to)
    who = W.Text(description="Practitioner", value=f.practitioner or "", placeholder="everyone")
    apply = W.Button(description="Apply filters", button_style="primary")
    status = W.HTML()

    def on_apply(_: Any) -> None:
        try:
            session.set_filter(
                ClinicFilter(
                    practitioner=who.value.strip() or None, date_from=start.value, date_to=end.value
                )
            )
        except ClinicError as exc:
            status.value = _ERROR.format(str(exc))
            return
        status.value = ""

    apply.on_click(on_apply)
    from casebook.clinic._widgets import SectionBox

    return SectionBox(
        [W.HBox([start, end, who]), W.HBox([apply, status])], sentence=_FILTERS_SENTENCE
    )


# Markup.format escapes what it is given: a message or a file name prints as text.
_ERROR = Markup('<span style="color:#b00020">{}</span>')
_WRITTEN = Markup('<span style="color:#555">Written: {}</span>')


def export_section(session: ClinicSession) -> W.VBox:
    """A button that writes the current tables as CSV next to the notebook. The worklist
    carries names (the practitioner needs them); the outcome files carry none."""
    import ipywidgets as W

    button = W.Button(description="Export tables to CSV", icon="download")
    status = W.HTML()

    def on_click(_: Any) -> None:
        try:
            paths = session.export()
        except OSError as exc:
            status.value = _ERROR.format(exc.strerror or str(exc))
            return
        status.value = _WRITTEN.format(", ".join(p.name for p in paths))

    button.on_click(on_click)
    from casebook.clinic._widgets import SectionBox

    return SectionBox([button, status], sentence=_EXPORT_SENTENCE)  # the status under it


# --- the notebook -----------------------------------------------------------------------
def clinic_notebook(
    database_url: str,
    out_dir: str | Path = "notebooks",
    *,
    execute: bool = False,
    timeout: float = 120,
    **filters: str,
) -> Path:
    """Write `out_dir/clinic.ipynb` from the clinic template and return its path; the case
    workbooks are expected at `out_dir/<patient>/<Name>-<patient>.ipynb` (as `casebook
    batch` puts them)."""
    from casebook.notebooks import clinic_parameters, run_notebook, template_path

    out = Path(out_dir).resolve() / TEMPLATE
    return run_notebook(
        template_path(TEMPLATE),
        out,
        clinic_parameters(database_url, **filters),
        execute=execute,
        timeout=timeout,
    )
