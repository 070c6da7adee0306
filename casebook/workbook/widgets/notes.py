"""Notes: practitioner-only or shared with the patient, listed newest first; add and edit."""

from __future__ import annotations

from datetime import date
from typing import Any

import ipywidgets as W

from casebook.models import Note
from casebook.workbook.widgets._base import Change, OneRecord, SaveBar
from casebook.workbook.widgets._fields import LABEL_WIDTH, Fields, field_for
from casebook.workbook.widgets._html import badge, esc
from casebook.workbook.widgets._views import Fold
from casebook.workbook.widgets.session import CaseSession

__all__ = ["VISIBILITY", "NotesForm"]

VISIBILITY = (("Practitioner only", "practitioner"), ("Shared with the patient", "shared"))


class NotesForm:
    """The notes of the case and an editor for one note."""

    def __init__(self, session: CaseSession) -> None:
        self.session = session
        look = session.look
        self.listing = look.make(W.HTML)
        self.note = look.make(
            W.Dropdown,
            description="Note",
            layout={"width": "570px"},
            style={"description_width": LABEL_WIDTH},
        )
        self.edit_button = look.make(
            W.Button, description="Edit", icon="pencil", layout={"width": "auto"}
        )
        self.edit_button.on_click(lambda _: self._edit_chosen())
        self.fields = Fields(
            field_for(Note, "visibility", look, options=VISIBILITY, label="Who can read it"),
            field_for(Note, "written_on", look, label="Date"),
            field_for(Note, "text", look, label="Note"),
        )
        self.title = look.make(W.HTML)
        self.new_button = look.make(
            W.Button, description="New note", icon="plus", layout={"width": "auto"}
        )
        self.new_button.on_click(lambda _: self.new())
        self.bar = SaveBar(
            session,
            "Notes",
            collect=self._collect,
            reset=lambda: self.one.reset(),
            fields=self.fields,
            save_label="Save note",
        )
        self.one = OneRecord(session, self.bar, Note, self._open, "note")
        self.fields.on_change(self.bar.mark_dirty)
        self.fold = Fold(look, [self.title, *self.fields.rows, self.bar.widget])
        self.widget = look.column(
            [
                self.listing,
                look.row([self.note, self.edit_button]),
                look.row([self.new_button]),
                self.fold.widget,
            ]
        )
        self.one.watch(self._show_list)
        self.one.show(None)

    def _show_list(self) -> None:
        notes = sorted(self.session.case.notes, key=lambda n: (n.written_on, n.id), reverse=True)
        parts = []
        for note in notes:
            who = (
                badge("shared with patient", "#1f5f99")
                if note.visibility == "shared"
                else badge("practitioner only", "#555")
            )
            author = f" · {esc(note.author)}" if note.author else ""
            parts.append(
                f"<li><b>{note.written_on.isoformat()}</b>{author} {who}<br>"
                f'<span style="white-space:pre-wrap">{esc(note.text)}</span></li>'
            )
        self.listing.value = (
            f'<ul style="margin:0">{"".join(parts)}</ul>'
            if parts
            else '<span style="color:#555">No notes yet.</span>'
        )
        options = [
            (f"{n.written_on.isoformat()} {n.visibility}: {n.text}"[:100], n.id) for n in notes
        ]
        keep = self.note.value if self.note.value in {v for _, v in options} else None
        self.note.options = options
        self.note.value = keep if keep is not None else (options[0][1] if options else None)
        self.edit_button.disabled = not options

    def _edit_chosen(self) -> None:
        found = self.session.find(Note, self.note.value) if self.note.value else None
        if isinstance(found, Note):
            self.edit(found)

    def new(self) -> bool:
        return self.fold.open_if(self.one.open(None))

    def edit(self, note: Note) -> bool:
        return self.fold.open_if(self.one.open(note))

    def _open(self, note: Note | None) -> None:
        self.title.value = "<b>New note</b>" if note is None else "<b>Editing a note</b>"
        self.fields.load(
            {"visibility": "practitioner", "written_on": date.today(), "text": ""}
            if note is None
            else note.model_dump(include={"visibility", "written_on", "text"})
        )

    def _collect(self) -> list[Change]:
        base = self.one.record

        def make(values: dict[str, Any]) -> Note:
            keep = (
                base.model_dump()
                if base is not None
                else {
                    "patient_id": self.session.patient_id,
                    "visit_id": self.session.visit_id,
                    "author": self.session.store.actor,
                }
            )
            return Note.model_validate(keep | values)

        note = self.fields.build(make)
        return [] if note == base else [Change(note, base, "note")]
