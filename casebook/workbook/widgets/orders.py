"""Ordering tests: the catalog grouped by blood, urine, stool and breath, each test's
evidence label, note and source shown BEFORE it is ordered (a not-recommended test needs an
explicit confirmation), and the status of open orders (ordered, collected, resulted,
cancelled)."""

from __future__ import annotations

from datetime import date
from typing import Any

import ipywidgets as W

from casebook.catalog import LabTest
from casebook.models import TestOrder
from casebook.workbook.widgets._base import Change, SaveBar
from casebook.workbook.widgets._fields import (
    LABEL_WIDTH,
    Field,
    FieldErrors,
    Fields,
    Look,
    field_for,
)
from casebook.workbook.widgets._html import FORM_CLASS, esc, evidence_badge, notice
from casebook.workbook.widgets.session import CaseSession, Event

__all__ = ["GROUPS", "OrderForm", "OrderStatusForm", "evidence_html"]

GROUPS = ("blood", "urine", "stool", "breath")


def evidence_html(test: LabTest) -> str:
    """What a practitioner reads before ordering: evidence label, note, source."""
    unit = f" · unit {esc(test.unit)}" if test.unit else ""
    body = (
        f"<b>{esc(test.name)}</b> ({esc(test.group)}{unit}) {evidence_badge(test.evidence)}"
        f"<br>{esc(test.evidence_note)}"
        f'<br><span style="color:#555;font-size:0.9em">Source: {esc(test.source)}</span>'
        f'<br><span style="color:#555;font-size:0.9em">For the patient: '
        f"{esc(test.patient_note)}</span>"
    )
    kind = {"not-recommended": "error", "research-only": "warning"}.get(test.evidence, "info")
    if test.evidence == "not-recommended":
        body = (
            "<b>⚠ Not recommended.</b> This test is not recommended by the sources below; "
            "ordering it needs your explicit confirmation.<br>" + body
        )
    return notice(kind, body)


class OrderForm:
    """Pick a test from the catalog (by group), read its evidence, order it."""

    def __init__(self, session: CaseSession) -> None:
        self.session = session
        self.tests = session.catalog.tests
        look = session.look
        label = {"description_width": LABEL_WIDTH}
        self.group = look.make(
            W.ToggleButtons,
            description="Group",
            value="blood",
            options=[(g.capitalize(), g) for g in GROUPS],
            style=label | {"button_width": "90px"},
            layout={"width": "auto"},
        )
        self.test = look.make(
            W.Dropdown, description="Test", style=label, layout={"width": "570px"}
        )
        self.evidence = look.make(W.HTML)
        confirm = look.make(
            W.Checkbox,
            description="I have read why this test is not recommended",
            indent=False,
            layout={"width": "420px"},
        )
        self.fields = Fields(
            field_for(TestOrder, "ordered_on", look, label="Order date"),
            field_for(TestOrder, "reason", look, label="Reason", width="570px"),
            Field("confirm", "Confirm", confirm, lambda v: v, lambda v: bool(v), look),
        )
        self.fields["confirm"].row.layout = W.Layout(align_items="center")  # its own: hidden
        self.bar = SaveBar(
            session,
            "Test order",
            collect=self._collect,
            reset=self._reset,
            fields=self.fields,
            save_label="Order test",
        )
        self.fields.on_change(self.bar.mark_dirty)
        self.group.observe(lambda _: self._choices(), "value")
        self.test.observe(lambda _: self._show_test(), "value")
        self.widget = look.column(
            [self.group, self.test, self.evidence, *self.fields.rows, self.bar.widget]
        )
        self.widget.add_class(FORM_CLASS)
        session.observe(self._on_event)
        self._choices()
        self._reset()

    @property
    def selected(self) -> LabTest:
        return self.tests[self.test.value]

    def choose(self, key: str) -> None:
        """Select a test by catalog key (switching to its group)."""
        test = self.tests[key]
        self.group.value = test.group
        self.test.value = key

    def _choices(self) -> None:
        group = self.group.value
        options = [
            (f"{t.name} — {t.evidence}", t.key) for t in self.tests.values() if t.group == group
        ]
        self.test.options = options
        self.test.value = options[0][1] if options else None
        self._show_test()

    def _show_test(self) -> None:
        if self.test.value is None:
            self.evidence.value = ""
            return
        test = self.selected
        self.evidence.value = evidence_html(test)
        self.fields["confirm"].row.layout.display = (
            "flex" if test.evidence == "not-recommended" else "none"
        )
        self.fields.load({"confirm": False})

    def _on_event(self, event: Event) -> None:
        if event in ("case", "visit") and not self.bar.dirty:
            self._reset()

    def _reset(self) -> None:
        visit = self.session.visit
        self.fields.load(
            {
                "ordered_on": visit.visit_date if visit else date.today(),
                "reason": "",
                "confirm": False,
            }
        )

    def _collect(self) -> list[Change]:
        test = self.selected
        values = self.fields.values()
        if test.evidence == "not-recommended" and not values["confirm"]:
            message = "tick to confirm you have read why this test is not recommended"
            self.fields.show({"confirm": message})
            raise FieldErrors({"confirm": message})
        order = self.fields.build(
            lambda v: TestOrder(
                patient_id=self.session.patient_id,
                test=test.key,
                ordered_on=v["ordered_on"],
                reason=v["reason"],
                visit_id=self.session.visit_id,
            )
        )
        return [Change(order, None, test.name)]


