"""The sections of a patient's dashboard (templates/dashboard.ipynb calls one per cell).

Written for a lay reader, from the store only: the plan in plain words, symptom progress
since the first visit, questionnaire scores and what they mean, test results with their
usual ranges and how much weight a test carries, tests still to come, and the notes the
practitioner chose to share. Nothing written for the practitioner appears: no rationale,
no red-flag rule, reason or threshold, no practitioner-only note, no history.

Red flags: while the record raises an urgent or same-day red flag that is open and not yet
acknowledged (clinical.flag_lifecycle), the page shows one kind sentence asking the patient to
get in touch, and nothing of the rule, the reason or the value; it never promises a call-back
at a given time. A result that a red flag cites reads "your practitioner would like to talk this
result through with you", never "within the usual range". A page of calm charts must not
reassure a patient whose record holds an alarm feature, and the details are for a
conversation, not for a web page.

The HTML comes from Jinja templates (`casebook/dashboard/templates/`) with autoescape on:
every string that came from a person (names, plan text, doses, notes, units, free-text
results) and every catalog string is escaped because it is inserted with `{{ }}`, not because
each call site remembered to escape it. Voilà marks outputs trusted, so unescaped markup
would run. The only `Markup` is a chart figure rendered by a template. Charts are
vl-convert SVG shown as `<img>` data URLs, where no script can ever run.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from markupsafe import Markup

from casebook.catalog import Catalog
from casebook.catalog.schema import LabTest
from casebook.charts.remote import CHART_SOCKET_ENV
from casebook.clinical.baseline import baseline_visit, symptoms_start
from casebook.clinical.flag_lifecycle import (
    FlagStatus,
    cited_result_words,
    flag_statuses,
    patient_plan_item,
)
from casebook.clinical.red_flags import RedFlag, red_flags
from casebook.clinical.scoring import ScoringError, read_result, score_instrument
from casebook.clinical.vocabulary import (
    EVIDENCE_PATIENT_WORDS,
    GET_IN_TOUCH_WHY,
    SEVERITY_PATIENT_WORDS,
    result_patient_words,
)
from casebook.format import day, number
from casebook.models import PLAN_CATEGORIES, Case, PlanItem, TestResult
from casebook.templating import compile_templates, environment

__all__ = [
    "CHART_SOCKET",
    "CHECKIN_PATH",
    "SUMMARY_PATH",
    "Dashboard",
    "Section",
    "attention",
    "footer",
    "header",
    "load_dashboard",
    "notes_section",
    "plan_section",
    "questionnaires_section",
    "results_section",
    "symptoms_section",
    "upcoming_tests_section",
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


# --- the sections ------------------------------------------------------------------------
CHECKIN_PATH = "/checkin"
"""Where the dashboard server opens the session patient's waiting check-in."""
SUMMARY_PATH = "/dashboard/summary.pdf"
"""Where the dashboard server gives the session's patient their latest after-visit summary."""


def header(page: Dashboard) -> Section:
    """The patient's name, the last visit, the link to their latest after-visit summary
    when one was made (the server finds it from the session: the link names no letter),
    and "a check-in is ready" with its link while one waits for their answers."""
    visits = page.case.held_visits()
    summaries = [x.letter_date for x in page.case.letters if x.kind == "after_visit_summary"]
    return _section(
        "header",
        name=page.case.patient.name,
        last_visit=visits[-1].visit_date if visits else None,
        summary_on=max(summaries, default=None),
        summary_href=SUMMARY_PATH,
        checkin_ready=page.checkin_ready,
        checkin_href=CHECKIN_PATH,
    )


def attention(page: Dashboard) -> Section:
    """A kind request to get in touch while an urgent or same-day red flag is open and not
    acknowledged yet (clinical.flag_lifecycle); nothing else, and never a promise of a call-back
    at a given time (the clinic may not be able to keep it)."""
    words = next((s.urgency.patient_words for s in page.statuses if s.needs_contact), "")
    if not words:
        return Section("attention", "")
    return _section("attention", words=words, why=GET_IN_TOUCH_WHY)


def _plan_item(item: PlanItem, today: date) -> dict[str, Any]:
    facts = []
    if item.dose:
        facts.append(("How much", item.dose))
    if item.frequency:
        facts.append(("How often", item.frequency))
    if item.start:
        facts.append(("Since" if item.start <= today else "Starts", day(item.start)))
    if item.end:
        facts.append(("Until", day(item.end)))
    return {"name": item.name, "facts": facts, "instructions": item.instructions}


