"""The header: the red flags, in a red panel that cannot be missed, the patient's visits,
when the case was last saved and which sections hold unsaved edits. Who the patient is
stands above it, in the banner that stays in view (`banner.py`).

The panel summarises the flags in a few lines (each urgency on one line, its flags' labels
after it) and unfolds on demand to every flag's reason, action and source, so that eight
flags do not push the first form a screen and a half down."""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as W

from casebook.clinical.flag_lifecycle import REVIEW_STEPS, FlagStatus, flag_statuses
from casebook.clinical.red_flags import RedFlag
from casebook.clinical.vocabulary import Urgency
from casebook.errors import CasebookError
from casebook.models import SCREEN_QUESTIONS
from casebook.workbook.widgets._html import badge, esc, notice
from casebook.workbook.widgets.letters import LetterButtons
from casebook.workbook.widgets.session import CaseSession, Event, LastSaved

__all__ = ["FlagSteps", "Header", "flag_panel"]

_COLOURS = {
    Urgency.SAME_DAY: "#7a0010",
    Urgency.URGENT: "#b00020",
    Urgency.SOON: "#8a5a00",
    Urgency.ROUTINE: "#8a5a00",
}
_SCREEN_QUESTIONS = SCREEN_QUESTIONS


_STATE_BADGE = {
    "acknowledged": ("ACKNOWLEDGED", "#1f5f99"),
    "referred": ("REFERRED", "#1b6e3a"),
    "resolved": ("RESOLVED", "#555"),
}
_STEP_BUTTONS = (("acknowledged", "Acknowledge"), ("referred", "Refer"), ("resolved", "Resolve"))
_UNFOLD = {False: "Show each flag's reason, action and source", True: "Summarise the flags"}


def _flag_html(status: FlagStatus, *, unsaved: bool) -> str:
    flag = status.flag
    text, colour = status.urgency.label.upper(), _COLOURS[status.urgency]
    extra = (" " + badge("from answers not saved yet", "#444")) if unsaved else ""
    if status.age_note:
        extra += f" <b>— {esc(status.age_note)}</b>"
    if status.state != "open":
        extra += " " + badge(*_STATE_BADGE[status.state])
    elif status.reopened:
        extra += " " + badge("OPEN AGAIN: newer evidence", "#7a0010")
    step = f"<br><i>{esc(status.summary())}</i>" if status.last is not None else ""
    return (
        f'<li style="margin:4px 0">{badge(text, colour)} <b>{esc(flag.label)}</b>{extra}<br>'
        f"{esc(flag.reason)}<br><b>Action:</b> {esc(flag.action)}<br>"
        f'<span style="color:#555;font-size:0.85em">Source: {esc(flag.source)}</span>{step}</li>'
    )


def _flag_marks(status: FlagStatus, *, unsaved: bool) -> str:
    """What a summarised flag carries beside its label: not saved yet, aged, its state."""
    marks = ["not saved yet"] if unsaved else []
    if status.age_note:
        marks.append(status.age_note)
    if status.state != "open":
        marks.append(status.state)
    elif status.reopened:
        marks.append("open again: newer evidence")
    return f" ({esc('; '.join(marks))})" if marks else ""


def _summary_html(rows: Sequence[tuple[FlagStatus, bool]]) -> str:
    """One line an urgency, most urgent first: its badge, then its flags' labels."""
    lines = []
    for urgency in Urgency:
        mine = [(s, u) for s, u in rows if s.urgency == urgency]
        if mine:
            labels = " · ".join(
                f"<b>{esc(s.flag.label)}</b>{_flag_marks(s, unsaved=u)}" for s, u in mine
            )
            lines.append(
                f'<div style="margin:3px 0">{badge(urgency.label.upper(), _COLOURS[urgency])} '
                f"{labels}</div>"
            )
    return "".join(lines)


