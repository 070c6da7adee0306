"""Results: enter a result (with unit and reference range, for an open order or on its own),
the table of results with their H/L flags, and a trend chart per analyte with the
reference band shaded."""

from __future__ import annotations

from datetime import date
from typing import Any

import ipywidgets as W

from casebook.catalog import LabTest
from casebook.clinical.scoring import read_result
from casebook.clinical.vocabulary import RESULT_FLAG_WORDS, RESULT_FLAGS
from casebook.format import range_text
from casebook.models import TestOrder, TestResult
from casebook.store import NotFoundError, StoreError
from casebook.workbook.widgets._base import Change, SaveBar
from casebook.workbook.widgets._fields import (
    LABEL_WIDTH,
    Field,
    FieldErrors,
    Fields,
    Quiet,
    field_for,
)
from casebook.workbook.widgets._html import badge, esc, shown, table
from casebook.workbook.widgets._views import ChartView, records_key
from casebook.workbook.widgets.session import CaseSession, Event

__all__ = ["FLAG_WORDS", "ResultForm", "ResultsView"]

FLAG_WORDS = {
    flag: (f"{flag} {RESULT_FLAG_WORDS[flag]}", colour)
    for flag, colour in zip(RESULT_FLAGS, ("#b00020", "#1f5f99", "#b00020"), strict=True)
}


def _picker_label(name: str, group: str) -> str:
    """ "Ferritin (blood)"; a name that already ends with its group keeps it once
    ("Giardia antigen or PCR (stool)", never "... (stool) (stool)")."""
    return name if name.endswith(f"({group})") else f"{name} ({group})"


class ResultForm:
    """One result: for an open order (which becomes 'resulted') or for any catalog test."""

    def __init__(self, session: CaseSession) -> None:
        self.session = session
        self.tests = session.catalog.tests
        look = session.look
        label = {"description_width": LABEL_WIDTH}
        self.order = look.make(
            W.Dropdown, description="For order", style=label, layout={"width": "570px"}
        )
        self.test = W.Dropdown(  # its own layout: hidden while an order is chosen
            description="Test",
            style=look.style(W.Dropdown, **label),
            options=[(_picker_label(t.name, t.group), t.key) for t in self.tests.values()],
            layout=W.Layout(width="570px"),
        )
        self.fields = Fields(
            field_for(TestResult, "collected_on", look, label="Collected on"),
            Field(
                "value",
                "Value",
                look.make(W.Text, description="Value", style=label, layout={"width": "270px"}),
                str.strip,
                lambda v: "" if v is None else str(v),
                look,
            ),
            field_for(TestResult, "unit", look, label="Unit", width="270px"),
            field_for(TestResult, "ref_low", look, label="Reference low"),
            field_for(TestResult, "ref_high", look, label="Reference high"),
        )
        self.hint = look.make(W.HTML)
        self.bar = SaveBar(
            session,
            "Result",
            collect=self._collect,
            reset=self._reset,
            fields=self.fields,
            save_label="Save result",
        )
        self._loading = Quiet()
        self.fields.on_change(self.bar.mark_dirty)
        self.order.observe(lambda _: self._prefill(), "value")
        self.test.observe(lambda _: self._prefill(), "value")
        self.widget = look.column(
            [self.order, self.test, self.hint, *self.fields.rows, self.bar.widget]
        )
        session.observe(self._on_event)
        self._reset()

    def open_orders(self) -> list[TestOrder]:
        return sorted(
            (o for o in self.session.case.orders if o.status in ("ordered", "collected")),
            key=lambda o: (o.ordered_on, o.id),
        )

    @property
    def selected(self) -> LabTest:
        order = self._order()
        return self.tests[order.test if order is not None else self.test.value]

    def _order(self) -> TestOrder | None:
        found = self.session.find(TestOrder, self.order.value) if self.order.value else None
        return found if isinstance(found, TestOrder) else None

    def _on_event(self, event: Event) -> None:
        if event == "case" and not self.bar.dirty:
            self._reset()

    def _reset(self) -> None:
        with self._loading:
            self.order.options = [("(no order: choose the test below)", "")] + [
                (
                    f"{self.tests[o.test].name if o.test in self.tests else o.test}, ordered "
                    f"{o.ordered_on.isoformat()}",
                    o.id,
                )
                for o in self.open_orders()
            ]
            self.order.value = ""
        self._prefill()

    def _prefill(self) -> None:
        """The chosen test's unit and range (for this patient's sex) as starting values."""
        if self._loading:
            return
        order = self._order()
        self.test.layout.display = "none" if order is not None else "flex"
        test = self.selected
        low, high = test.range_for(self.session.case.patient.sex)
        self.fields.load(
            {
                "collected_on": (
                    order.collected_on if order and order.collected_on else date.today()
                ),
                "value": "",
                "unit": test.unit,
                "ref_low": low,
                "ref_high": high,
            }
        )
        if test.kind == "qualitative":
            allowed = ", ".join((*test.normal_values, *test.abnormal_values))
            self.hint.value = f'<span style="color:#555">Type one of: {esc(allowed)}</span>'
        else:
            self.hint.value = (
                f'<span style="color:#555">A number in {esc(test.unit)}; the range '
                "is the catalog's default: use the reporting lab's.</span>"
            )

    def _collect(self) -> list[Change]:
        test, order = self.selected, self._order()

        def make(v: dict[str, Any]) -> TestResult:
            if not v["value"]:
                raise FieldErrors({"value": "a value is required"})
            if test.kind == "numeric":
                try:
                    number = float(v["value"].replace(",", "."))
                except ValueError:
                    raise FieldErrors({"value": f"{v['value']!r} is not a number"}) from None
                value, text = number, None
            else:
                value, text = None, v["value"]
            return TestResult(
                patient_id=self.session.patient_id,
                test=test.key,
                collected_on=v["collected_on"],
                value=value,
                value_text=text,
                unit=v["unit"],
                ref_low=v["ref_low"],
                ref_high=v["ref_high"],
                order_id=order.id if order else None,
            )

        result = self.fields.build(make, whole="ref_low")
        changes = [Change(result, None, test.name)]
        if order is not None:
            done = TestOrder.model_validate(
                {
                    **order.model_dump(),
                    "status": "resulted",
                    "collected_on": order.collected_on or result.collected_on,
                    "resulted_on": order.resulted_on or date.today(),
                }
            )
            changes.append(Change(done, order, f"order of {test.name}"))
        return changes


