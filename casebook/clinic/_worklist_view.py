"""The clinic notebook's worklist: one folded row a patient (unfold to see the items), a
choice of what to show, and the bulk sign-off of in-range results.

A thin view: what to show is `_todo`'s, the sign-off is `_store.sign_off_in_range`'s (the
store writes it, audited). Every string from a person reaches HTML through Jinja with
autoescape. The section's text/plain fallback (an unrun notebook, a viewer without widgets)
is a sentence, not the widget tree's repr.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from casebook.clinic._kinds import KIND_TABLE, kind_of
from casebook.clinic._store import sign_off_in_range
from casebook.clinic._todo import by_patient, shown_items
from casebook.clinical.vocabulary import Urgency
from casebook.errors import CasebookError
from casebook.templating import environment

if TYPE_CHECKING:
    import ipywidgets as W

    from casebook.clinic._session import ClinicSession

__all__ = [
    "COLOURS",
    "DECISIONS",
    "EVERYTHING",
    "MAX_PATIENTS",
    "SHOW_CHOICES",
    "WORKLIST_SENTENCE",
    "worklist_html",
    "worklist_section",
]

MAX_PATIENTS = 200  # folded rows drawn in the notebook; the CSV export has every item
DECISIONS = "decisions"  # the default view: what needs a decision
EVERYTHING = "everything"
WORKLIST_SENTENCE = (
    "The worklist: run this notebook (Run ▸ Run All Cells) to see what needs a decision."
)
COLOURS = {
    Urgency.SAME_DAY: "#b00020",
    Urgency.URGENT: "#c2410c",
    Urgency.SOON: "#8a5a00",
    Urgency.ROUTINE: "#4b5563",
}
SHOW_CHOICES: tuple[tuple[str, str], ...] = (
    ("What needs a decision", DECISIONS),
    ("Everything", EVERYTHING),
    *((k.label, k.key) for k in KIND_TABLE),
)
_ERROR = Markup('<span style="color:#b00020">{}</span>')
_DONE = Markup('<span style="color:#555">{}</span>')


def _view(show: str) -> dict[str, Any]:
    if show == DECISIONS:
        return {}
    if show == EVERYTHING:
        return {"everything": True}
    return {"kinds": [kind_of(show).key]}


def worklist_html(session: ClinicSession, show: str = DECISIONS) -> str:
    """The worklist folded by patient, most urgent first: `show` is DECISIONS (the
    default), EVERYTHING or one kind."""
    items = session.table("worklist")
    shown = shown_items(items, **_view(show))
    patients = by_patient(shown).head(MAX_PATIENTS)
    rows = []
    for p in patients.itertuples(index=False):
        mine = shown[shown["patient_id"] == p.patient_id]
        rows.append(
            {
                "urgency": Urgency(p.urgency).label,
                "colour": COLOURS[Urgency(p.urgency)],
                "patient_id": p.patient_id,
                "name": p.name if isinstance(p.name, str) else "",
                "link": session.patient_link(
                    str(p.patient_id), p.name if isinstance(p.name, str) else ""
                ),
                "todo": p.todo,
                "since": "" if p.since != p.since else f"{p.since:%Y-%m-%d}",
                "items": [
                    {
                        "urgency": Urgency(i.urgency).label,
                        "colour": COLOURS[Urgency(i.urgency)],
                        "kind": kind_of(str(i.kind)).label,
                        "detail": i.detail,
                        "since": "" if i.since != i.since else f"{i.since:%Y-%m-%d}",
                    }
                    for i in mine.itertuples(index=False)
                ],
            }
        )
    f = session.filter
    waiting = int((items["kind"] == "result-in-range").sum())
    return (
        environment("casebook.clinic")
        .get_template("worklist.html.j2")
        .render(
            patients=rows,
            more=max(0, shown["patient_id"].nunique() - MAX_PATIENTS),
            n_items=len(shown),
            waiting=waiting if show == DECISIONS else 0,
            filtered=bool(f.practitioner or f.date_from or f.date_to) or show != DECISIONS,
        )
    )


def _sign_off_label(session: ClinicSession) -> tuple[str, int]:
    items = session.table("worklist")
    n = int((items["kind"] == "result-in-range").sum())
    return f"Sign off {n} in-range result{'s' if n != 1 else ''}", n


def worklist_section(session: ClinicSession) -> W.VBox:
    """The worklist, folded by patient; each name opens the case workbook inside JupyterLab
    (the table is a notebook output, `LabHtml`: no reload, an open workbook comes to the
    front). Running the cell again reads the store again, so an acknowledged flag leaves
    the list."""
    import ipywidgets as W

    from casebook.clinic._widgets import SectionBox
    from casebook.notebooks import LabHtml

    if session._drawn:
        session.reload()
    session._drawn = True
    show = W.Dropdown(description="Show", options=SHOW_CHOICES, value=DECISIONS)
    show.layout.width = "22rem"
    sign_off = W.Button(icon="check", tooltip="Mark every in-range result reviewed (audited)")
    sign_off.layout.width = "auto"
    status = W.HTML()
    table = LabHtml()  # never an ipywidgets HTML value: its links reload JupyterLab

    def redraw() -> None:
        table.value = worklist_html(session, show.value)
        sign_off.description, n = _sign_off_label(session)
        sign_off.disabled = n == 0

    def on_sign_off(_: Any) -> None:
        try:
            done = sign_off_in_range(
                session.store,
                today=session.today,
                clinic_filter=session.filter,
                frames=session.frames,
            )
        except CasebookError as exc:
            status.value = _ERROR.format(str(exc))
            return
        n = sum(done.values())
        status.value = _DONE.format(
            f"Signed off {n} in-range result{'s' if n != 1 else ''} of {len(done)} "
            f"patient{'s' if len(done) != 1 else ''} (each one audit entry)."
        )
        session.reload()

    show.observe(lambda _: redraw(), names="value")
    sign_off.on_click(on_sign_off)
    session.observe(redraw)
    redraw()
    return SectionBox(
        [W.HBox([show, sign_off, status]), table.widget], sentence=WORKLIST_SENTENCE, html=table
    )
