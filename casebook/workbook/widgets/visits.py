"""Visits: switch between them, start a follow-up (or the intake), record the visit's
alarm-feature screen and summary, and see the change since baseline (symptom burden and
instrument scores)."""

from __future__ import annotations

from datetime import date
from typing import Any

import ipywidgets as W

from casebook.clinical.scoring import change_since_baseline, measure_starts
from casebook.models import LEGACY_SCREEN_QUESTIONS, SCREEN_LABELS, AlarmScreen, Visit
from casebook.workbook.widgets._base import Change, SaveBar
from casebook.workbook.widgets._fields import LABEL_WIDTH, Fields, field_for
from casebook.workbook.widgets._html import FORM_CLASS, STYLE, table, text
from casebook.workbook.widgets._views import ChartView, VisitPin, records_key
from casebook.workbook.widgets.checkins import CheckinPanel
from casebook.workbook.widgets.letters import LetterButtons
from casebook.workbook.widgets.session import CaseSession, Event

__all__ = ["SCREEN_LABELS", "VisitsForm", "change_heading", "change_table"]


def _delta(value: int | None, delta: int | None) -> str:
    if value is None:
        return "—"
    return f"{value}" if not delta else f"{value} ({delta:+d})"


def change_table(session: CaseSession) -> str:
    """Per visit: burden and instrument totals, with the change since baseline."""
    cat = session.catalog
    changes = change_since_baseline(session.case, instruments=cat.instruments)
    keys = sorted({k for c in changes for k in c.instruments})
    names = [cat.instruments[k].short_name if k in cat.instruments else k for k in keys]
    rows = []
    for c in changes:
        mark = " ◀ selected" if c.visit_id == session.visit_id else ""
        rows.append(
            (
                f"{c.visit_date.isoformat()} {c.kind}{mark}",
                _delta(c.burden, c.burden_delta),
                *(_delta(c.instruments[k].total, c.instruments[k].delta) for k in keys),
            )
        )
    return table(("visit", "symptom burden (0-44)", *names), rows)


def change_heading(session: CaseSession) -> str:
    """The change table's heading: what the brackets count from, and, for each measure that
    starts at a check-in the patient sent (`clinical.baseline`), that check-in by its date."""
    cat = session.catalog
    starts = measure_starts(session.case, instruments=cat.instruments)
    named = [("symptom burden", starts.burden)] + [
        (cat.instruments[k].short_name if k in cat.instruments else k, v)
        for k, v in starts.instruments.items()
    ]
    measured = [(name, v) for name, v in named if v is not None]
    sent = [
        f"{text(name)} from the check-in sent on {v.visit_date.isoformat()}"
        for name, v in measured
        if v.is_checkin
    ]
    heading = f"{STYLE}<b>Change since baseline</b>"
    if not sent:
        return f"{heading} (difference from the baseline visit in brackets)"
    if len(sent) < len(measured):
        sent.append("the others from the baseline visit")
    return f"{heading} (difference in brackets from where each measure starts: {'; '.join(sent)})"


