"""The sections of the practitioner's case workbook (`templates/case.ipynb`), one function per
section, and the notebooks made from it.

A template cell holds one call:

    session = workbook.open_case(patient_id, database_url)
    workbook.patient_banner(session)
    workbook.header(session)
    workbook.symptoms_section(session)

Each section returns a `WidgetSection` that displays as its widgets; its `forms` are there for
tests and for scripting. Nothing here holds case data: the session reads it from the store.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from casebook.errors import InputError

if TYPE_CHECKING:
    import ipywidgets

    from casebook.workbook.widgets.session import CaseSession

__all__ = [
    "TEMPLATE",
    "WidgetSection",
    "case_notebook",
    "header",
    "history_section",
    "instruments_section",
    "notes_section",
    "open_case",
    "patient_banner",
    "plan_section",
    "symptoms_section",
    "tests_section",
    "visits_section",
    "write_case_notebooks",
]

TEMPLATE = "case.ipynb"


@dataclass
class WidgetSection:
    """What a template cell displays: the section's widgets, and its forms by name."""

    widget: ipywidgets.Widget
    forms: dict[str, Any] = field(default_factory=dict)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        from casebook.workbook.widgets import widget_bundle

        # The widget's view, and where no widget manager runs (the batch's HTML archive)
        # its static HTML.
        return widget_bundle(self.widget)

    def __getitem__(self, name: str) -> Any:
        return self.forms[name]


def open_case(patient_id: str, database_url: str, *, actor: str | None = None) -> CaseSession:
    """The session of one patient's case. Raises InputError when no patient is given (a
    template run by hand: its parameters name nobody), NotFoundError ('no patient ...') for
    an unknown patient, StoreError for a store that is missing or needs `casebook init`.
    In a notebook each is one line, not a traceback (`CasebookError._render_traceback_`)."""
    if not patient_id:
        raise InputError(
            "patient_id: no patient given; make a patient's workbook with "
            "`casebook new PATIENT` (or `casebook batch`) and open that one"
        )
    from casebook.kernels.imports import defer_rfc3987_syntax

    defer_rfc3987_syntax()
    from casebook.store import CaseStore
    from casebook.workbook.widgets.session import CaseSession

    store = CaseStore(database_url, actor=actor)
    try:
        return CaseSession(store, patient_id, owns_store=True)
    except BaseException:
        store.close()
        raise


def _section(session: CaseSession, *parts: tuple[str, Any], forms: dict[str, Any]) -> WidgetSection:
    import ipywidgets as W

    look = session.look
    children: list[W.Widget] = []
    for title, part in parts:
        if title:
            children.append(
                look.make(W.HTML, value=f"<h4 style='margin:12px 0 4px 0'>{title}</h4>")
            )
        children.append(part.widget)
    return WidgetSection(children[0] if len(children) == 1 else look.column(children), forms)


def patient_banner(session: CaseSession) -> WidgetSection:
    """Whose record this is: name, date of birth, age, sex and id. The workbook's first
    output; in JupyterLab its cell stays at the top while the notebook scrolls."""
    from casebook.workbook.widgets.banner import PatientBanner

    banner = PatientBanner(session)
    return _section(session, ("", banner), forms={"banner": banner})


def header(session: CaseSession) -> WidgetSection:
    """The red flags, visits, last saved and unsaved sections (who the patient is: the
    banner above)."""
    from casebook.workbook.widgets.header import Header

    form = Header(session)
    section = _section(session, ("", form), forms={"header": form})
    from casebook.workbook.widgets import read_only_notice

    banner = read_only_notice(session)
    if banner is not None:  # a reviewer's: say so above everything
        section.widget = session.look.column([banner, section.widget])
    return section


def visits_section(session: CaseSession) -> WidgetSection:
    """Switch visits, start a follow-up, the alarm screen, change since baseline."""
    from casebook.workbook.widgets.visits import VisitsForm

    form = VisitsForm(session)
    return _section(session, ("", form), forms={"visits": form})


def history_section(session: CaseSession) -> WidgetSection:
    """Every history category: infections, conditions, medications, diet, stress,
    exposures, food sensitivities, family history."""
    from casebook.workbook.widgets.history import HistoryForm

    form = HistoryForm(session)
    return _section(session, ("", form), forms={"history": form})


def symptoms_section(session: CaseSession) -> WidgetSection:
    """The eleven symptoms of the selected visit beside the chart of every visit."""
    from casebook.workbook.widgets.symptoms import SymptomsForm

    form = SymptomsForm(session)
    return _section(session, ("", form), forms={"symptoms": form})


