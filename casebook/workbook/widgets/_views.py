"""Pieces the forms share: which visit a form shows, a chart that is drawn again only when
the records it draws have changed, and a fold that keeps an editor out of the page until
it is asked for."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any

import ipywidgets as W

from casebook.models import Record, Visit
from casebook.workbook.widgets._base import SaveBar
from casebook.workbook.widgets._fields import Look
from casebook.workbook.widgets._html import esc, notice
from casebook.workbook.widgets.session import CaseSession, Event

__all__ = ["ChartView", "Fold", "VisitPin", "read_only_notice", "records_key"]


def read_only_notice(session: CaseSession) -> W.HTML | None:
    """The notice a read-only workbook (a reviewer's) shows at the top, or None."""
    if not session.read_only:
        return None
    return session.look.make(W.HTML, value=notice("info", esc(session.read_only)))


def records_key(records: Iterable[Record]) -> tuple[tuple[str, int], ...]:
    """What changes whenever any of `records` is added, edited or deleted."""
    return tuple((r.id, r.version) for r in records)


class Fold:
    """Widgets that stay out of the page until asked for: the box holds none of them (so the
    browser draws none of their views) until `open()`. With `label`, a button of that name
    stands in their place and opens them; without, the form opens it (its New and Edit)."""

    def __init__(self, look: Look, children: Sequence[W.Widget], label: str = "") -> None:
        self._children = tuple(children)
        self.button: W.Button | None = None
        self.widget = look.column([])
        self.widget.add_class("casebook-fold")
        if label:
            self.button = look.make(
                W.Button, description=label, icon="plus", layout={"width": "auto"}
            )
            self.button.on_click(lambda _: self.open())
            self.widget.children = (look.row([self.button]),)  # a row: not stretched

    @property
    def is_open(self) -> bool:
        return bool(self.widget.children == self._children)

    def open(self) -> None:
        if not self.is_open:
            self.widget.children = self._children

    def open_if(self, opened: bool) -> bool:
        """Open when a form's New or Edit went ahead (`opened`); returns `opened`."""
        if opened:
            self.open()
        return opened


class ChartView:
    """An HTML widget holding one chart as static SVG (casebook.charts), drawn again only
    when `key()` changes. A chart that cannot be drawn shows its error in its place."""

    def __init__(
        self, session: CaseSession, build: Callable[[], Any], key: Callable[[], Hashable]
    ) -> None:
        self._build, self._key = build, key
        self._drawn: Hashable = object()
        self.widget = session.look.make(W.HTML, layout={"min_width": "300px"})
        self.widget.add_class("casebook-chart-widget")

    def refresh(self, *, force: bool = False) -> None:
        from casebook.charts import ChartError, update_chart_widget

        key = self._key()
        if key == self._drawn and not force:
            return
        try:
            # Built and turned into a spec without validating each object again: the
            # builders' specs are validated by their own tests (casebook.charts.built_quietly).
            update_chart_widget(self.widget, self._build())
        except (ChartError, KeyError) as exc:
            self.widget.value = notice("error", f"This chart could not be drawn: {esc(exc)}")
        self._drawn = key


class VisitPin:
    """The visit a per-visit form shows. It follows the session's selected visit, except
    while the form holds unsaved edits: those stay with their visit until saved or
    discarded, and the form says so."""

    def __init__(self, session: CaseSession, bar: SaveBar, what: str) -> None:
        self.session, self.bar, self.what = session, bar, what
        self.visit_id: str | None = session.visit_id
        self.heading = session.look.make(W.HTML)

    @property
    def visit(self) -> Visit | None:
        found = self.session.find(Visit, self.visit_id) if self.visit_id else None
        return found if isinstance(found, Visit) else None

    def follow(self) -> bool:
        """Take the selected visit unless edits are pending; True if the visit changed."""
        if self.bar.dirty and self.visit is not None:
            self.show()
            return False
        changed = self.visit_id != self.session.visit_id
        self.visit_id = self.session.visit_id
        self.show()
        return changed

    def on_event(self, event: Event, reset: Callable[[], None], chart: ChartView) -> None:
        """What a per-visit form does when the case is reloaded or another visit chosen."""
        if event == "case":
            chart.refresh()
        if event in ("case", "visit") and not self.bar.dirty:
            reset()
        elif event == "visit":
            self.follow()

    def show(self) -> None:
        visit = self.visit
        self.bar.save_button.disabled = visit is None
        if visit is None:
            self.heading.value = notice("info", "No visit yet: start one in the Visits section.")
            return
        text = (
            f"<b>{esc(self.what)} at the visit of {visit.visit_date.isoformat()} "
            f"({esc(visit.kind)})</b>"
        )
        if visit.id != self.session.visit_id and self.session.visit is not None:
            text += notice(
                "warning",
                f"Still showing this visit because of unsaved changes; "
                f"save or discard them to follow the selected visit "
                f"({self.session.visit.visit_date.isoformat()}).",
            )
        self.heading.value = text
