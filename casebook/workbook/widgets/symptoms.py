"""The symptom inventory of one visit (severity 0-4 and frequency of each catalog symptom),
beside a chart of every visit so far."""

from __future__ import annotations

import ipywidgets as W

from casebook.clinical.vocabulary import SEVERITY_WORDS
from casebook.models import SymptomRating
from casebook.workbook.widgets._base import Change, SaveBar
from casebook.workbook.widgets._fields import Look, Quiet
from casebook.workbook.widgets._html import FORM_CLASS, STYLE, esc
from casebook.workbook.widgets._views import ChartView, VisitPin, records_key
from casebook.workbook.widgets.session import CaseSession

__all__ = ["FREQUENCIES", "SymptomRow", "SymptomsForm"]

FREQUENCIES = (
    ("never", "never"),
    ("monthly", "monthly"),
    ("weekly", "weekly"),
    ("several times a week", "several_weekly"),
    ("daily", "daily"),
)


class SymptomRow:
    """One symptom: severity buttons 0-4 (none selected: not rated) and a frequency."""

    def __init__(self, key: str, label: str, description: str, look: Look) -> None:
        self.key, self.label = key, label
        self.severity = look.make(
            W.ToggleButtons,
            options=[(str(i), i) for i in range(5)],
            index=None,
            tooltips=[f"{i} {w}" for i, w in enumerate(SEVERITY_WORDS)],
            style={"button_width": "34px"},
            layout={"width": "auto"},
        )
        self.frequency = look.make(
            W.Dropdown, options=FREQUENCIES, value="never", layout={"width": "190px"}
        )
        name = look.make(
            W.HTML,
            value=f'<span title="{esc(description)}">{esc(label)}</span>',
            layout={"width": "210px"},
        )
        self.widget = look.row([name, self.severity, self.frequency])
        self.widget.add_class(f"casebook-symptom-{key}")

    def show(self, rating: SymptomRating | None) -> None:
        self.severity.value = rating.severity if rating is not None else None
        self.frequency.value = rating.frequency if rating is not None else "never"


class SymptomsForm:
    """Ratings of the selected visit; Save writes every changed rating in one transaction."""

    def __init__(self, session: CaseSession) -> None:
        self.session = session
        cat = session.catalog
        look = session.look
        self.rows = {s.key: SymptomRow(s.key, s.label, s.description, look) for s in cat.symptoms}
        self.bar = SaveBar(
            session,
            "Symptoms",
            collect=self._collect,
            reset=self._reset,
            save_label="Save symptoms",
        )
        self.pin = VisitPin(session, self.bar, "Symptoms")
        self.note = look.make(W.HTML)
        self._loading = Quiet()
        for row in self.rows.values():
            row.severity.observe(self._changed, "value")
            row.frequency.observe(self._changed, "value")
        self.chart = ChartView(
            session,
            self._chart,
            lambda: (records_key(session.case.visits), records_key(session.case.symptoms)),
        )
        legend = look.make(
            W.HTML,
            value=(
                STYLE
                + '<span style="color:#555">Severity: '
                + " · ".join(f"{i} {w}" for i, w in enumerate(SEVERITY_WORDS))
                + "; frequency: how often in the last weeks</span>"
            ),
        )
        form = look.column(
            [
                self.pin.heading,
                self.note,
                legend,
                *(r.widget for r in self.rows.values()),
                self.bar.widget,
            ]
        )
        self.widget = look.make(
            W.HBox,
            children=[form, self.chart.widget],
            layout={"flex_flow": "row wrap", "align_items": "flex-start"},
        )
        self.widget.add_class(FORM_CLASS)
        session.observe(lambda event: self.pin.on_event(event, self._reset, self.chart))
        self._reset()

    def _chart(self) -> object:
        from casebook.charts import symptom_chart

        return symptom_chart(self.session.case, self.session.catalog)

    def _changed(self, _: object) -> None:
        if not self._loading:
            self.bar.mark_dirty()
            self._count_unrated()

    def _count_unrated(self) -> None:
        """How many symptoms have no button selected yet, as the form stands (not as saved):
        the count goes down while ratings are entered."""
        missing = sum(row.severity.value is None for row in self.rows.values())
        self.note.value = (
            f'<span style="color:#8a5a00">{missing} of {len(self.rows)} symptoms not rated '
            "at this visit yet (no button selected).</span>"
            if self.pin.visit and missing
            else ""
        )

    def ratings(self) -> dict[str, SymptomRating]:
        """The saved ratings of the visit shown, by symptom."""
        vid = self.pin.visit_id
        return {r.symptom: r for r in self.session.case.symptoms if r.visit_id == vid}

    def _reset(self) -> None:
        self.pin.follow()
        saved = self.ratings()
        with self._loading:
            for key, row in self.rows.items():
                row.show(saved.get(key))
        self._count_unrated()
        self.chart.refresh()

    def _collect(self) -> list[Change]:
        saved = self.ratings()
        changes = []
        for key, row in self.rows.items():
            if row.severity.value is None:
                continue
            base = saved.get(key)
            keep = {"id": base.id, "version": base.version} if base is not None else {}
            draft = SymptomRating(
                patient_id=self.session.patient_id,
                visit_id=self.pin.visit_id,
                symptom=key,
                severity=row.severity.value,
                frequency=row.frequency.value,
                **keep,
            )
            if draft != base:
                changes.append(Change(draft, base, row.label))
        return changes