class VisitsForm:
    """The visit selector, 'start a visit', the selected visit's screen, change since baseline."""

    def __init__(self, session: CaseSession) -> None:
        self.session = session
        look = session.look
        label = {"description_width": LABEL_WIDTH}
        self.selector = look.make(
            W.Dropdown, description="Selected visit", style=label, layout={"width": "450px"}
        )
        self.selector.observe(self._selected, "value")
        self.new_date = look.make(
            W.DatePicker,
            value=date.today(),
            description="New visit on",
            style=label,
            layout={"width": "320px"},
        )
        self.start_button = look.make(
            W.Button,
            description="Start follow-up",
            icon="plus",
            button_style="success",
            layout={"width": "auto"},
        )
        self.start_button.on_click(lambda _: self.start_visit(self.new_date.value))
        self.starter = SaveBar(
            session, "New visit", collect=list, reset=lambda: None, buttons=False
        )
        wide: dict[str, Any] = {"label_width": "240px", "width": "520px"}
        self.fields = Fields(
            field_for(Visit, "visit_date", look, label="Visit date", **wide),
            *(
                field_for(AlarmScreen, n, look, label=SCREEN_LABELS[n], **wide)
                for n in AlarmScreen.model_fields
                if n not in LEGACY_SCREEN_QUESTIONS
            ),
            field_for(Visit, "summary", look, label="Summary", **wide),
        )
        self.bar = SaveBar(
            session,
            "Visit",
            collect=self._collect,
            reset=self._reset,
            fields=self.fields,
            save_label="Save visit",
        )
        self.fields.on_change(self.bar.mark_dirty)
        self.pin = VisitPin(
            session, self.bar, "Alarm-feature screen (ask every question) and summary"
        )
        self.heading = look.make(W.HTML)  # what the changes count from
        self.changes = look.make(W.HTML)
        self.letters = LetterButtons(session, ("after_visit_summary",))
        self.checkins = CheckinPanel(session)
        self.chart = ChartView(
            session,
            self._chart,
            lambda: (records_key(session.case.visits), records_key(session.case.symptoms)),
        )
        self.widget = look.column(
            [
                self.selector,
                look.row([self.new_date, self.start_button]),
                self.starter.widget,
                self.pin.heading,
                *self.fields.rows,
                self.bar.widget,
                self.letters.widget,
                self.checkins.widget,
                self.heading,
                look.make(
                    W.HBox,
                    children=[self.changes, self.chart.widget],
                    layout={"flex_flow": "row wrap", "align_items": "flex-start"},
                ),
            ]
        )
        self.widget.add_class(FORM_CLASS)
        self._syncing = False
        session.observe(self._on_event)
        self._refresh()

    def _chart(self) -> object:
        from casebook.charts import burden_chart

        return burden_chart(self.session.case, width=420)

    def _on_event(self, event: Event) -> None:
        if event in ("case", "visit"):
            self._refresh()

    def _refresh(self) -> None:
        self._syncing = True
        try:
            self.selector.options = [
                (f"{v.visit_date.isoformat()} · {v.kind}", v.id)
                for v in self.session.case.sorted_visits()
            ]
            self.selector.value = self.session.visit_id
        finally:
            self.widget.add_class(FORM_CLASS)
        self._syncing = False
        self.start_button.description = (
            "Start follow-up" if self.session.case.visits else "Start intake"
        )
        if not self.bar.dirty:
            self._reset()
        else:
            self.pin.follow()
        self.heading.value = change_heading(self.session)
        self.changes.value = change_table(self.session)
        self.chart.refresh()

    def _selected(self, _: Any) -> None:
        if not self._syncing and self.selector.value is not None:
            self.session.select_visit(self.selector.value)

    def select(self, visit_id: str) -> None:
        self.selector.value = visit_id

    def start_visit(self, on: date | None) -> Visit | None:
        """Save a new visit on `on` (the intake if it is the first) and select it."""
        kind = "follow-up" if self.session.case.visits else "intake"
        if on is None:
            self.starter.message.value = "Choose the date of the new visit first."
            return None
        visit = Visit(patient_id=self.session.patient_id, kind=kind, visit_date=on)
        if not self.starter.commit([Change(visit, None, f"{kind} on {on.isoformat()}")]):
            return None
        self.session.select_visit(visit.id)
        return visit

    def _reset(self) -> None:
        self.pin.follow()
        visit = self.pin.visit
        for f in self.fields:
            f.widget.disabled = visit is None
        if visit is None:
            return
        self.fields.load(
            {"visit_date": visit.visit_date, "summary": visit.summary, **visit.screen.model_dump()}
        )

    def _collect(self) -> list[Change]:
        base = self.pin.visit
        if base is None:
            return []
        screen_names = set(AlarmScreen.model_fields)

        def make(values: dict[str, Any]) -> Visit:
            asked = {k: v for k, v in values.items() if k in screen_names}
            screen = AlarmScreen(**{**base.screen.model_dump(), **asked})
            return Visit.model_validate(
                {
                    **base.model_dump(),
                    "visit_date": values["visit_date"],
                    "summary": values["summary"],
                    "screen": screen.model_dump(),
                }
            )

        visit = self.fields.build(make)
        return [] if visit == base else [Change(visit, base, f"visit of {base.visit_date}")]