class ResultsView:
    """Every result, newest first, with its flag and whether it was reviewed; a button that
    marks the new ones reviewed (audited; they leave the clinic worklist); and one analyte's
    trend chart."""

    def __init__(self, session: CaseSession) -> None:
        self.session = session
        look = session.look
        self.table = look.make(W.HTML)
        self.review = look.make(
            W.Button,
            description="Mark reviewed",
            disabled=True,
            tooltip="Mark every result not yet reviewed as reviewed by you",
        )
        self.review_status = look.make(W.HTML)
        self.review.on_click(lambda _: self.mark_reviewed())
        self.analyte = look.make(
            W.Dropdown,
            description="Trend of",
            layout={"width": "470px"},
            style={"description_width": LABEL_WIDTH},
        )
        self.chart = ChartView(
            session, self._chart, lambda: (self.analyte.value, records_key(session.case.results))
        )
        self.analyte.observe(lambda _: self.chart.refresh(), "value")
        self.widget = look.column(
            [
                self.table,
                look.row([self.review, self.review_status]),
                self.analyte,
                self.chart.widget,
            ]
        )
        session.observe(self._on_event)
        self.refresh()

    def unreviewed(self) -> list[TestResult]:
        return [r for r in self.session.case.results if r.reviewed_at is None]

    def mark_reviewed(self) -> int:
        """Mark the results shown as new reviewed, in the store; how many were marked."""
        ids = [r.id for r in self.unreviewed()]
        try:
            done = self.session.store.mark_results_reviewed(self.session.patient_id, ids)
        except (NotFoundError, StoreError) as exc:  # deleted meanwhile: show why, reload
            self.session.reload()
            self.review_status.value = f'<span style="color:#b00020">{esc(exc)}</span>'
            return 0
        self.session.reload()
        plural = "" if len(done) == 1 else "s"
        self.review_status.value = (
            f'<span style="color:#555">{len(done)} result{plural} marked reviewed</span>'
        )
        return len(done)

    def _chart(self) -> object:
        from casebook.charts import analyte_chart

        return analyte_chart(self.session.case, self.session.catalog, self.analyte.value)

    def _on_event(self, event: Event) -> None:
        if event == "case":
            self.refresh()

    def refresh(self) -> None:
        tests = self.session.catalog.tests
        results = sorted(
            self.session.case.results, key=lambda r: (r.collected_on, r.test), reverse=True
        )
        rows = []
        for r in results:
            name = tests[r.test].name if r.test in tests else r.test
            value = shown(r.value) if r.value is not None else shown(r.value_text)
            reading = read_result(r, tests.get(r.test), self.session.case.patient.sex)
            word, colour = FLAG_WORDS[reading.flag] if reading.flag else ("", "")
            reviewed = (
                esc(f"{r.reviewed_at.astimezone():%Y-%m-%d} by {r.reviewed_by or '?'}")
                if r.reviewed_at is not None
                else badge("new", "#8a5a00")
            )
            rows.append(
                (
                    esc(r.collected_on),
                    esc(name),
                    esc(f"{value} {r.unit}".strip()),
                    esc(range_text(reading.low, reading.high)),
                    badge(word, colour) if word else "",
                    reviewed,
                )
            )
        new = len(self.unreviewed())
        self.review.disabled = new == 0
        self.review.description = f"Mark reviewed ({new})" if new else "Mark reviewed"
        self.table.value = (
            table(
                ("collected", "test", "value", "reference range", "flag", "reviewed"),
                rows,
                escaped=True,
            )
            if rows
            else '<span style="color:#555">No results yet.</span>'
        )
        numeric = sorted(
            {r.test for r in results if r.value is not None and r.test in tests},
            key=lambda k: tests[k].name,
        )
        options = [(tests[k].name, k) for k in numeric]
        if list(self.analyte.options) != options:
            keep = self.analyte.value if self.analyte.value in numeric else None
            self.analyte.options = options
            self.analyte.value = keep or (numeric[0] if numeric else None)
        if numeric:
            self.chart.refresh()
        else:
            self.chart.widget.value = ""