def plan_section(page: Dashboard) -> Section:
    """Ongoing plan items grouped by category; finished ones folded away. Items still only
    suggested are left for the next visit."""
    from casebook.charts import CATEGORY_LABELS, plan_timeline

    # the patient sees each item's patient-facing name, never the practitioner's wording
    statuses = page.statuses
    items = sorted(
        (patient_plan_item(i, statuses, today=page.today) for i in page.case.plan),
        key=lambda i: (i.start or date.max, i.name),
    )
    active = [i for i in items if i.status == "active"]
    done = [i for i in items if i.status in ("completed", "stopped")]
    if not active and not done:
        return _section("plan", groups=[], done=[])
    labels = CATEGORY_LABELS["patient"]
    groups = [
        (
            labels.get(category, category),
            [_plan_item(i, page.today) for i in active if i.category == category],
        )
        for category in PLAN_CATEGORIES
    ]
    shown = page.case.model_copy(update={"plan": active + done})
    chart = _chart(
        plan_timeline(shown, audience="patient", today=page.today),
        "A timeline of your plan: when each part started and when it ends.",
    )
    return _section("plan", groups=[g for g in groups if g[1]], done=done, chart=chart)


def _symptom_label(page: Dashboard, key: str) -> str:
    try:
        return page.catalog.symptom(key).patient_label
    except KeyError:
        return key.replace("_", " ").capitalize()


def symptoms_section(page: Dashboard) -> Section:
    """The symptom chart, and each symptom's change from the first to the latest visit."""
    from casebook.charts import symptom_chart

    case = page.case
    first = symptoms_start(case)  # where the symptoms start (clinical.baseline)
    if first is None:
        return _section("symptoms", first=None)
    chart = _chart(
        symptom_chart(case, page.catalog, audience="patient"),
        "How strong each symptom was at each visit, from 0 (none) to 4 (severe).",
    )
    rated = {r.visit_id for r in case.symptoms}
    last = [v for v in case.sorted_visits() if v.id in rated][-1]
    before = {r.symptom: r.severity for r in case.symptoms if r.visit_id == first.id}
    after = {r.symptom: r.severity for r in case.symptoms if r.visit_id == last.id}
    # "stronger", not "worse": calm, plain words (the page is read by the patient, who may
    # be low), never in alarm red; the practitioner's views say "worse".
    rows, counts = [], {"better": 0, "the same": 0, "stronger": 0}
    known = [s.key for s in page.catalog.symptoms]
    for key in known + sorted(set(before) - set(known)):
        if key not in before or key not in after:
            continue
        a, b = before[key], after[key]
        word = "better" if b < a else "stronger" if b > a else "the same"
        counts[word] += 1
        rows.append(
            (_symptom_label(page, key), word, SEVERITY_PATIENT_WORDS[a], SEVERITY_PATIENT_WORDS[b])
        )
    first_day = first.visit_date
    last_day = first_day if first.id == last.id else last.visit_date
    return _section(
        "symptoms",
        first=first_day,
        last=last_day,
        checkin=first.is_checkin,  # the patient's own report: said as such
        first_visit=first == baseline_visit(case),
        chart=chart,
        rows=rows,
        counts=counts,
    )


def questionnaires_section(page: Dashboard) -> Section:
    """Each questionnaire's latest score, what it means, and its scores visit by visit."""
    case, blocks = page.case, []
    order = {v.id: i for i, v in enumerate(case.sorted_visits())}
    visits = {v.id: v for v in case.visits}
    for key, inst in page.catalog.instruments.items():
        scored = []
        for r in sorted(
            (r for r in case.instruments if r.instrument == key),
            key=lambda r: order.get(r.visit_id, -1),
        ):
            try:
                scored.append((visits[r.visit_id], score_instrument(inst, r.answers)))
            except (ScoringError, KeyError):
                continue
        if not scored:
            continue
        last, latest = scored[-1]
        lo, hi = inst.total_range
        measures = inst.measures.split(" (")[0]  # "stool form (a proxy for ...)": first words
        scale = f"scores run from {lo} to {hi}"
        if inst.scoring == "sum":
            scale += f"; {'lower' if inst.higher_is_worse else 'higher'} is better"
        trail = (
            " → ".join(
                f"{score.total} ({v.visit_date.day} {v.visit_date:%b}"
                f"{', your check-in' if v.is_checkin else ''})"
                for v, score in scored
            )
            if len(scored) > 1
            else ""
        )
        blocks.append(
            {
                "what": f"{measures[:1].upper()}{measures[1:]}",  # plain words, no acronym
                "total": latest.total,
                "when": last.visit_date,
                "checkin": last.is_checkin,  # the patient's own answers: said so
                "scale": scale,
                "band_text": latest.band_text,
                "trail": trail,
            }
        )
    return _section("questionnaires", blocks=blocks)