def instruments_section(session: CaseSession) -> WidgetSection:
    """PHQ-9, GAD-7, PSS-10, FAS, Bristol and the clinic's instruments, scored live."""
    from casebook.workbook.widgets.instruments import InstrumentsForm

    form = InstrumentsForm(session)
    return _section(session, ("", form), forms={"instruments": form})


def tests_section(session: CaseSession) -> WidgetSection:
    """Order from the catalog (evidence first), order status, results and trends."""
    from casebook.workbook.widgets import Fold
    from casebook.workbook.widgets.orders import OrderForm, OrderStatusForm
    from casebook.workbook.widgets.results import ResultForm, ResultsView

    order, status = OrderForm(session), OrderStatusForm(session)
    result, results = ResultForm(session), ResultsView(session)
    # The two forms for new entries stay folded (out of the page) until asked for.
    ordering = Fold(session.look, [order.widget], label="Order a test")
    entering = Fold(session.look, [result.widget], label="Enter a result")
    return _section(
        session,
        ("", ordering),
        ("Open orders", status),
        ("", entering),
        ("Results", results),
        forms={
            "order": order,
            "status": status,
            "result": result,
            "results": results,
            "ordering": ordering,
            "entering": entering,
        },
    )


def plan_section(session: CaseSession) -> WidgetSection:
    """Plan items by category, from templates or from scratch; start, stop, edit."""
    from casebook.workbook.widgets.plan import PlanForm

    form = PlanForm(session)
    return _section(session, ("", form), forms={"plan": form})


def notes_section(session: CaseSession) -> WidgetSection:
    """Notes, practitioner-only or shared with the patient."""
    from casebook.workbook.widgets.notes import NotesForm

    form = NotesForm(session)
    return _section(session, ("", form), forms={"notes": form})


# --- notebooks ----------------------------------------------------------------------------
def case_notebook(
    patient_id: str,
    database_url: str,
    out_dir: str | Path = "notebooks",
    *,
    execute: bool = False,
    timeout: float = 120,
    force: bool = False,
) -> Path:
    """Write the case workbook `out_dir/<patient_id>/<Name>-<patient_id>.ipynb` (named after
    the patient: JupyterLab's tab shows it) from the case template and return its path.

    The id and URL are checked before Papermill sees them (ParameterError), the patient must
    exist (NotFoundError 'no patient ...'), an existing notebook is kept unless `force`
    (InputError naming its folder), and a failed run leaves no file behind. The patient's
    workbook under an older name (or `case.ipynb`) is renamed first, never left beside it."""
    return write_case_notebooks(
        database_url, [patient_id], out_dir, execute=execute, timeout=timeout, force=force
    )[0]


def write_case_notebooks(
    database_url: str,
    patient_ids: Iterable[str],
    out_dir: str | Path = "notebooks",
    *,
    execute: bool = False,
    timeout: float = 120,
    force: bool = False,
) -> list[Path]:
    """`case_notebook` for several patients of one store; the paths in the same order.
    Nothing is written when any of them exists already (unless `force`)."""
    from casebook.notebooks import (
        adopt_previous,
        case_notebook_path,
        case_parameters,
        kernel_env,
        kernel_settings,
        refuse_overwrite,
        run_notebook,
        template_path,
    )
    from casebook.store import CaseStore, NotFoundError

    template = template_path(TEMPLATE)
    checked = [case_parameters(pid, database_url) for pid in patient_ids]
    with CaseStore(database_url) as store:
        known = store.existing_patients([params["patient_id"] for params in checked])
    for params in checked:
        if params["patient_id"] not in known:
            raise NotFoundError(f"no patient {params['patient_id']!r} in the store")
    jobs = []
    for params in checked:
        pid = params["patient_id"]
        jobs.append((case_notebook_path(Path(out_dir), pid, known[pid].name), params))
    for path, params in jobs:
        adopt_previous(path, params["patient_id"])
        refuse_overwrite(path, force=force)
    # On IPC through casebook's kernel manager: no "running over TCP" warning for the user,
    # and a PostgreSQL password reaches the kernel's environment, never the notebook.
    kernel = kernel_settings((), kernel_env(database_url)) if execute else {}
    return [
        run_notebook(template, path, params, execute=execute, timeout=timeout, **kernel)
        for path, params in jobs
    ]
