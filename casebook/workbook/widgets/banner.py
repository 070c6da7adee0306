"""The patient banner: whose record this is (name, date of birth, age, sex, id), the
workbook's first output. In JupyterLab the cell holding it stays at the top of the notebook
while the rest scrolls under it (`forms.css`, class `BANNER_CLASS`), so a practitioner deep
in the plan form still sees whose plan it is."""

from __future__ import annotations

from datetime import date

import ipywidgets as W

from casebook.models import Patient
from casebook.workbook.widgets._html import STYLE, esc
from casebook.workbook.widgets.session import CaseSession, Event

__all__ = ["BANNER_CLASS", "PatientBanner", "banner_html"]

BANNER_CLASS = "casebook-banner"


def banner_html(patient: Patient, today: date) -> str:
    """One line: the name, large, then born DATE (age), sex, and the record id."""
    return (
        f'<div class="{BANNER_CLASS}-line"><span class="{BANNER_CLASS}-name">{esc(patient.name)}'
        f"</span> born {patient.birth_date.isoformat()} ({patient.age_on(today)} years)"
        f" · {esc(patient.sex)} · id <b>{esc(patient.id)}</b></div>"
    )


class PatientBanner:
    """Who the patient is; redrawn when the case is reloaded."""

    def __init__(self, session: CaseSession, *, today: date | None = None) -> None:
        self.session = session
        self.today = today
        # Its own layout: the banner's class is what makes its cell stay in view.
        self.widget = W.HTML(layout=W.Layout(width="100%"))
        self.widget.add_class(BANNER_CLASS)
        session.observe(self._on_event)
        self.refresh()

    def _on_event(self, event: Event) -> None:
        if event == "case":
            self.refresh()

    def refresh(self) -> None:
        patient = self.session.case.patient
        self.widget.value = STYLE + banner_html(patient, self.today or date.today())
