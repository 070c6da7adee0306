"""What every section of the patient's dashboard is made from: the page's data
(`Dashboard`, read from the store by `load_dashboard`), a rendered block (`Section`) from
its autoescaped Jinja template, and a chart as an SVG image. The sections themselves are in
`sections.py` (and the test results in `_results.py`)."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from markupsafe import Markup

from casebook.catalog import Catalog
from casebook.charts.remote import CHART_SOCKET_ENV
from casebook.clinical.flag_lifecycle import FlagStatus, flag_statuses
from casebook.clinical.red_flags import RedFlag, red_flags
from casebook.models import Case
from casebook.templating import compile_templates, environment

__all__ = [
    "CHART_SOCKET",
    "Dashboard",
    "Section",
    "load_dashboard",
    "warm_templates",
]

_PACKAGE = "casebook.dashboard"
CHART_SOCKET = CHART_SOCKET_ENV  # set by casebook serve: its shared chart renderer


def _render(template_name: str, **context: Any) -> str:
    # every {{ value }} is escaped unless it is Markup from a template; the page is one line
    template = environment(_PACKAGE, "compact").get_template(f"{template_name}.html.j2")
    return template.render(**context)


def warm_templates() -> int:
    """Compile the sections' templates now (the fork server does, before it forks)."""
    return compile_templates(_PACKAGE, "compact")


def _section(section: str, **context: Any) -> Section:
    """The section, rendered from dashboard/templates/<section>.html.j2."""
    return Section(section, _render(section, **context))


@dataclass(frozen=True)
class Section:
    """One block of the page: HTML (already escaped) that a notebook cell displays."""

    name: str
    html: str

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/html": self.html, "text/plain": f"[{self.name}]"} if self.html else {}


@dataclass(frozen=True)
class Dashboard:
    """What the sections read: one case, the catalog, its red flags, and today's date."""

    case: Case
    catalog: Catalog
    flags: list[RedFlag] = field(default_factory=list)
    today: date = field(default_factory=date.today)
    checkin_ready: bool = False  # a check-in waits for the patient's answers

    @property
    def statuses(self) -> list[FlagStatus]:
        """The flags with where they stand today (clinical.flag_lifecycle)."""
        return flag_statuses(self.flags, self.case.flag_reviews, today=self.today)

    @property
    def needs_contact(self) -> bool:
        """Is an urgent or same-day flag open and not acknowledged yet?"""
        return any(s.needs_contact for s in self.statuses)


def load_dashboard(patient_id: str, database_url: str) -> Dashboard:
    """Read the patient's case from the store (read-only) and start the chart engine."""
    from casebook.charts import warm_up
    from casebook.store import CaseStore

    if not os.environ.get(CHART_SOCKET):  # no shared renderer: start ours while reading
        warm_up(background=True)  # ~0.5 s of JavaScript start-up
    with CaseStore(database_url or None, actor="casebook dashboard") as store:
        case = store.load_case(patient_id)
        catalog = store.catalog
        now = datetime.now(UTC)
        waiting = store.checkins(patient_id, status="sent")
    flags = red_flags(case, catalog.red_flags, catalog.instruments, catalog.tests)
    ready = any(c.closed_reason(now) is None for c in waiting)
    return Dashboard(case, catalog, flags, checkin_ready=ready)


def _chart(chart: Any, description: str) -> Markup:
    """The chart as an SVG image (a data URL); a short note if it cannot be drawn."""
    from casebook.charts import ChartError, render_svg

    try:
        data: str | None = base64.b64encode(render_svg(chart).encode("utf-8")).decode("ascii")
    except ChartError:
        data = None
    # safe as Markup: the output of our own autoescaping template
    return Markup(_render("chart", data=data, description=description))  # noqa: S704
