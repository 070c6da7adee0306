"""The plan: items from the protocol templates (their evidence and source shown before use)
or from scratch, in each category; dose, frequency, dates, patient instructions and
rationale; start, stop and edit. A timeline chart shows the whole plan.

Beside the editor: the template's cautions that match the patient (each needs a reason to
go ahead, stored on the item and audited with it; the store refuses the save without one),
and a warning when a gut protocol would start while an urgent red flag is open and no
referral is in the plan."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import ipywidgets as W

from casebook.catalog import ProtocolTemplate
from casebook.clinical.cautions import CautionMatch, active_cautions, protocol_warning
from casebook.clinical.substances import parse_substances
from casebook.models import PLAN_CATEGORIES, CautionConfirmation, PlanItem
from casebook.workbook.widgets._base import Change, OneRecord, SaveBar
from casebook.workbook.widgets._fields import LABEL_WIDTH, Fields, defaults, field_for
from casebook.workbook.widgets._html import badge, esc, evidence_badge, notice, pretty, shown
from casebook.workbook.widgets._views import ChartView, Fold, records_key
from casebook.workbook.widgets.confirm import CautionConfirmations, cautions_html
from casebook.workbook.widgets.session import CaseSession

__all__ = ["EDITABLE", "PlanForm", "cautions_html", "template_html"]

EDITABLE = (
    "category",
    "name",
    "patient_name",
    "dose",
    "frequency",
    "start",
    "end",
    "instructions",
    "rationale",
    "status",
    "no_substance_reason",
)
_STATUS_COLOURS = {
    "proposed": "#666",
    "active": "#1b6e3a",
    "stopped": "#b00020",
    "completed": "#1f5f99",
}


def template_html(template: ProtocolTemplate) -> str:
    """A protocol template's evidence label, rationale and source, read before it is used."""
    kind = {"not-recommended": "error", "research-only": "warning"}.get(template.evidence, "info")
    return notice(
        kind,
        (
            f"<b>{esc(template.name)}</b> {evidence_badge(template.evidence)}<br>"
            f"{esc(template.rationale)}<br>"
            f'<span style="color:#555;font-size:0.9em">Source: {esc(template.source)} · '
            "an editable default, not advice</span>"
        ),
    )


def _summary(item: PlanItem) -> str:
    dosing = ", ".join(x for x in (item.dose, item.frequency) if x)
    span = f"{shown(item.start)} → {item.end.isoformat() if item.end else 'ongoing'}"
    return (
        f"<b>{esc(item.name)}</b>"
        + (f" — {esc(dosing)}" if dosing else "")
        + f" · {esc(span)} "
        + badge(item.status, _STATUS_COLOURS[item.status])
    )


