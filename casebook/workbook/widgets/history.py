"""The history form: every history category of the record, with add, edit and delete.

Entries are listed by category (medications by class, with their dates); one editor below
edits a single entry at a time, its fields made from the category's model.
"""

from __future__ import annotations

import typing
from typing import Any

import ipywidgets as W
from pydantic import BaseModel

from casebook.catalog import Catalog
from casebook.clinical.cautions import items_for_review
from casebook.models import Case, HistoryEntry
from casebook.workbook.widgets._base import Change, OneRecord, SaveBar
from casebook.workbook.widgets._fields import LABEL_WIDTH, Fields, defaults, field_for
from casebook.workbook.widgets._html import esc, notice, pretty, shown
from casebook.workbook.widgets._views import Fold
from casebook.workbook.widgets.session import CaseSession

__all__ = ["CATEGORY_TITLES", "HISTORY_MODELS", "HistoryForm", "entry_summary", "review_html"]

HISTORY_MODELS: dict[str, type[BaseModel]] = {
    typing.get_args(m.model_fields["category"].annotation)[0]: m
    for m in typing.get_args(HistoryEntry.model_fields["data"].annotation)
}
CATEGORY_TITLES = {
    "infection": "Infections",
    "inflammatory_condition": "Inflammatory conditions",
    "medication": "Medications",
    "safety": "Safety facts (checked before a supplement or diet)",
    "diet": "Diet pattern",
    "stress": "Stress",
    "environmental_exposure": "Environmental exposures",
    "food_sensitivity": "Food sensitivities and allergies",
    "allergy": "Allergies to medicines and supplements",
    "family_history": "Family history",
}


def _data_fields(category: str) -> list[str]:
    return [n for n in HISTORY_MODELS[category].model_fields if n != "category"]


def entry_summary(entry: HistoryEntry) -> str:
    """One line of plain text: the entry's recorded values in model order."""
    data = entry.data.model_dump()
    parts = [
        f"{pretty(k)}: {shown(pretty(v) if isinstance(v, str) else v)}"
        for k, v in data.items()
        if k != "category" and v not in (None, "")
    ]
    if entry.notes:
        parts.append(f"notes: {entry.notes}")
    return " · ".join(parts) or "(empty)"


def review_html(case: Case, catalog: Catalog) -> str:
    """Which plan items a saved safety fact, medicine, allergy or birth date put up for
    review: the entry is saved (the record stays true), the item is listed on the worklist
    until each caution is confirmed or the item stopped."""
    found = items_for_review(case, catalog)
    if not found:
        return ""
    rows = "".join(
        f"<li><b>{esc(item.name)}</b> ({esc(item.status)}): "
        + "; ".join(
            f"{esc(m.caution.kind)} {esc(m.key)} ({esc(', '.join(m.reasons))})" for m in missing
        )
        + "</li>"
        for item, missing in found
    )
    return notice(
        "error",
        "<b>Saved, and listed for review:</b> a caution now applies to a plan item in force. "
        "Confirm each caution in the plan (its own reason; who advised, for a "
        f'contraindication) or stop the item.<ul style="margin:2px 0">{rows}</ul>',
    )


def _sort_key(entry: HistoryEntry) -> tuple[Any, ...]:
    data = entry.data
    when = getattr(data, "start", None) or getattr(data, "onset", None)
    return (getattr(data, "drug_class", ""), when is None, when or 0, entry.id)


