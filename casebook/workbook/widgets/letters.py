"""Letter buttons: "Referral letter" (with its recipient) next to the open red flags, and
"After-visit summary" in the visit section. A click makes the letter from the saved record,
keeps it with the case (`CaseStore.save_letter`), writes the PDF beside the case notebook
(`letters/<kind>-<date>.pdf` under the notebook's folder) and shows a link to it, which
opens the PDF inside JupyterLab (a notebook output, `casebook.notebooks.LabHtml`: no second
workspace, no reload)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import ipywidgets as W

from casebook.errors import CasebookError
from casebook.letters import LetterKind
from casebook.notebooks import LabHtml, lab_link
from casebook.workbook.widgets._html import notice, text
from casebook.workbook.widgets.session import CaseSession, Event

__all__ = ["LetterButtons"]

_DEFAULT_TO = "The specialist"


class LetterButtons:
    """The buttons for `kinds` and the link to the last letter made.

    `folder` is where the case notebook lives (the kernel's working folder by default, which
    is the notebook's own folder in JupyterLab and in `casebook new`); the PDF goes to
    `folder/letters/` and the link is relative to it.
    """

    def __init__(
        self,
        session: CaseSession,
        kinds: Sequence[LetterKind] = ("referral", "after_visit_summary"),
        *,
        folder: str | os.PathLike[str] | None = None,
    ) -> None:
        self.session = session
        self.folder = Path(folder) if folder is not None else Path.cwd()
        look = session.look
        self.recipient = look.make(
            W.Text,
            value=_DEFAULT_TO,
            description="To",
            placeholder="Dr …, Gastroenterology",
            layout={"width": "320px"},
        )
        self.referral_button = look.make(
            W.Button,
            description="Referral letter",
            icon="file-pdf-o",
            layout={"width": "auto"},
            tooltip="Make a referral letter (PDF) from the record",
        )
        self.summary_button = look.make(
            W.Button,
            description="After-visit summary",
            icon="file-pdf-o",
            layout={"width": "auto"},
            tooltip="Make the patient's summary of the selected visit (PDF)",
        )
        self.referral_button.on_click(lambda _: self.make("referral"))
        self.summary_button.on_click(lambda _: self.make("after_visit_summary"))
        self.output = LabHtml()  # its link opens the PDF inside JupyterLab
        parts: list[W.Widget] = []
        if "referral" in kinds:
            self.referral_row = look.row([self.referral_button, self.recipient])
            parts.append(self.referral_row)
        if "after_visit_summary" in kinds:
            parts.append(self.summary_button)
        self.widget = look.column([look.row(parts), self.output.widget])
        self.kinds = tuple(kinds)
        session.observe(self._on_event)
        self._refresh()

    def _on_event(self, event: Event) -> None:
        if event in ("case", "visit"):
            self._refresh()

    def _refresh(self) -> None:
        """A referral is offered while a red flag is open; a summary while a visit the
        practitioner held is selected (a check-in the patient sent is not a visit)."""
        self.referral_button.disabled = not self.session.red_flags()
        visit = self.session.visit
        self.summary_button.disabled = visit is None or visit.is_checkin

    def make(self, kind: LetterKind) -> Path | None:
        """Make, keep and write one letter; the path written, or None (the reason shown)."""
        from casebook.letters import (
            after_visit_summary,
            default_letter_path,
            load_clinic_settings,
            referral_letter,
            save_letter,
        )

        session = self.session
        try:
            settings = load_clinic_settings(database_url=session.store.url)
            if kind == "referral":
                letter = referral_letter(
                    session.case,
                    session.catalog,
                    settings,
                    to=self.recipient.value,
                    on=date.today(),
                )
            else:
                visit = session.visit
                letter = after_visit_summary(
                    session.case,
                    session.catalog,
                    settings,
                    visit_date=visit.visit_date if visit else None,
                )
            path = default_letter_path(self.folder, letter)
            save_letter(session.store, letter, path)
        except CasebookError as exc:
            self.output.value = notice("error", text(str(exc)))
            return None
        link = lab_link(path.relative_to(self.folder).as_posix(), path.name)
        self.output.value = notice("ok", f"Saved with the case: {link}")
        session.reload()  # the case now lists the letter
        return path