class PlanForm:
    """Plan items by category with Start/Stop/Edit, an editor, and the timeline."""

    def __init__(self, session: CaseSession) -> None:
        self.session = session
        self._template: ProtocolTemplate | None = None
        self._loading = False
        look = session.look
        label = {"description_width": LABEL_WIDTH}
        self.listing = look.make(W.HTML)
        self.item = look.make(
            W.Dropdown, description="Plan item", style=label, layout={"width": "570px"}
        )
        self.item.observe(lambda _: self._item_buttons(), "value")
        self.edit_button, self.start_button, self.stop_button = (
            look.make(W.Button, description=d, icon=i, layout={"width": "auto"})
            for d, i in (("Edit", "pencil"), ("Start", "play"), ("Stop", "stop"))
        )
        self.edit_button.on_click(lambda _: self._on_chosen(self.edit))
        self.start_button.on_click(lambda _: self._on_chosen(self.start))
        self.stop_button.on_click(lambda _: self._on_chosen(self.stop))
        self.actions = SaveBar(
            session, "Plan list", collect=list, reset=self._show_list, buttons=False
        )
        self.fields = Fields(*(field_for(PlanItem, n, look, width="570px") for n in EDITABLE))
        self.template = look.make(
            W.Dropdown, description="Protocol template", style=label, layout={"width": "570px"}
        )
        self.template_info = look.make(W.HTML)
        self.use_template = look.make(
            W.Button, description="Use this template", icon="copy", layout={"width": "auto"}
        )
        self.new_button = look.make(
            W.Button, description="New plan item", icon="plus", layout={"width": "auto"}
        )
        self.title = look.make(W.HTML)
        self.cautions_info = look.make(W.HTML)
        self.flag_warning = look.make(W.HTML)
        self.confirm = CautionConfirmations(look, lambda: self.bar.mark_dirty())
        self.substances = look.make(
            W.Text,
            description="Contains",
            placeholder="Substances, comma-separated (e.g. berberine, licorice root)",
            style=label,
            layout={"width": "570px"},
        )
        self.substances_info = look.make(W.HTML)
        self.substances.observe(lambda _: self._substances_changed(), "value")
        self.bar = SaveBar(
            session,
            "Plan",
            collect=self._collect,
            reset=lambda: self.one.reset(),
            fields=self.fields,
            save_label="Save plan item",
        )
        self.one = OneRecord(session, self.bar, PlanItem, self._open, "plan item")
        self.fields.on_change(self.bar.mark_dirty)
        self.fields.on_change(self._show_cautions)
        self.fields["category"].widget.observe(lambda _: self._templates(), "value")
        self.template.observe(lambda _: self._show_template(), "value")
        self.use_template.on_click(lambda _: self.apply_template())
        self.new_button.on_click(lambda _: self.new())
        self.chart = ChartView(session, self._chart, lambda: records_key(session.case.plan))
        self.fold = Fold(
            look,
            [
                self.title,
                self.fields["category"].row,
                look.row([self.template, self.use_template]),
                self.template_info,
                *(self.fields[n].row for n in EDITABLE[1:]),
                self.substances,
                self.substances_info,
                self.flag_warning,
                self.cautions_info,
                self.confirm.widget,
                self.bar.widget,
            ],
        )
        self.widget = look.column(
            [
                self.listing,
                look.row([self.item, self.edit_button, self.start_button, self.stop_button]),
                self.actions.widget,
                self.chart.widget,
                look.row([self.new_button]),
                self.fold.widget,
            ]
        )
        self.one.watch(self._show_list)
        self.one.show(None)

    def _chart(self) -> object:
        from casebook.charts import plan_timeline

        return plan_timeline(self.session.case, self.session.catalog)

    # --- listing and quick actions ------------------------------------------------------
    def _show_list(self) -> None:
        parts, options = [], []
        for category in PLAN_CATEGORIES:
            items = sorted(
                (i for i in self.session.case.plan if i.category == category),
                key=lambda i: (i.start is None, i.start or date.min, i.name),
            )
            if items:
                rows = "".join(f"<li>{_summary(i)}</li>" for i in items)
                parts.append(
                    f"<b>{esc(pretty(category).capitalize())}</b>"
                    f'<ul style="margin:0 0 4px 0">{rows}</ul>'
                )
                options += [(f"{i.name} ({i.status})", i.id) for i in items]
        self.listing.value = "".join(parts) or '<span style="color:#555">No plan items yet.</span>'
        keep = self.item.value if self.item.value in {v for _, v in options} else None
        self.item.options = options
        self.item.value = keep if keep is not None else (options[0][1] if options else None)
        self._item_buttons()
        self.chart.refresh()

    def _chosen_item(self) -> PlanItem | None:
        found = self.session.find(PlanItem, self.item.value) if self.item.value else None
        return found if isinstance(found, PlanItem) else None

    def _item_buttons(self) -> None:
        item = self._chosen_item()
        self.edit_button.disabled = item is None
        self.start_button.disabled = item is None or item.status not in ("proposed", "stopped")
        self.stop_button.disabled = item is None or item.status != "active"

    def _on_chosen(self, action: Any) -> None:
        item = self._chosen_item()
        if item is not None:
            action(item)

    def start(self, item: PlanItem, on: date | None = None) -> bool:
        """Make an item active (from `on`, default today, unless it already has a start)."""
        day = on or date.today()
        update: dict[str, Any] = {"status": "active", "start": item.start or day}
        if item.end is not None and item.end < update["start"]:
            update["end"] = None
        return self._quick(item, update)

    def stop(self, item: PlanItem, on: date | None = None) -> bool:
        """Stop an active item (its end becomes `on`, default today)."""
        day = max(on or date.today(), item.start or date.min)
        return self._quick(item, {"status": "stopped", "end": day})

    def _quick(self, item: PlanItem, update: dict[str, Any]) -> bool:
        draft = PlanItem.model_validate({**item.model_dump(), **update})
        return self.actions.commit([Change(draft, item, item.name)])

    # --- editor -----------------------------------------------------------------------
    def new(self) -> bool:
        return self.fold.open_if(self.one.open(None))

    def edit(self, item: PlanItem) -> bool:
        return self.fold.open_if(self.one.open(item))

    def _open(self, item: PlanItem | None) -> None:
        self._template = None
        values = (
            defaults(PlanItem, EDITABLE) | {"category": PLAN_CATEGORIES[0]}
            if item is None
            else item.model_dump(include=set(EDITABLE))
        )
        self.fields.load(values)
        self.title.value = (
            "<b>New plan item</b>: choose a category, then a template or fill the fields yourself"
            if item is None
            else f"<b>Editing:</b> {esc(item.name)}"
        )
        self.confirm.clear()
        self._loading = True
        self.substances.value = ", ".join(item.substances) if item is not None else ""
        self._loading = False
        self._templates()
        self._show_cautions()

    def _templates(self) -> None:
        category = self.fields["category"].peek()
        found = self.session.catalog.protocols_for(category) if category else ()
        self.template.options = [("(from scratch)", "")] + [
            (f"{t.name} — {t.evidence}", t.key) for t in found
        ]
        self._show_template()

    def _chosen(self) -> ProtocolTemplate | None:
        key = self.template.value
        return next((t for t in self.session.catalog.protocols if t.key == key), None)

    def _show_template(self) -> None:
        chosen = self._chosen()
        self.template_info.value = template_html(chosen) if chosen else ""
        self.use_template.disabled = chosen is None

    def apply_template(self) -> None:
        """Fill the editor from the chosen template (the practitioner then edits it)."""
        chosen = self._chosen()
        if chosen is None:
            return
        # Today, unless the practitioner already picked a start (not the visit's date: a
        # plan begun from an old visit would start in the past).
        start = self.fields["start"].peek() or date.today()
        end = start + timedelta(days=chosen.duration_days) if chosen.duration_days else None
        self.fields.load(
            {
                "category": chosen.category,
                "name": chosen.name,
                "patient_name": chosen.patient_name,
                "dose": chosen.dose,
                "frequency": chosen.frequency,
                "start": start,
                "end": end,
                "instructions": chosen.instructions,
                "rationale": chosen.rationale,
                "status": "proposed",
            }
        )
        self.template.value = chosen.key
        self._template = chosen
        self.bar.mark_dirty()
        self._show_cautions()

    # --- cautions and red-flag warning -------------------------------------------------
    def matches(self) -> list[CautionMatch]:
        """The cautions of the item being edited (its template's and its substances', the
        typed name matched against the substance catalog) that match the patient."""
        base = self.one.record
        tpl = self._template
        if tpl is None and base is not None and base.template is not None:
            tpl = next((t for t in self.session.catalog.protocols if t.key == base.template), None)
        values: dict[str, Any] = {
            "patient_id": self.session.patient_id,
            "id": base.id if base is not None else "",
            "category": self.fields["category"].peek() or PLAN_CATEGORIES[0],
            "name": self.fields["name"].peek() or "",
            "status": "proposed",
            "template": tpl.key if tpl is not None else None,
            "substances": self._substance_keys()[0],
            "caution_confirmations": list(base.caution_confirmations) if base else [],
        }
        draft = PlanItem.model_construct(**values)
        return active_cautions(self.session.case, self.session.catalog, draft)

    def _substance_keys(self) -> tuple[list[str], list[str]]:
        return parse_substances(self.substances.value, self.session.catalog)

    def _substances_changed(self) -> None:
        unknown = self._substance_keys()[1]
        self.substances_info.value = (
            notice("warning", "Not in the substance catalog: " + esc(", ".join(unknown)))
            if unknown
            else ""
        )
        if not self._loading:
            self.bar.mark_dirty()
        self._show_cautions()

    def _show_cautions(self) -> None:
        matches = self.matches()
        self.cautions_info.value = cautions_html(matches)
        self.confirm.show(matches)
        category = self.fields["category"].peek()
        warning = (
            protocol_warning(self.session.case, self.session.catalog, category or None)
            if category
            else None
        )
        self.flag_warning.value = notice("error", esc(warning)) if warning else ""

    def _confirmations(self, keep: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
        """The item's confirmations, each open caution's typed one replacing an older one of
        the same key (the store refuses the save while any caution is open)."""
        typed = self.confirm.confirmations(self.session.store.actor, date.today())
        redo = {c.key for c in typed}
        confirmed = [
            CautionConfirmation.model_validate(c)
            for c in keep.get("caution_confirmations", [])
            if c["key"] not in redo
        ]
        return {"caution_confirmations": confirmed + typed}

    def _collect(self) -> list[Change]:
        base, tpl = self.one.record, self._template

        def make(values: dict[str, Any]) -> PlanItem:
            keep = (
                base.model_dump(exclude=set(EDITABLE))
                if base is not None
                else {"patient_id": self.session.patient_id}
            )
            if tpl is not None:
                keep |= {"template": tpl.key, "source": tpl.source}
            listed = {"substances": self._substance_keys()[0]}
            return PlanItem.model_validate(
                keep | values | listed | self._confirmations(keep, values)
            )

        item = self.fields.build(make, whole="end")
        if item == base:
            return []
        return [Change(item, base, item.name)]
