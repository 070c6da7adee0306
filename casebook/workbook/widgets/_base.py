"""The save plumbing every form shares: changes, the save bar, errors and conflicts.

A form turns what the practitioner typed into `Change`s (the record as loaded, and the
record as it should be saved). `SaveBar.save` hands them to the session, which writes them
in one transaction. What can go wrong is shown beside the form and nothing is written:

- a bad value: its message beside the field (`FieldErrors`, or the catalog's `RecordError`);
- a conflict: another practitioner saved a newer version since the form was loaded. The
  session reloads; the bar shows theirs against yours, field by field, and the practitioner
  chooses: keep theirs (discard mine), or apply my changes on top of theirs and save that.
  Nothing is ever overwritten without that choice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

import ipywidgets as W

from casebook.clinical.derive import RecordError
from casebook.models import Record
from casebook.store import ConflictError, NotFoundError, StoreError
from casebook.workbook.widgets._fields import FieldErrors, Fields
from casebook.workbook.widgets._html import esc, notice, shown, table
from casebook.workbook.widgets.session import CaseSession, Event

__all__ = ["Change", "Conflict", "OneRecord", "SaveBar", "conflict_rows", "rebase"]

_META = frozenset({"id", "patient_id", "version"})
R = TypeVar("R", bound=Record)


@dataclass(frozen=True)
class Change:
    """One record to write: `draft` as it should be saved, `base` as it was loaded (None for
    a new record). `delete=True` deletes `draft`. `label` names it in messages."""

    draft: Record
    base: Record | None = None
    label: str = ""
    delete: bool = False

    def mine(self) -> dict[str, Any]:
        """The fields this change sets, compared with what was loaded (JSON-like values)."""
        if self.base is None:
            return {}
        before, after = self.base.model_dump(), self.draft.model_dump()
        return {k: v for k, v in after.items() if k not in _META and v != before.get(k)}


def rebase(change: Change, theirs: Record) -> Change:
    """My change applied on top of `theirs` (their newer version of the same record).

    Fields I did not touch keep their value; for a nested value (answers, the alarm screen,
    a history entry's data) only the keys I changed are mine."""
    if change.delete:
        return Change(theirs, theirs, change.label, delete=True)
    before = change.base.model_dump() if change.base is not None else {}
    data = theirs.model_dump()
    for name, mine in change.mine().items():
        old, current = before.get(name), data.get(name)
        if isinstance(mine, dict) and isinstance(old, dict) and isinstance(current, dict):
            merged = dict(current)
            merged.update({k: v for k, v in mine.items() if old.get(k) != v})
            for gone in set(old) - set(mine):
                merged.pop(gone, None)
            data[name] = merged
        else:
            data[name] = mine
    return Change(type(theirs).model_validate(data), theirs, change.label)


def _flat(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in _META:
            continue
        if isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            out[key] = value
    return out


def conflict_rows(change: Change, theirs: Record | None) -> list[tuple[str, str, str, str]]:
    """(record, field, theirs, yours) for every field that they or I changed."""
    label = change.label or type(change.draft).__name__
    if change.delete:
        return [(label, "(whole record)", "changed" if theirs else "deleted", "delete")]
    if theirs is None:
        return [(label, "(whole record)", "deleted", "edited")]
    base = _flat(change.base.model_dump()) if change.base is not None else {}
    mine, their = _flat(change.draft.model_dump()), _flat(theirs.model_dump())
    rows = []
    for name in mine.keys() | their.keys():
        touched = mine.get(name) != base.get(name) or their.get(name) != base.get(name)
        if touched and mine.get(name) != their.get(name):
            rows.append((label, name, shown(their.get(name)), shown(mine.get(name))))
    return sorted(rows)


@dataclass
class Conflict:
    """A refused save: my changes, and their versions (None where they deleted it)."""

    changes: list[Change]
    theirs: list[Record | None]
    by: str | None = None
    rows: list[tuple[str, str, str, str]] = field(default_factory=list)


class SaveBar:
    """Save and Discard buttons, the 'unsaved changes' marker, messages and conflicts.

    `collect()` returns the changes to write (or raises FieldErrors after showing them);
    `reset()` shows the saved case again. `fields` receives a RecordError's field message.
    With `buttons=False` the bar only reports on `commit`s of buttons elsewhere (Stop,
    Delete), so that they never touch what a form's own bar holds.
    """

    def __init__(
        self,
        session: CaseSession,
        name: str,
        *,
        collect: Callable[[], list[Change]],
        reset: Callable[[], None],
        fields: Fields | None = None,
        save_label: str = "Save",
        buttons: bool = True,
    ) -> None:
        self.session, self.name = session, name
        self._collect, self._reset, self.fields = collect, reset, fields
        self.dirty = False
        self.conflict: Conflict | None = None
        self.keep_theirs: W.Button | None = None  # the conflict's two choices, while shown
        self.apply_mine: W.Button | None = None
        look = session.look
        self.save_button = look.make(
            W.Button,
            description=save_label,
            button_style="primary",
            icon="save",
            tooltip=f"Save {name} to the store",
            layout={"width": "auto"},
        )
        self.discard_button = look.make(
            W.Button,
            description="Discard changes",
            disabled=True,
            tooltip="Show the saved version again",
            layout={"width": "auto"},
        )
        self.save_button.on_click(lambda _: self.save())
        self.discard_button.on_click(lambda _: self.discard())
        self.status = look.make(W.HTML)
        self.message = look.make(W.HTML)
        self.conflict_box = look.column([])  # filled only while there is a conflict
        shown = [self.save_button, self.discard_button] if buttons else []
        self.widget = look.column(
            [look.row([*shown, self.status]), self.message, self.conflict_box]
        )

    # --- state ------------------------------------------------------------------------
    def mark_dirty(self) -> None:
        if not self.dirty:
            self.dirty = True
            self.discard_button.disabled = False
            self.session.set_unsaved(self.name, True)
        self.status.value = (
            '<b style="color:#8a5a00">● Unsaved changes</b> '
            '<span style="color:#666">(not in the store yet)</span>'
        )

    def _mark_clean(self, status_html: str = "") -> None:
        self.dirty = False
        self.discard_button.disabled = True
        self.session.set_unsaved(self.name, False)
        self.status.value = status_html
        self._set_conflict(None)

    def discard(self) -> None:
        """Forget unsaved edits (and a conflict): show the saved case again."""
        self._mark_clean()
        self.message.value = ""
        self._reset()

    # --- saving -----------------------------------------------------------------------
    def save(self) -> bool:
        """Collect, validate and write the form's changes; True when they are in the store."""
        if self.conflict is not None:
            self.message.value = notice("warning", "Resolve the conflict below first.")
            return False
        self.message.value = ""
        try:
            changes = self._collect()
        except FieldErrors as exc:
            general = exc.errors.get("", "")
            text = "Not saved: correct the fields marked ✖" + (
                f". {esc(general)}" if general else "."
            )
            self.message.value = notice("error", text)
            return False
        if not changes:
            self._mark_clean('<span style="color:#666">Nothing to save</span>')
            self._reset()
            return True
        return self.commit(changes)

    def commit(self, changes: Sequence[Change]) -> bool:
        """Write `changes` now (also used by buttons such as Stop or Delete)."""
        try:
            self.session.save(
                [c.draft for c in changes if not c.delete],
                deletes=[c.draft for c in changes if c.delete],
            )
        except ConflictError as exc:
            self._on_conflict(list(changes), exc)
            return False
        except RecordError as exc:
            if self.fields is not None and exc.field in self.fields:
                self.fields.show({exc.field: exc.reason})
            self.message.value = notice("error", f"Not saved: {esc(exc)}")
            return False
        except (StoreError, NotFoundError) as exc:
            self.message.value = notice("error", f"Not saved: {esc(exc)}")
            return False
        stamp = datetime.now().strftime("%H:%M:%S")
        self._mark_clean(f'<span style="color:#1b6e3a">✓ Saved at {stamp}</span>')
        self.message.value = ""
        self._reset()
        return True

    # --- conflicts --------------------------------------------------------------------
    def _on_conflict(self, changes: list[Change], exc: ConflictError) -> None:
        self.session.reload()  # their versions; dirty forms keep what was typed
        theirs = [self._theirs(c) for c in changes]
        rows = [
            row
            for c, t in zip(changes, theirs, strict=True)
            if c.base is not None or c.delete
            for row in conflict_rows(c, t)
        ]
        self.mark_dirty()
        self._set_conflict(Conflict(changes, theirs, exc.by, rows))

    def _theirs(self, change: Change) -> Record | None:
        record = change.base or change.draft
        return self.session.find(type(record), record.id)

    def _set_conflict(self, conflict: Conflict | None) -> None:
        self.conflict = conflict
        if conflict is None:
            self.conflict_box.children = ()
            return
        who = esc(conflict.by) if conflict.by else "another practitioner"
        head = (
            f"<b>Conflict: not saved.</b> {who} saved a newer version since this form was "
            "loaded. Their version is in the store; yours is still in the form. Choose: "
            "keep theirs, or apply your changes on top of theirs."
        )
        body = table(("record", "field", "theirs (saved)", "yours (not saved)"), conflict.rows)
        look = self.session.look
        keep = look.make(
            W.Button, description="Keep theirs (discard mine)", layout={"width": "auto"}
        )
        apply = look.make(
            W.Button,
            description="Apply mine on top of theirs",
            button_style="warning",
            layout={"width": "auto"},
        )
        keep.on_click(lambda _: self.discard())
        apply.on_click(lambda _: self.apply_mine_on_theirs())
        self.keep_theirs, self.apply_mine = keep, apply
        self.conflict_box.children = (
            look.make(W.HTML, value=notice("warning", head) + body),
            look.row([keep, apply]),
        )

    def apply_mine_on_theirs(self) -> bool:
        """Re-apply my changes on their newer versions and save (an explicit choice)."""
        conflict = self.conflict
        if conflict is None:
            return False
        rebased, dropped = [], []
        for change, theirs in zip(conflict.changes, conflict.theirs, strict=True):
            if change.base is None and not change.delete:
                rebased.append(change)  # a new record: nothing of theirs to merge with
            elif theirs is None:
                dropped.append(change.label or type(change.draft).__name__)
            else:
                rebased.append(rebase(change, theirs))
        self._set_conflict(None)
        saved = self.commit(rebased) if rebased else True
        if saved and dropped:
            self.message.value = notice(
                "warning",
                "Deleted by someone else, so your edit was not applied: " + esc(", ".join(dropped)),
            )
        return saved


class OneRecord(Generic[R]):
    """The record an editor holds (None: a new one). Opening another is refused, with a word
    beside the form, while the editor holds unsaved edits; `reset` shows the saved version
    of the same record again (None once it has been deleted)."""

    def __init__(
        self,
        session: CaseSession,
        bar: SaveBar,
        kind: type[R],
        show: Callable[[R | None], None],
        what: str,
    ) -> None:
        self.session, self.bar, self.kind, self._show, self.what = session, bar, kind, show, what
        self.record: R | None = None

    def busy(self) -> bool:
        if self.bar.dirty:
            self.bar.message.value = notice(
                "warning", f"Save or discard the {esc(self.what)} you are editing first."
            )
        return self.bar.dirty

    def open(self, record: R | None) -> bool:
        """Edit `record` (None: a new one) unless unsaved edits are in the way."""
        if self.busy():
            return False
        self.show(record)
        return True

    def show(self, record: R | None) -> None:
        self.record = record
        self._show(record)

    def reset(self) -> None:
        current = self.session.find(self.kind, self.record.id) if self.record else None
        self.show(current if isinstance(current, self.kind) else None)

    def watch(self, listing: Callable[[], None]) -> None:
        """After each reload: `listing()` shows the records again, and the editor shows the
        saved record unless it holds unsaved edits. Shows both now."""

        def on_event(event: Event) -> None:
            if event == "case":
                listing()
                if not self.bar.dirty:
                    self.reset()

        self.session.observe(on_event)
        listing()
