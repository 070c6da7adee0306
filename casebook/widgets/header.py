"""The header: who the patient is, their visits, when the case was last saved, which
sections hold unsaved edits, and the red flags, in a red panel that cannot be missed."""

from __future__ import annotations

from datetime import date

import ipywidgets as W

from casebook.models import AlarmScreen
from casebook.redflags import RedFlag
from casebook.widgets._html import badge, esc, notice
from casebook.widgets.letters import LetterButtons
from casebook.widgets.session import CaseSession, Event

__all__ = ["Header", "flag_panel"]

_URGENCY = {
    "same_day": ("SAME DAY", "#7a0010"),
    "urgent": ("URGENT", "#b00020"),
    "routine": ("ROUTINE", "#8a5a00"),
}
_SCREEN_QUESTIONS = tuple(n for n in AlarmScreen.model_fields if n != "symptom_onset")


def _flag_html(flag: RedFlag, *, unsaved: bool) -> str:
    text, colour = _URGENCY.get(flag.urgency, (flag.urgency.upper(), "#b00020"))
    extra = (" " + badge("from answers not saved yet", "#444")) if unsaved else ""
    return (
        f'<li style="margin:4px 0">{badge(text, colour)} <b>{esc(flag.label)}</b>{extra}<br>'
        f"{esc(flag.reason)}<br><b>Action:</b> {esc(flag.action)}<br>"
        f'<span style="color:#555;font-size:0.85em">Source: {esc(flag.source)}</span></li>'
    )


def flag_panel(saved: list[RedFlag], pending: list[RedFlag]) -> str:
    """The red panel (HTML): every flag's label, reason, action and source, most urgent first.
    `pending` flags come from answers typed but not saved yet, and are marked so."""
    if not saved and not pending:
        return ""
    items = [(f, True) for f in pending] + [(f, False) for f in saved]
    order = {"same_day": 0, "urgent": 1, "routine": 2}
    items.sort(key=lambda pair: order.get(pair[0].urgency, 9))
    count = len(items)
    return (
        '<div style="border:3px solid #b00020;background:#fdecea;padding:6px 12px;'
        'margin:6px 0;border-radius:4px">'
        f'<div style="color:#b00020;font-size:1.15em;font-weight:bold">⚠ {count} red '
        f"flag{'s' if count != 1 else ''}: refer, do not treat as a gut protocol</div>"
        '<ul style="margin:4px 0;padding-left:20px">'
        + "".join(_flag_html(f, unsaved=u) for f, u in items)
        + "</ul></div>"
    )


class Header:
    """Patient, age, visits, last saved, unsaved sections and red flags; follows the session."""

    def __init__(self, session: CaseSession) -> None:
        self.session = session
        look = session.look
        self.patient, self.visits, self.saved, self.flags = (look.make(W.HTML) for _ in range(4))
        self.letters = LetterButtons(session, ("referral",))  # next to the red flags
        self.widget = look.column([self.patient, self.flags, self.letters.widget, self.visits,
                                   self.saved])
        session.observe(self._on_event)
        self.refresh()

    def _on_event(self, event: Event) -> None:
        if event == "pending":
            self._show_flags()
            self._show_saved()
        else:
            self.refresh()

    def refresh(self) -> None:
        case = self.session.case
        p = case.patient
        self.patient.value = (
            f'<div style="font-size:1.4em;font-weight:bold">{esc(p.name)}</div>'
            f'<div style="color:#333">Patient {esc(p.id)} · {p.age_on(date.today())} years · '
            f"{esc(p.sex)} · born {p.birth_date.isoformat()}</div>"
        )
        parts = []
        for v in case.sorted_visits():
            text = f"{v.visit_date.isoformat()} {esc(v.kind)}"
            parts.append(f"<b><u>{text}</u></b>" if v.id == self.session.visit_id else text)
        self.visits.value = (
            f"<b>Visits ({len(parts)}):</b> " + (" · ".join(parts) if parts else "none yet")
        )
        self._show_flags()
        self._show_saved()

    def _show_saved(self) -> None:
        last = self.session.last_saved
        text = f"<b>Last saved:</b> {esc(last.text())}" if last else "<b>Last saved:</b> never"
        unsaved = self.session.unsaved
        if unsaved:
            text += (' &nbsp; <b style="color:#8a5a00">● Unsaved changes in: '
                     f"{esc(', '.join(unsaved))}</b>")
        self.saved.value = text

    def _show_flags(self) -> None:
        saved, pending = self.session.red_flags(), self.session.pending_flags()
        panel = flag_panel(saved, pending) or notice("ok", "No red flags in the recorded data.")
        self.flags.value = panel + self._screen_note()

    def _screen_note(self) -> str:
        visit = self.session.visit
        if visit is None:
            return notice("warning", "No visit yet: start the intake visit below and ask the "
                          "alarm-feature questions.")
        missing = sum(getattr(visit.screen, n) is None for n in _SCREEN_QUESTIONS)
        if not missing:
            return ""
        return notice("warning", f"Alarm screen of the visit of {visit.visit_date.isoformat()}: "
                      f"{missing} of {len(_SCREEN_QUESTIONS)} questions not asked yet "
                      "(Visits section).")
