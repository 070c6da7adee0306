"""Confirming a plan item's cautions one by one: a reason for each open caution, and for a
contraindication who advised going ahead (`casebook.clinical.overrides` says what passes;
the store refuses the save otherwise)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import ipywidgets as W

from casebook.clinical.cautions import CautionMatch, confirmation_words
from casebook.models import CautionConfirmation
from casebook.workbook.widgets._fields import LABEL_WIDTH, Look
from casebook.workbook.widgets._html import esc, notice

__all__ = ["CautionConfirmations", "cautions_html"]


def cautions_html(matches: list[CautionMatch]) -> str:
    """The matching cautions, each with why it matches, its source and its confirmation."""
    if not matches:
        return ""
    rows = []
    for m in matches:
        words = confirmation_words(m)
        advised = f" (advised by {esc(words.advised_by)})" if words.advised_by else ""
        state = (
            f"<br><b>Needs its own reason to go ahead ({esc(words.problem)}).</b>"
            if words.problem is not None
            else f"<br><i>Confirmed by {esc(words.by)}{advised} on {words.on}: "
            f"{esc(words.reason)}</i>"
        )
        rows.append(
            f"<li><b>{esc(m.caution.kind.capitalize())}: {esc(m.key)}</b> "
            f"({esc('; '.join(m.reasons))}). {esc(m.caution.text)}"
            f'<br><span style="color:#555;font-size:0.9em">Source: '
            f"{esc(m.caution.source)}</span>{state}</li>"
        )
    kind = "info" if all(m.confirmed for m in matches) else "error"
    return notice(
        kind,
        f'<b>Cautions that match this patient</b><ul style="margin:2px 0">{"".join(rows)}</ul>',
    )


class CautionConfirmations:
    """One row per open caution: its key and kind, a reason, and (contraindications) who
    advised. Typed values survive a redraw for the same caution."""

    def __init__(self, look: Look, on_change: Callable[[], None]) -> None:
        self.look = look
        self.on_change = on_change
        self.rows: dict[str, tuple[W.Textarea, W.Text | None]] = {}
        self.widget = look.column([])

    def show(self, matches: list[CautionMatch]) -> None:
        open_ = [m for m in matches if not m.confirmed]
        old = self.rows
        self.rows, children = {}, []
        for m in open_:
            contra = m.caution.kind == "contraindication"
            reason, advised = old.get(m.key, (None, None))
            if reason is None:
                reason = self.look.make(
                    W.Textarea,
                    description=f"Reason: {m.key}",
                    rows=2,
                    placeholder="Why this item is right for this patient despite this caution"
                    + (" (at least 5 words)" if contra else ""),
                    style={"description_width": LABEL_WIDTH},
                    layout={"width": "570px"},
                )
                reason.observe(lambda c: self.on_change() if c["new"].strip() else None, "value")
            if contra and advised is None:
                advised = self.look.make(
                    W.Text,
                    description="Advised by",
                    placeholder="Who advised going ahead (name, role)",
                    style={"description_width": LABEL_WIDTH},
                    layout={"width": "570px"},
                )
            self.rows[m.key] = (reason, advised if contra else None)
            children.append(
                self.look.make(
                    W.HTML, value=f"<b>{esc(m.caution.kind.capitalize())}: {esc(m.key)}</b>"
                )
            )
            children += [reason] + ([advised] if contra and advised is not None else [])
        self.widget.children = children

    def clear(self) -> None:
        self.rows = {}
        self.widget.children = []

    def confirmations(self, by: str, on: date) -> list[CautionConfirmation]:
        """A confirmation for each open caution with a typed reason."""
        return [
            CautionConfirmation(
                key=key,
                reason=reason.value.strip(),
                by=by,
                advised_by=advised.value.strip() if advised is not None else "",
                on=on,
            )
            for key, (reason, advised) in self.rows.items()
            if reason.value.strip()
        ]
