"""Patient check-ins in the visit section: send one (its link to pass on to the patient),
and the check-ins the patient sent, to accept into the selected visit or mark reviewed.

A thin view: sending is `casebook.serve.checkin_links.send_checkin`, accepting and
reviewing are `casebook.checkins.accept` / `mark_reviewed`; what a patient typed is shown
escaped.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as W

from casebook.checkins import ALARMS, SYMPTOMS, accept, mark_reviewed
from casebook.errors import CasebookError
from casebook.workbook.widgets._html import esc
from casebook.workbook.widgets.session import CaseSession, Event

__all__ = ["DEFAULT_INSTRUMENTS", "CheckinPanel"]

DEFAULT_INSTRUMENTS = ("phq9", "gad7", SYMPTOMS, "bristol")


class CheckinPanel:
    """ "Send a check-in" with its instruments, and the check-ins to review."""

    def __init__(self, session: CaseSession) -> None:
        self.session = session
        look = session.look
        keys = (*session.catalog.instruments, SYMPTOMS, ALARMS)
        self.instruments = look.make(
            W.SelectMultiple,
            options=keys,
            value=tuple(k for k in DEFAULT_INSTRUMENTS if k in keys),
            description="Check-in asks",
            rows=len(keys),
            layout={"width": "320px"},
        )
        self.send_button = look.make(
            W.Button, description="Send a check-in", icon="paper-plane", layout={"width": "auto"}
        )
        self.send_button.on_click(lambda _: self.send())
        self.sent = look.make(W.HTML)
        self.review = look.make(W.VBox)
        self.widget = look.column(
            [
                look.make(W.HTML, value="<b>Patient check-ins</b>"),
                look.row([self.instruments, self.send_button]),
                self.sent,
                self.review,
            ]
        )
        session.observe(self._on_event)
        self._refresh()

    def send(self) -> str:
        """Send a check-in of the chosen instruments; the link to pass on ('' if refused)."""
        from casebook.serve.checkin_links import send_checkin
        from casebook.serve.server import link_base

        try:
            link, checkin = send_checkin(
                self.session.store,
                self.session.patient_id,
                list(self.instruments.value),
                base_url=link_base(),
            )
        except CasebookError as exc:
            self.sent.value = f"<span style='color:#b3261e'>{esc(str(exc))}</span>"
            return ""
        self.sent.value = (
            f"Check-in sent (open until {checkin.expires_at:%Y-%m-%d %H:%M} UTC). "
            f"Give the patient this link: <code>{esc(link)}</code>"
        )
        self.session.reload()
        return link

    def _on_event(self, event: Event) -> None:
        self._refresh()

    def _refresh(self) -> None:
        look = self.session.look
        waiting = self.session.store.checkins(self.session.patient_id, status="submitted")
        rows: list[Any] = []
        for checkin in waiting:
            sent = f"{checkin.submitted_at:%Y-%m-%d %H:%M}" if checkin.submitted_at else ""
            note = (
                f"; they wrote: &ldquo;{esc(checkin.free_text)}&rdquo;" if checkin.free_text else ""
            )
            text = look.make(
                W.HTML,
                value=f"<b>Check-in to review</b>: {esc(', '.join(checkin.instruments))}, "
                f"sent by the patient on {sent} UTC{note}",
            )
            take = look.make(W.Button, description="Accept into selected visit")
            mark = look.make(W.Button, description="Mark reviewed")
            take.on_click(lambda _, c=checkin.id: self.accept(c))
            mark.on_click(lambda _, c=checkin.id: self.mark(c))
            rows.append(look.column([text, look.row([take, mark])]))
        self.review.children = rows

    def accept(self, checkin_id: str) -> None:
        """Move the check-in's answers onto the selected visit (never over its entries)."""
        visit = self.session.visit
        if visit is None or visit.is_checkin:
            self.sent.value = "Select the visit to accept the check-in into first."
            return
        try:
            _, kept = accept(self.session.store, checkin_id, self.session.patient_id, visit.id)
        except CasebookError as exc:
            self.sent.value = esc(str(exc))
            return
        apart = (
            f" Kept apart (the visit already holds them): {esc(', '.join(kept))}." if kept else ""
        )
        self.sent.value = f"Check-in accepted into the visit of {visit.visit_date}.{apart}"
        self.session.reload()

    def mark(self, checkin_id: str) -> None:
        """Mark the check-in reviewed; its answers stay on their check-in visit."""
        try:
            mark_reviewed(self.session.store, checkin_id, self.session.patient_id)
        except CasebookError as exc:
            self.sent.value = esc(str(exc))
            return
        self.sent.value = "Check-in marked reviewed."
        self.session.reload()