_LAB_LIMIT_WORDS = (
    "This test is read against the testing lab's own limit, which we do not have yet. "
    "Your practitioner will check it with the lab before using the result."
)


def _range_text(low: float | None, high: float | None, unit: str, test: LabTest | None) -> str:
    if low is None and high is None and test is not None and test.needs_lab_range:
        return _LAB_LIMIT_WORDS
    if low is not None and high is not None:
        return f"Usual range: {number(low)} to {number(high)} {unit}"
    if high is not None:
        return f"Usual range: up to {number(high)} {unit}"
    if low is not None:
        return f"Usual range: {number(low)} {unit} or more"
    return "No usual range is given for this test; your practitioner will explain it."


def _test_name(page: Dashboard, key: str) -> str:
    test = page.catalog.tests.get(key)
    return test.patient_name if test else key.replace("_", " ").capitalize()


def _result_block(page: Dashboard, key: str, results: list[TestResult]) -> dict[str, Any]:
    from casebook.charts import analyte_chart

    test, last = page.catalog.tests.get(key), results[-1]
    reading = read_result(last, test, page.case.patient.sex)
    flag = reading.flag
    if last.value is not None:
        shown = f"{number(last.value)} {last.unit}"
        words = result_patient_words(flag, numeric=True)
    else:
        shown = last.value_text or ""
        words = result_patient_words(flag, numeric=False)
    judged = flag is not None or last.value is None or reading.has_range
    discuss = cited_result_words(last.id, page.statuses)
    numeric = [r for r in results if r.value is not None]
    chart = (
        _chart(
            analyte_chart(page.case, page.catalog, key, audience="patient"),
            f"Your {test.patient_name} results over time.",
        )
        if test is not None and len(numeric) > 1
        else ""
    )
    return {
        "name": _test_name(page, key),
        "shown": shown,
        "on": last.collected_on,
        "verdict": discuss or (words if judged else ""),
        "verdict_class": "discuss" if discuss else (flag or "ok").lower(),
        "range_text": (
            _range_text(reading.low, reading.high, last.unit, test)
            if last.value is not None
            else ""
        ),
        "test": test,
        "evidence_words": EVIDENCE_PATIENT_WORDS[test.evidence] if test else "",
        "chart": chart,
    }


def results_section(page: Dashboard) -> Section:
    """The latest result of each test, its usual range, and a note on the test itself."""
    case = page.case
    keys = list(dict.fromkeys([*page.catalog.tests, *sorted({r.test for r in case.results})]))
    blocks = []
    for key in keys:
        results = sorted((r for r in case.results if r.test == key), key=lambda r: r.collected_on)
        if results:
            blocks.append(_result_block(page, key, results))
    return _section("results", blocks=blocks)


def upcoming_tests_section(page: Dashboard) -> Section:
    """Tests asked for that have no result yet."""
    rows = []
    for order in sorted(page.case.orders, key=lambda o: o.ordered_on):
        if order.status not in ("ordered", "collected"):
            continue
        test = page.catalog.tests.get(order.test)
        state = (
            f"sample taken on {day(order.collected_on)}, waiting for the result"
            if order.status == "collected" and order.collected_on
            else f"asked for on {day(order.ordered_on)}"
        )
        rows.append(
            {
                "name": _test_name(page, order.test),
                "state": state,
                "note": test.patient_note if test else "",
            }
        )
    return _section("upcoming", rows=rows)


def notes_section(page: Dashboard) -> Section:
    """Only the notes the practitioner shared with the patient, newest first."""
    shared = sorted(
        (n for n in page.case.notes if n.visibility == "shared"),
        key=lambda n: n.written_on,
        reverse=True,
    )
    if not shared:
        return Section("notes", "")
    return _section("notes", notes=shared)


def footer(page: Dashboard) -> Section:
    return _section("footer", today=page.today)