def flag_panel(
    saved: Sequence[FlagStatus], pending: Sequence[RedFlag], *, unfold: bool = True
) -> str:
    """The red panel (HTML): open flags first, most urgent first, each with its label,
    reason, action and source; then the acknowledged and referred ones; resolved ones last,
    one line each. `pending` flags come from answers typed but not saved yet (marked so).
    Not `unfold`ed, each group is summarised: a line an urgency with its flags' labels."""
    if not saved and not pending:
        return ""
    drafts = flag_statuses(pending, [])
    open_ = sorted(
        [(s, True) for s in drafts] + [(s, False) for s in saved if s.state == "open"],
        key=lambda pair: pair[0].urgency.rank,
    )
    review = [s for s in saved if s.state in ("acknowledged", "referred")]
    done = [s for s in saved if s.state == "resolved"]
    parts = []
    if open_:
        count = len(open_)
        parts.append(
            '<div style="border:3px solid #b00020;background:#fdecea;padding:6px 12px;'
            'margin:6px 0;border-radius:4px">'
            f'<div style="color:#b00020;font-size:1.15em;font-weight:bold">⚠ {count} red '
            f"flag{'s' if count != 1 else ''}: refer, do not treat as a gut protocol</div>"
            + (
                '<ul style="margin:4px 0;padding-left:20px">'
                + "".join(_flag_html(s, unsaved=u) for s, u in open_)
                + "</ul>"
                if unfold
                else _summary_html(open_)
            )
            + "</div>"
        )
    if review:
        parts.append(
            '<div style="border:2px solid #8a5a00;background:#fff4e5;padding:6px 12px;'
            'margin:6px 0;border-radius:4px"><b>Red flags in hand (acknowledged or referred):'
            "</b>"
            + (
                '<ul style="margin:4px 0;padding-left:20px">'
                + "".join(_flag_html(s, unsaved=False) for s in review)
                + "</ul>"
                if unfold
                else _summary_html([(s, False) for s in review])
            )
            + "</div>"
        )
    if done:
        parts.append(
            notice(
                "info",
                "<b>Resolved:</b> "
                + "; ".join(f"{esc(s.flag.label)} ({esc(s.summary())})" for s in done),
            )
        )
    return "".join(parts)


class FlagSteps:
    """The next step for a raised flag: Acknowledge (with a note), Refer (to whom) or
    Resolve (the outcome). Each button writes through the store and reloads the session."""

    def __init__(self, session: CaseSession) -> None:
        self.session = session
        look = session.look
        self.flag = look.make(
            W.Dropdown, description="Red flag", options=[], layout={"width": "520px"}
        )
        self.note = look.make(W.Text, description="Note", placeholder="what was done or agreed")
        self.referred_to = look.make(
            W.Text, description="Referred to", placeholder="service or clinician"
        )
        self.outcome = look.make(W.Text, description="Outcome", placeholder="how it was resolved")
        self.buttons = {
            state: look.make(W.Button, description=label, button_style="warning")
            for state, label in _STEP_BUTTONS
        }
        for state, button in self.buttons.items():
            button.on_click(lambda _b, state=state: self.take(state))
        self.message = look.make(W.HTML)
        self.flag.observe(lambda _change: self._enable(), names="value")
        self._states: dict[str, str] = {}
        self._titles: dict[str, str] = {}
        self.widget = W.VBox(
            [  # its own layout: it is hidden when no flag can take a step
                look.make(W.HTML, value="<b>Next step for a red flag</b>"),
                self.flag,
                look.row([self.note, self.buttons["acknowledged"]]),
                look.row([self.referred_to, self.buttons["referred"]]),
                look.row([self.outcome, self.buttons["resolved"]]),
                self.message,
            ]
        )

    def show(self, statuses: Sequence[FlagStatus]) -> None:
        """Offer the flags that can still take a step (not resolved), open ones first."""
        self._states = {s.flag.key: s.state for s in statuses}
        self._titles = {s.flag.key: s.flag.label for s in statuses}
        options = [
            (f"{s.flag.label} [{s.headline()}; {s.state}]", s.flag.key)
            for s in statuses
            if s.state != "resolved"
        ]
        keys = [key for _, key in options]
        keep = self.flag.value if self.flag.value in keys else (keys[0] if keys else None)
        self.flag.options = options
        self.flag.value = keep
        self.widget.layout.display = "" if options else "none"
        self._enable()

    def _enable(self) -> None:
        state = self._states.get(self.flag.value or "")
        for step, button in self.buttons.items():
            button.disabled = state is None or state not in REVIEW_STEPS[step]

    def take(self, state: str) -> None:
        """Record the step for the chosen flag; a refusal is shown in one line, not raised."""
        rule = self.flag.value
        if rule is None:
            return
        try:
            review = self.session.store.review_flag(
                self.session.patient_id,
                rule,
                state,
                note=self.note.value,
                referred_to=self.referred_to.value,
                outcome=self.outcome.value,
            )
        except CasebookError as exc:
            self.message.value = notice("error", esc(str(exc)))
            return
        self.note.value = self.referred_to.value = self.outcome.value = ""
        title = self._titles.get(rule, rule)  # the flag as the practitioner sees it
        self.message.value = notice("ok", f"{esc(title)}: {esc(review.state)}.")
        self.session.last_saved = LastSaved(review.at, review.actor)
        self.session.reload()


