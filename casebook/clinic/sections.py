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

from collections.abc import Callable
from datetime import date
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import pandas as pd
from markupsafe import Markup

from casebook.clinic._format import to_csv
from casebook.clinic._outcomes import CAVEATS
from casebook.clinic._store import (
    ClinicFilter,
    OutcomesBy,
    load_clinic_frames,
    store_outcomes,
    store_worklist,
)
from casebook.clinical.vocabulary import Urgency
from casebook.errors import ClinicError
from casebook.interop.frames import ClinicFrames
from casebook.templating import environment

if TYPE_CHECKING:
    import altair as alt
    import ipywidgets as W

    from casebook.notebooks import LabHtml
    from casebook.store import CaseStore

__all__ = [
    "EXPORTS",
    "MAX_ROWS",
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
MAX_ROWS = 200  # rows drawn in the notebook; the CSV export has them all
EXPORTS = {
    "worklist": "clinic-worklist.csv",
    "patients": "clinic-outcomes-patients.csv",
    "template": "clinic-outcomes-templates.csv",
    "category": "clinic-outcomes-categories.csv",
}
_COLOURS = {
    Urgency.SAME_DAY: "#b00020",
    Urgency.URGENT: "#c2410c",
    Urgency.SOON: "#8a5a00",
    Urgency.ROUTINE: "#4b5563",
}


def _day(name: str, text: str | date | None) -> date | None:
    from casebook.notebooks import ParameterError, parse_day  # the template's parameters

    try:
        return parse_day(name, text)
    except ParameterError as exc:
        raise ClinicError(str(exc)) from None


def _notebooks_dir(value: str) -> PurePosixPath:
    from casebook.notebooks import ParameterError, relative_folder

    try:
        return relative_folder("notebooks_dir", value)
    except ParameterError as exc:
        raise ClinicError(str(exc)) from None


class ClinicSession:
    """The clinic as the notebook sees it: the store, the frames (read once), the filter,
    and the sections to tell when the filter changes."""

    def __init__(
        self,
        store: CaseStore,
        clinic_filter: ClinicFilter,
        *,
        notebooks_dir: str = ".",
        export_dir: Path | None = None,
        today: date | None = None,
    ) -> None:
        self.store = store
        self.filter = clinic_filter
        self.notebooks_dir = _notebooks_dir(notebooks_dir)
        self.export_dir = Path.cwd() if export_dir is None else Path(export_dir)
        self.today = today or date.today()
        self.frames: ClinicFrames = load_clinic_frames(store)
        self._observers: list[Callable[[], None]] = []
        self._cache: dict[str, pd.DataFrame] = {}
        self._drawn = False  # the worklist cell has run on these frames

    def reload(self) -> None:
        """Read the store again (a flag acknowledged, results reviewed since) and redraw."""
        self.frames = load_clinic_frames(self.store)
        self._cache.clear()
        for callback in list(self._observers):
            callback()

    def __repr__(self) -> str:
        return f"ClinicSession({self.store!r})"

    def observe(self, callback: Callable[[], None]) -> None:
        self._observers.append(callback)

    def set_filter(self, clinic_filter: ClinicFilter) -> None:
        if clinic_filter != self.filter:
            self.filter = clinic_filter
            self._cache.clear()
            for callback in list(self._observers):
                callback()

    def table(self, name: str) -> pd.DataFrame:
        """'worklist', or the outcomes by 'patients', 'template' or 'category'."""
        if name not in self._cache:
            if name == "worklist":
                df = store_worklist(
                    self.store, today=self.today, clinic_filter=self.filter, frames=self.frames
                )
            else:
                by: OutcomesBy = (
                    "patient"
                    if name == "patients"
                    else "template"
                    if name == "template"
                    else "category"
                )
                df = store_outcomes(
                    self.store, by=by, clinic_filter=self.filter, frames=self.frames
                )
            self._cache[name] = df
        return self._cache[name]

    def patient_link(self, patient_id: str, name: str) -> Markup:
        """The link (HTML) that opens a patient's case workbook inside JupyterLab, or
        brings it to the front when it is open: shown through `LabHtml`, never through an
        ipywidgets HTML value (whose links reload JupyterLab)."""
        from casebook.notebooks import case_notebook_name, lab_link

        folder = "/".join((*self.notebooks_dir.parts, patient_id))
        href = f"{folder}/{case_notebook_name(patient_id, name)}"
        return lab_link(href, name or patient_id, title=f"Open the case workbook of {patient_id}")

    def export(self) -> list[Path]:
        """Every current table as CSV in `export_dir` (written whole, then renamed)."""
        from casebook.notebooks import write_atomic

        return [
            write_atomic(self.export_dir / file, to_csv(self.table(name)))
            for name, file in EXPORTS.items()
        ]


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
def worklist_html(session: ClinicSession) -> str:
    df = session.table("worklist")
    shown = df.head(MAX_ROWS)
    since = shown["since"].dt.strftime("%Y-%m-%d").fillna("")
    rows = [
        {
            "urgency": Urgency(r.urgency).label,
            "colour": _COLOURS[Urgency(r.urgency)],
            "patient_id": r.patient_id,
            "name": r.name if isinstance(r.name, str) else "",
            "link": session.patient_link(r.patient_id, r.name if isinstance(r.name, str) else ""),
            "kind": r.kind,
            "detail": r.detail,
            "since": s,
        }
        for r, s in zip(shown.itertuples(index=False), since, strict=True)
    ]
    f = session.filter
    filtered = bool(f.practitioner or f.date_from or f.date_to)
    return (
        environment("casebook.clinic")
        .get_template("worklist.html.j2")
        .render(rows=rows, more=max(0, len(df) - MAX_ROWS), filtered=filtered)
    )


def _html(value: str) -> W.HTML:
    import ipywidgets as W

    return W.HTML(value=value)


def worklist_section(session: ClinicSession) -> LabHtml:
    """The worklist, most urgent first; each patient's name opens their case workbook
    inside JupyterLab (a notebook output, `LabHtml`: no reload, an open one comes to the
    front). Running the cell again reads the store again, so an acknowledged flag leaves
    the list."""
    from casebook.notebooks import LabHtml

    if session._drawn:
        session.reload()
    session._drawn = True
    out = LabHtml(worklist_html(session))
    session.observe(lambda: setattr(out, "value", worklist_html(session)))
    return out


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


_OUTCOME_COLUMNS = [
    "group_name",
    "measure_name",
    "n_patients",
    "n_followed_up",
    "n_lost_to_follow_up",
    "median_change",
    "q1_change",
    "q3_change",
    "mid",
    "improved_share",
    "note",
]


def outcomes_html(session: ClinicSession) -> str:

    from casebook.charts import chart_html
    from casebook.clinic._format import _cell, _plain

    groups = session.table("template")
    rows = [
        [_cell(v) for v in row] for row in _plain(groups[_OUTCOME_COLUMNS]).itertuples(index=False)
    ]
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
            columns=_OUTCOME_COLUMNS,
            rows=rows,
            charts=charts,
            sources=sources,
            caveats=[*CAVEATS, *([groups.attrs["left_out"]] if "left_out" in groups.attrs else [])],
        )
    )


def outcomes_section(session: ClinicSession) -> W.HTML:
    """Outcomes by protocol template: the table, charts of median change, the caveats."""
    out = _html(outcomes_html(session))
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
    return W.VBox([W.HBox([start, end, who]), W.HBox([apply, status])])


# Markup.format escapes what it is given: a message or a file name prints as text.
_ERROR = Markup('<span style="color:#b00020">{}</span>')
_WRITTEN = Markup('<span style="color:#555">Written: {}</span>')


def export_section(session: ClinicSession) -> W.HBox:
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
    return W.HBox([button, status])


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
