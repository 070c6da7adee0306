"""Instrument forms of one visit: PHQ-9, GAD-7, PSS-10, FAS, Bristol and any instrument a
clinic adds to the catalog. Scored as the practitioner answers, with the band shown; an
alert answer (PHQ-9 item 9 above 0) raises its red flag at once, before saving."""

from __future__ import annotations

from collections.abc import Iterable

import ipywidgets as W

from casebook.catalog import Instrument
from casebook.clinical.scoring import band_for, instrument_alerts, score_instrument
from casebook.format import range_text
from casebook.models import InstrumentResponse
from casebook.workbook.widgets._base import Change, SaveBar
from casebook.workbook.widgets._fields import Look, Quiet
from casebook.workbook.widgets._html import badge, esc, notice
from casebook.workbook.widgets._views import ChartView, VisitPin, records_key
from casebook.workbook.widgets.session import CaseSession

__all__ = ["InstrumentPanel", "InstrumentsForm", "instrument_order"]

_SHIPPED_ORDER = ("phq9", "gad7", "pss10", "fas", "bristol")


def instrument_order(instruments: Iterable[str]) -> list[str]:
    """Shipped instruments in clinical order, then the clinic's by name."""
    keys = list(instruments)
    return [k for k in _SHIPPED_ORDER if k in keys] + sorted(
        k for k in keys if k not in _SHIPPED_ORDER
    )


class InstrumentPanel:
    """The items of one instrument, its live score and band, and its alerts."""

    def __init__(self, instrument: Instrument, look: Look) -> None:
        self.instrument = instrument
        options = [("—", "")] + [
            (f"{o.value} · {o.label}", o.value)  # "": not answered
            for o in instrument.options
        ]
        self.answers = {
            item.id: look.make(W.Dropdown, options=options, value="", layout={"width": "330px"})
            for item in instrument.items
        }
        grid: list[W.Widget] = []
        for item in instrument.items:
            grid += [
                look.make(W.HTML, value=f"{esc(item.id)}. {esc(item.text)}"),
                self.answers[item.id],
            ]
        items = look.make(
            W.GridBox,
            children=grid,
            layout={"grid_template_columns": "minmax(200px, 420px) 330px", "align_items": "center"},
        )
        self.score = look.make(W.HTML)
        self.alert = look.make(W.HTML)
        about = (
            f'<div style="color:#555">{esc(instrument.period)}</div>' if instrument.period else ""
        )
        source = (
            f'<div style="color:#777;font-size:0.85em">Source: {esc(instrument.source)}'
            f"<br>Licence: {esc(instrument.licence)}</div>"
        )
        self.widget = look.column(
            [
                self.alert,
                look.make(W.HTML, value=about),
                items,
                self.score,
                look.make(W.HTML, value=source),
            ]
        )

    def values(self) -> dict[str, int]:
        return {i: w.value for i, w in self.answers.items() if w.value != ""}

    def show(self, response: InstrumentResponse | None) -> None:
        answers = response.answers if response is not None else {}
        for item_id, widget in self.answers.items():
            widget.value = answers.get(item_id, "")
        self.update()

    def title(self) -> str:
        values = self.values()
        if len(values) == len(self.answers):
            score = score_instrument(self.instrument, values)
            return f"{self.instrument.short_name}: {score.total} {score.band}"
        return f"{self.instrument.short_name}: {len(values)}/{len(self.answers)}"

    def update(self) -> None:
        """Score and alerts of the answers as they stand (saved or not)."""
        inst, values = self.instrument, self.values()
        lo, hi = inst.total_range
        if len(values) == len(self.answers):
            score = score_instrument(inst, values)
            band = band_for(inst, score.total)
            # The band's bounds, not its patient text ("Your answers show ..."): that is
            # written to the patient, for their dashboard and letters.
            self.score.value = (
                f"<b>Score {score.total}</b> (range {range_text(lo, hi)}) · band "
                f'{badge(score.band, "#1f5f99")} <span style="color:#555">'
                f"scores {esc(range_text(band.min, band.max))}</span>"
            )
        else:
            self.score.value = (
                f'<span style="color:#555">{len(values)} of {len(self.answers)} '
                "answered: scored when every item is answered.</span>"
            )
        fired = instrument_alerts(inst, values)
        self.alert.value = (
            notice(
                "error",
                "<b>⚠ Alert:</b> "
                + esc("; ".join(fired))
                + " See the red flags at the top of the workbook.",
            )
            if fired
            else ""
        )