class _OrderRow:
    def __init__(self, order: TestOrder, name: str, look: Look, on_change: Any) -> None:
        self.order = order
        self.fields = Fields(
            field_for(TestOrder, "status", look, label="Status", width="290px"),
            field_for(TestOrder, "collected_on", look, label="Collected on"),
        )
        self.fields.load({"status": order.status, "collected_on": order.collected_on})
        self.fields.on_change(on_change)
        reason = f" — {esc(order.reason)}" if order.reason else ""
        head = look.make(
            W.HTML, value=f"<b>{esc(name)}</b>, ordered {order.ordered_on.isoformat()}{reason}"
        )
        self.widget = look.column([head, look.row([f.row for f in self.fields])])


class OrderStatusForm:
    """Open orders (ordered or collected): change their status; one Save for all."""

    def __init__(self, session: CaseSession) -> None:
        self.session = session
        self.rows: list[_OrderRow] = []
        self.list = session.look.column([])
        self.bar = SaveBar(
            session,
            "Order status",
            collect=self._collect,
            reset=self._reset,
            save_label="Save status",
        )
        self.widget = session.look.column([self.list, self.bar.widget])
        session.observe(self._on_event)
        self._reset()

    def _on_event(self, event: Event) -> None:
        if event == "case" and not self.bar.dirty:
            self._reset()

    def _reset(self) -> None:
        tests = self.session.catalog.tests
        open_orders = sorted(
            (o for o in self.session.case.orders if o.status in ("ordered", "collected")),
            key=lambda o: (o.ordered_on, o.id),
        )
        look = self.session.look
        self.rows = [
            _OrderRow(
                o, tests[o.test].name if o.test in tests else o.test, look, self.bar.mark_dirty
            )
            for o in open_orders
        ]
        self.list.children = [r.widget for r in self.rows] or [
            look.make(W.HTML, value='<span style="color:#555">No open orders.</span>')
        ]
        self.bar.save_button.disabled = not self.rows

    def _collect(self) -> list[Change]:
        changes, failed = [], {}
        for row in self.rows:
            base = row.order

            def make(v: dict[str, Any], base: TestOrder = base) -> TestOrder:
                resulted = base.resulted_on or (date.today() if v["status"] == "resulted" else None)
                return TestOrder.model_validate({**base.model_dump(), **v, "resulted_on": resulted})

            try:
                draft = row.fields.build(make, whole="collected_on")
            except FieldErrors as exc:
                failed.update(exc.errors)
                continue
            if draft != base:
                changes.append(Change(draft, base, self.session.catalog.tests[base.test].name))
        if failed:
            raise FieldErrors(failed)
        return changes