class Header:
    """Red flags, visits, last saved and unsaved sections; follows the session."""

    def __init__(self, session: CaseSession) -> None:
        self.session = session
        look = session.look
        self.visits, self.saved, self.flags = (look.make(W.HTML) for _ in range(3))
        self.unfolded = False  # the flags summarised; the button unfolds them
        self.unfold = W.Button(  # its own layout: it is hidden when there is nothing to unfold
            description=_UNFOLD[False], icon="chevron-down", layout=W.Layout(width="auto")
        )
        self.unfold.on_click(lambda _b: self.toggle_flags())
        self.steps = FlagSteps(session)
        self.letters = LetterButtons(session, ("referral",))  # next to the red flags
        self.widget = look.column(
            [
                self.flags,
                self.unfold,
                self.steps.widget,
                self.letters.widget,
                self.visits,
                self.saved,
            ]
        )
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
        parts = []
        for v in case.sorted_visits():
            text = f"{v.visit_date.isoformat()} {esc(v.kind)}"
            parts.append(f"<b><u>{text}</u></b>" if v.id == self.session.visit_id else text)
        self.visits.value = f"<b>Visits ({len(parts)}):</b> " + (
            " · ".join(parts) if parts else "none yet"
        )
        self._show_flags()
        self._show_saved()

    def _show_saved(self) -> None:
        last = self.session.last_saved
        text = f"<b>Last saved:</b> {esc(last.text())}" if last else "<b>Last saved:</b> never"
        unsaved = self.session.unsaved
        if unsaved:
            text += (
                ' &nbsp; <b style="color:#8a5a00">● Unsaved changes in: '
                f"{esc(', '.join(unsaved))}</b>"
            )
        self.saved.value = text

    def toggle_flags(self) -> None:
        """Unfold the summarised flags to their reasons, actions and sources, or fold them."""
        self.unfolded = not self.unfolded
        self.unfold.description = _UNFOLD[self.unfolded]
        self.unfold.icon = "chevron-up" if self.unfolded else "chevron-down"
        self._show_flags()

    def _show_flags(self) -> None:
        statuses = self.statuses()
        pending = self.session.pending_flags()
        panel = flag_panel(statuses, pending, unfold=self.unfolded)
        foldable = bool(pending) or any(s.state != "resolved" for s in statuses)
        self.unfold.layout.display = "" if foldable else "none"
        panel = panel or notice("ok", "No red flags in the recorded data.")
        self.steps.show(statuses)
        self.flags.value = panel + self._screen_note()

    def statuses(self) -> list[FlagStatus]:
        """The saved case's red flags with their state (clinical.flag_lifecycle), open first."""
        return flag_statuses(self.session.red_flags(), self.session.case.flag_reviews)

    def _screen_note(self) -> str:
        visit = self.session.visit
        if visit is None:
            return notice(
                "warning",
                "No visit yet: start the intake visit below and ask the alarm-feature questions.",
            )
        missing = sum(getattr(visit.screen, n) is None for n in _SCREEN_QUESTIONS)
        if not missing:
            return ""
        return notice(
            "warning",
            f"Alarm screen of the visit of {visit.visit_date.isoformat()}: "
            f"{missing} of {len(_SCREEN_QUESTIONS)} questions not asked yet "
            "(Visits section).",
        )