class InstrumentsForm:
    """Every catalog instrument for the selected visit, one tab each; one Save for all."""

    def __init__(self, session: CaseSession) -> None:
        self.session = session
        cat = session.catalog
        look = session.look
        self.panels = {
            k: InstrumentPanel(cat.instruments[k], look) for k in instrument_order(cat.instruments)
        }
        self.bar = SaveBar(
            session,
            "Instruments",
            collect=self._collect,
            reset=self._reset,
            save_label="Save answers",
        )
        self.pin = VisitPin(session, self.bar, "Instruments")
        self._loading = Quiet()
        for panel in self.panels.values():
            for widget in panel.answers.values():
                widget.observe(self._changed, "value")
        self.tabs = look.make(W.Tab, children=[p.widget for p in self.panels.values()])
        self.chart = ChartView(
            session,
            self._chart,
            lambda: (
                self.selected,
                records_key(session.case.visits),
                records_key(session.case.instruments),
            ),
        )
        self.tabs.observe(lambda _: self.chart.refresh(), "selected_index")
        self.widget = look.column(
            [
                self.pin.heading,
                look.make(
                    W.HBox,
                    children=[self.tabs, self.chart.widget],
                    layout={"flex_flow": "row wrap", "align_items": "flex-start"},
                ),
                self.bar.widget,
            ]
        )
        session.observe(lambda event: self.pin.on_event(event, self._reset, self.chart))
        self._reset()

    @property
    def selected(self) -> str:
        return list(self.panels)[self.tabs.selected_index or 0]

    def _chart(self) -> object:
        from casebook.charts import instrument_chart

        return instrument_chart(self.session.case, self.session.catalog, self.selected, width=420)

    def responses(self) -> dict[str, InstrumentResponse]:
        """The saved responses of the visit shown, by instrument."""
        vid = self.pin.visit_id
        return {r.instrument: r for r in self.session.case.instruments if r.visit_id == vid}

    def _changed(self, _: object) -> None:
        if self._loading:
            return
        for panel in self.panels.values():
            panel.update()
        self._titles()
        self.bar.mark_dirty()
        alerting = {k for k, p in self.panels.items() if p.instrument.alerts}
        drafts = [
            c.draft
            for c in self._drafts()
            if not c.delete
            and isinstance(c.draft, InstrumentResponse)
            and c.draft.instrument in alerting
        ]
        self.session.set_pending("Instruments", drafts)

    def _titles(self) -> None:
        self.tabs.titles = tuple(p.title() for p in self.panels.values())

    def _reset(self) -> None:
        self.pin.follow()
        saved = self.responses()
        with self._loading:
            for key, panel in self.panels.items():
                panel.show(saved.get(key))
        self._titles()
        self.session.set_pending("Instruments", [])
        self.chart.refresh()

    def _drafts(self) -> list[Change]:
        saved = self.responses()
        changes = []
        for key, panel in self.panels.items():
            answers, base = panel.values(), saved.get(key)
            label = panel.instrument.short_name
            if base is None and answers:
                changes.append(
                    Change(
                        InstrumentResponse(
                            patient_id=self.session.patient_id,
                            visit_id=self.pin.visit_id,
                            instrument=key,
                            answers=answers,
                        ),
                        None,
                        label,
                    )
                )
            elif base is not None and not answers:
                changes.append(Change(base, base, label, delete=True))
            elif base is not None and answers != base.answers:
                changes.append(Change(base.model_copy(update={"answers": answers}), base, label))
        return changes

    def _collect(self) -> list[Change]:
        return self._drafts()