class HistoryForm:
    """Lists every category's entries; edits one entry at a time."""

    def __init__(self, session: CaseSession) -> None:
        self.session = session
        self.category = "medication"
        self._editors: dict[str, Fields] = {}
        look = session.look
        self.listing = look.make(W.HTML)
        self.review = look.make(W.HTML)
        self.entry = look.make(
            W.Dropdown,
            description="Entry",
            layout={"width": "640px"},
            style={"description_width": LABEL_WIDTH},
        )
        self.edit_button = look.make(
            W.Button, description="Edit", icon="pencil", layout={"width": "auto"}
        )
        self.delete_button = look.make(
            W.Button, description="Delete", icon="trash", layout={"width": "auto"}
        )
        self.edit_button.on_click(lambda _: self._edit_chosen())
        self.delete_button.on_click(lambda _: self._delete_chosen())
        self.entry.observe(lambda _: self._arm_delete(False), "value")
        self.new_category = look.make(
            W.Dropdown,
            options=[(t, c) for c, t in CATEGORY_TITLES.items()],
            value=self.category,
            description="New entry in",
            layout={"width": "420px"},
            style={"description_width": LABEL_WIDTH},
        )
        self.new_button = look.make(
            W.Button, description="New entry", icon="plus", layout={"width": "auto"}
        )
        self.new_button.on_click(lambda _: self.new(self.new_category.value))
        self.title = look.make(W.HTML)
        self.editor = look.column([])
        self.bar = SaveBar(
            session, "History", collect=self._collect, reset=lambda: self.one.reset()
        )
        self.one = OneRecord(session, self.bar, HistoryEntry, self._open, "entry")
        self.actions = SaveBar(
            session, "History list", collect=list, reset=self._show_list, buttons=False
        )
        self.fold = Fold(look, [self.title, self.editor, self.bar.widget])
        self.widget = look.column(
            [
                self.review,
                self.listing,
                look.row([self.entry, self.edit_button, self.delete_button]),
                self.actions.widget,
                look.row([self.new_category, self.new_button]),
                self.fold.widget,
            ]
        )
        self.one.watch(self._show_list)
        self.one.show(None)  # a blank entry of `category`, folded until New or Edit

    # --- listing ----------------------------------------------------------------------
    def entries(self, category: str) -> list[HistoryEntry]:
        found = [e for e in self.session.case.history if e.category == category]
        return sorted(found, key=_sort_key)

    def _show_list(self) -> None:
        parts, options = [], []
        for category, heading in CATEGORY_TITLES.items():
            entries = self.entries(category)
            items = "".join(f"<li>{esc(entry_summary(e))}</li>" for e in entries)
            parts.append(
                f"<b>{esc(heading)}</b>"
                + (
                    f'<ul style="margin:0 0 4px 0">{items}</ul>'
                    if entries
                    else ' <i style="color:#666">none recorded</i><br>'
                )
            )
            options += [(f"{heading}: {entry_summary(e)}"[:120], e.id) for e in entries]
        self.listing.value = "".join(parts)
        self.review.value = review_html(self.session.case, self.session.catalog)
        keep = self.entry.value if self.entry.value in {v for _, v in options} else None
        self.entry.options = options
        self.entry.value = keep if keep is not None else (options[0][1] if options else None)
        self.edit_button.disabled = self.delete_button.disabled = not options
        self._arm_delete(False)

    def _chosen(self) -> HistoryEntry | None:
        found = self.session.find(HistoryEntry, self.entry.value) if self.entry.value else None
        return found if isinstance(found, HistoryEntry) else None

    def _edit_chosen(self) -> None:
        entry = self._chosen()
        if entry is not None:
            self.edit(entry)

    def _arm_delete(self, armed: bool) -> None:
        self.delete_button.description = "Confirm delete" if armed else "Delete"
        self.delete_button.button_style = "danger" if armed else ""

    def _delete_chosen(self) -> None:
        """First click asks for confirmation, the second deletes."""
        entry = self._chosen()
        if entry is None:
            return
        if self.delete_button.description == "Delete":
            self._arm_delete(True)
        else:
            self.delete(entry)

    # --- editing ----------------------------------------------------------------------
    def _fields(self, category: str) -> Fields:
        if category not in self._editors:
            model, look = HISTORY_MODELS[category], self.session.look
            fields = Fields(
                *(field_for(model, n, look) for n in _data_fields(category)),
                field_for(HistoryEntry, "notes", look),
            )
            fields.on_change(self.bar.mark_dirty)
            self._editors[category] = fields
        return self._editors[category]

    def new(self, category: str) -> bool:
        """Start a new entry of `category` in the editor."""
        if self.one.busy():
            return False
        self.category = category
        self.one.show(None)
        self.fold.open()
        return True

    def edit(self, entry: HistoryEntry) -> bool:
        """Load `entry` into the editor."""
        return self.fold.open_if(self.one.open(entry))

    def delete(self, entry: HistoryEntry) -> bool:
        return self.actions.commit([Change(entry, entry, entry_summary(entry), delete=True)])

    def _open(self, entry: HistoryEntry | None) -> None:
        if entry is not None:
            self.category = entry.category
        category = self.category
        fields = self._fields(category)
        values = (
            defaults(HISTORY_MODELS[category], _data_fields(category)) | {"notes": ""}
            if entry is None
            else entry.data.model_dump() | {"notes": entry.notes}
        )
        fields.load(values)
        heading = CATEGORY_TITLES[category]
        self.title.value = f"<b>{'New entry' if entry is None else 'Editing'}: {esc(heading)}</b>"
        self.editor.children = fields.rows
        self.bar.fields = fields

    def _collect(self) -> list[Change]:
        fields = self._fields(self.category)
        model = HISTORY_MODELS[self.category]
        base = self.one.record

        def make(values: dict[str, Any]) -> HistoryEntry:
            data = model(**{n: values[n] for n in _data_fields(self.category)})
            keep = {"id": base.id, "version": base.version} if base is not None else {}
            return HistoryEntry(
                patient_id=self.session.patient_id, data=data, notes=values["notes"], **keep
            )

        names = _data_fields(self.category)
        entry = fields.build(make, whole=next((n for n in ("end", "resolved") if n in names), ""))
        if base is not None and entry == base:
            return []
        return [Change(entry, base, CATEGORY_TITLES[self.category])]
