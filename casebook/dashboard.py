"""The sections of a patient's dashboard (templates/dashboard.ipynb calls one per cell).

Written for a lay reader, from the store only: the plan in plain words, symptom progress
since the first visit, questionnaire scores and what they mean, test results with their
usual ranges and how much weight a test carries, tests still to come, and the notes the
practitioner chose to share. Nothing written for the practitioner appears: no rationale,
no red-flag rule, reason or threshold, no practitioner-only note, no history.

Red flags: when the record raises an urgent or same-day red flag, the page shows one kind
sentence asking the patient to get in touch, and nothing of the rule, the reason or the
value. A page of calm charts must not reassure a patient whose record holds an alarm
feature, and the details are for a conversation, not for a web page.

Every string that came from a person (names, plan text, doses, notes, units, free-text
results) and every catalog string is escaped with `html.escape` before it becomes HTML:
Voilà marks outputs trusted, so unescaped markup would run. Charts are vl-convert SVG shown
as `<img>` data URLs, where no script can ever run.
"""

from __future__ import annotations

import base64
import html
import os
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from casebook.catalog import Catalog, LabTest
from casebook.kernels import CHART_SOCKET_ENV
from casebook.models import PLAN_CATEGORIES, Case, PlanItem, TestResult
from casebook.redflags import RedFlag, red_flags
from casebook.scoring import ScoringError, result_flag, score_instrument

__all__ = [
    "EVIDENCE_WORDS",
    "SEVERITY_WORDS",
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
]

SEVERITY_WORDS = ("none", "mild", "moderate", "strong", "severe")
EVIDENCE_WORDS = {
    "guideline-backed": "A standard test that medical guidelines recommend.",
    "supportive": "A test that can add useful information alongside others.",
    "research-only": "A test still being studied: its results are uncertain, so your "
                     "practitioner will not base decisions on it alone.",
    "not-recommended": "Experts do not recommend this test: its results are not reliable "
                       "enough to base decisions on.",
}
_FLAG_WORDS = {"H": "above the usual range", "L": "below the usual range",
               "A": "not the usual result", None: "within the usual range"}
_TEXT_FLAG_WORDS = {"A": "not the usual result", None: "the usual result"}
_URGENT = ("same_day", "urgent")
CHART_SOCKET = CHART_SOCKET_ENV  # set by casebook serve: its shared chart renderer


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _day(value: date) -> str:
    return f"{value.day} {value:%B %Y}"


def _num(value: float) -> str:
    return f"{value:.10g}"


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


def load_dashboard(patient_id: str, database_url: str) -> Dashboard:
    """Read the patient's case from the store (read-only) and start the chart engine."""
    from casebook.charts import warm_up
    from casebook.store import CaseStore

    if not os.environ.get(CHART_SOCKET):  # no shared renderer: start ours while reading
        warm_up(background=True)  # ~0.5 s of JavaScript start-up
    with CaseStore(database_url or None, actor="casebook dashboard") as store:
        case = store.load_case(patient_id)
        catalog = store.catalog
    flags = red_flags(case, catalog.red_flags, catalog.instruments, catalog.tests)
    return Dashboard(case, catalog, flags)


def _card(name: str, title: str, body: str, intro: str = "") -> Section:
    lead = f'<p class="cb-intro">{intro}</p>' if intro else ""
    return Section(name, f'<section class="cb-card" id="{name}"><h2>{_e(title)}</h2>'
                         f"{lead}{body}</section>")


def _svg(chart: Any) -> str:
    """SVG from the dashboard server's shared renderer when there is one, else in-process."""
    from casebook.charts import render_svg

    socket_path = os.environ.get(CHART_SOCKET)
    if socket_path:
        from casebook.serve.chartd import render_remote

        try:  # the builders' specs are validated by their tests; vl-convert checks again
            return render_remote(chart.to_dict(validate=False), socket_path)
        except (OSError, ValueError):
            pass  # render here instead (slower, same result; a bad spec raises ChartError)
    return render_svg(chart)


def _chart(chart: Any, description: str) -> str:
    """The chart as an SVG image (a data URL); a short note if it cannot be drawn."""
    from casebook.charts import ChartError

    try:
        data = base64.b64encode(_svg(chart).encode("utf-8")).decode("ascii")
    except ChartError:
        return '<p class="cb-muted">The chart could not be drawn just now.</p>'
    return (f'<figure class="cb-chart"><img src="data:image/svg+xml;base64,{data}" '
            f'alt="{_e(description)}"></figure>')


# --- the sections ------------------------------------------------------------------------
def header(page: Dashboard) -> Section:
    visits = page.case.sorted_visits()
    seen = f" Your last visit was on {_day(visits[-1].visit_date)}." if visits else ""
    return Section("header", (
        '<header class="cb-header"><p class="cb-kicker">Your care dashboard</p>'
        f"<h1>{_e(page.case.patient.name)}</h1>"
        f'<p class="cb-intro">Your plan, your progress and your test results.{seen} This page '
        "only shows information: to change anything, talk to your practitioner.</p></header>"
    ))


def attention(page: Dashboard) -> Section:
    """A kind request to get in touch when an urgent red flag is raised; nothing else."""
    if not any(flag.urgency in _URGENT for flag in page.flags):
        return Section("attention", "")
    return Section("attention", (
        '<section class="cb-card cb-attention" id="attention" role="note">'
        "<h2>Please get in touch with your practitioner</h2><p>Some of your answers or "
        "results are ones your practitioner would like to talk through with you soon. If you "
        "have already spoken about them, there is nothing more you need to do.</p></section>"
    ))


def _plan_item(item: PlanItem, today: date) -> str:
    facts = []
    if item.dose:
        facts.append(("How much", _e(item.dose)))
    if item.frequency:
        facts.append(("How often", _e(item.frequency)))
    if item.start:
        facts.append(("Since" if item.start <= today else "Starts", _day(item.start)))
    if item.end:
        facts.append(("Until", _day(item.end)))
    rows = "".join(f"<div><dt>{k}</dt><dd>{v}</dd></div>" for k, v in facts)
    dl = f'<dl class="cb-facts">{rows}</dl>' if rows else ""
    why = f'<p class="cb-why">{_e(item.instructions)}</p>' if item.instructions else ""
    return f'<article class="cb-item"><h4>{_e(item.name)}</h4>{dl}{why}</article>'


def plan_section(page: Dashboard) -> Section:
    """Ongoing plan items grouped by category; finished ones folded away. Items still only
    suggested are left for the next visit."""
    from casebook.charts import CATEGORY_LABELS, plan_timeline

    items = sorted(page.case.plan, key=lambda i: (i.start or date.max, i.name))
    active = [i for i in items if i.status == "active"]
    done = [i for i in items if i.status in ("completed", "stopped")]
    if not active and not done:
        return _card("plan", "Your plan", "<p>Your plan will appear here after your "
                     "practitioner has agreed it with you.</p>")
    labels = CATEGORY_LABELS["patient"]
    groups = []
    for category in PLAN_CATEGORIES:
        mine = [i for i in active if i.category == category]
        if mine:
            groups.append(f'<div class="cb-group"><h3>{_e(labels.get(category, category))}'
                          f'</h3>{"".join(_plan_item(i, page.today) for i in mine)}</div>')
    body = "".join(groups) or "<p>Nothing in your plan is ongoing right now.</p>"
    if done:
        rows = "".join(f"<li>{_e(i.name)}{f' (until {_day(i.end)})' if i.end else ''}</li>"
                       for i in done)
        body += (f'<details class="cb-done"><summary>Finished ({len(done)})</summary>'
                 f"<ul>{rows}</ul></details>")
    shown = page.case.model_copy(update={"plan": active + done})
    body += _chart(plan_timeline(shown, audience="patient", today=page.today),
                   "A timeline of your plan: when each part started and when it ends.")
    return _card("plan", "Your plan", body, "What to take or do, how often, since when, "
                 "and why. Please follow it as agreed with your practitioner.")


def _symptom_label(page: Dashboard, key: str) -> str:
    try:
        return page.catalog.symptom(key).patient_label
    except KeyError:
        return key.replace("_", " ").capitalize()


def symptoms_section(page: Dashboard) -> Section:
    """The symptom chart, and each symptom's change from the first to the latest visit."""
    from casebook.charts import symptom_chart

    case = page.case
    rated = {r.visit_id for r in case.symptoms}
    visits = [v for v in case.sorted_visits() if v.id in rated]
    if not visits:
        return _card("symptoms", "Your symptoms", "<p>No symptoms have been recorded yet.</p>")
    chart = _chart(symptom_chart(case, page.catalog, audience="patient"),
                   "How strong each symptom was at each visit, from 0 (none) to 4 (severe).")
    first, last = visits[0], visits[-1]
    if first.id == last.id:
        text = (f"<p>Your symptoms were recorded on {_day(first.visit_date)}. How they change "
                "will show here after your next visit.</p>")
        return _card("symptoms", "Your symptoms", text + chart)
    before = {r.symptom: r.severity for r in case.symptoms if r.visit_id == first.id}
    after = {r.symptom: r.severity for r in case.symptoms if r.visit_id == last.id}
    rows, counts = [], {"better": 0, "the same": 0, "worse": 0}
    for key in [s.key for s in page.catalog.symptoms] + sorted(set(before) - {
            s.key for s in page.catalog.symptoms}):
        if key not in before or key not in after:
            continue
        a, b = before[key], after[key]
        word = "better" if b < a else "worse" if b > a else "the same"
        counts[word] += 1
        rows.append(f'<li><span class="cb-label">{_e(_symptom_label(page, key))}</span> '
                    f'<span class="cb-change cb-{word.replace(" ", "-")}">{word}</span> '
                    f'<span class="cb-muted">was {SEVERITY_WORDS[a]}, now '
                    f"{SEVERITY_WORDS[b]}</span></li>")
    summary = (f"<p>Since your first visit on {_day(first.visit_date)}: "
               f"<strong>{counts['better']} better</strong>, {counts['the same']} about the "
               f"same, {counts['worse']} worse (latest: {_day(last.visit_date)}).</p>")
    return _card("symptoms", "Your symptoms",
                 summary + chart + f'<ul class="cb-list">{"".join(rows)}</ul>')


def questionnaires_section(page: Dashboard) -> Section:
    """Each questionnaire's latest score, what it means, and its scores visit by visit."""
    case, blocks = page.case, []
    order = {v.id: i for i, v in enumerate(case.sorted_visits())}
    dates = {v.id: v.visit_date for v in case.visits}
    for key, inst in page.catalog.instruments.items():
        scored = []
        for r in sorted((r for r in case.instruments if r.instrument == key),
                        key=lambda r: order.get(r.visit_id, -1)):
            try:
                scored.append((dates[r.visit_id], score_instrument(inst, r.answers)))
            except (ScoringError, KeyError):
                continue
        if not scored:
            continue
        when, latest = scored[-1]
        lo, hi = inst.total_range
        measures = inst.measures.split(" (")[0]  # "stool form (a proxy for ...)": first words
        what = f"{measures[:1].upper()}{measures[1:]} ({inst.short_name})"
        scale = f"scores run from {lo} to {hi}"
        if inst.scoring == "sum":
            scale += f"; {'lower' if inst.higher_is_worse else 'higher'} is better"
        text = (f"<p><strong>Latest: {latest.total}</strong> on {_day(when)} "
                f'<span class="cb-muted">({scale})</span></p>')
        if latest.band_text:
            text += f'<p class="cb-meaning">{_e(latest.band_text)}</p>'
        if len(scored) > 1:
            trail = " → ".join(f"{score.total} ({day.day} {day:%b})" for day, score in scored)
            text += f'<p class="cb-trail"><span class="cb-muted">Visit by visit:</span> {trail}</p>'
        blocks.append(f'<article class="cb-item"><h3>{_e(what)}</h3>{text}</article>')
    return _card("questionnaires", "Your questionnaires",
                 "".join(blocks) or "<p>No questionnaires have been scored yet.</p>",
                 "What your answers to the questionnaires show. Your practitioner reads them "
                 "together with everything else you tell them." if blocks else "")


def _range(result: TestResult, test: LabTest | None, sex: str) -> tuple[float | None, ...]:
    if result.ref_low is not None or result.ref_high is not None:
        return result.ref_low, result.ref_high
    return test.range_for(sex) if test is not None else (None, None)


def _range_text(low: float | None, high: float | None, unit: str) -> str:
    if low is not None and high is not None:
        return f"Usual range: {_num(low)} to {_num(high)} {_e(unit)}"
    if high is not None:
        return f"Usual range: up to {_num(high)} {_e(unit)}"
    if low is not None:
        return f"Usual range: {_num(low)} {_e(unit)} or more"
    return "No usual range is given for this test; your practitioner will explain it."


def _test_name(page: Dashboard, key: str) -> str:
    test = page.catalog.tests.get(key)
    return test.patient_name if test else key.replace("_", " ").capitalize()


def results_section(page: Dashboard) -> Section:
    """The latest result of each test, its usual range, and a note on the test itself."""
    from casebook.charts import analyte_chart

    case, sex, blocks = page.case, page.case.patient.sex, []
    keys = list(dict.fromkeys([*page.catalog.tests, *sorted({r.test for r in case.results})]))
    for key in keys:
        results = sorted((r for r in case.results if r.test == key), key=lambda r: r.collected_on)
        if not results:
            continue
        test, last = page.catalog.tests.get(key), results[-1]
        low, high = _range(last, test, sex)
        if last.value is not None:
            shown = f"{_num(last.value)} {_e(last.unit)}"
            flag = last.flag or result_flag(last.value, low, high)
            words = _FLAG_WORDS.get(flag, _FLAG_WORDS["A"])
        else:
            shown, flag = _e(last.value_text or ""), last.flag
            words = _TEXT_FLAG_WORDS.get(flag, _TEXT_FLAG_WORDS["A"])
        judged = flag is not None or last.value is None or (low, high) != (None, None)
        verdict = (f': <span class="cb-flag cb-flag-{(flag or "ok").lower()}">{words}</span>'
                   if judged else "")
        text = (f'<p><strong class="cb-value">{shown}</strong> on {_day(last.collected_on)}'
                f"{verdict}</p>")
        if last.value is not None:
            text += f'<p class="cb-muted">{_range_text(low, high, last.unit)}</p>'
        if test is not None:
            text += (f'<p class="cb-meaning">{_e(test.patient_note)}</p>'
                     f'<p class="cb-evidence cb-evidence-{_e(test.evidence)}">'
                     f"{_e(EVIDENCE_WORDS.get(test.evidence, ''))}</p>")
        numeric = [r for r in results if r.value is not None]
        if test is not None and len(numeric) > 1:
            text += _chart(analyte_chart(case, page.catalog, key, audience="patient"),
                           f"Your {test.patient_name} results over time.")
        blocks.append(f'<article class="cb-item"><h3>{_e(_test_name(page, key))}</h3>'
                      f"{text}</article>")
    if not blocks:
        return _card("results", "Your test results", "<p>No test results yet.</p>")
    return _card("results", "Your test results", "".join(blocks),
                 "A result outside the usual range is not a diagnosis: your practitioner "
                 "reads it with everything else they know about you.")


def upcoming_tests_section(page: Dashboard) -> Section:
    """Tests asked for that have no result yet."""
    rows = []
    for order in sorted(page.case.orders, key=lambda o: o.ordered_on):
        if order.status not in ("ordered", "collected"):
            continue
        test = page.catalog.tests.get(order.test)
        state = (f"sample taken on {_day(order.collected_on)}, waiting for the result"
                 if order.status == "collected" and order.collected_on
                 else f"asked for on {_day(order.ordered_on)}")
        note = f'<p class="cb-meaning">{_e(test.patient_note)}</p>' if test else ""
        rows.append(f'<article class="cb-item"><h3>{_e(_test_name(page, order.test))}</h3>'
                    f'<p class="cb-muted">{state}</p>{note}</article>')
    if not rows:
        return _card("upcoming", "Tests to come", "<p>No tests are waiting to be done.</p>")
    return _card("upcoming", "Tests to come", "".join(rows))


def notes_section(page: Dashboard) -> Section:
    """Only the notes the practitioner shared with the patient, newest first."""
    shared = sorted((n for n in page.case.notes if n.visibility == "shared"),
                    key=lambda n: n.written_on, reverse=True)
    if not shared:
        return Section("notes", "")
    rows = "".join(
        f'<article class="cb-note"><p class="cb-muted">{_day(n.written_on)}'
        f'{f" · {_e(n.author)}" if n.author else ""}</p>'
        f'<p class="cb-text">{_e(n.text)}</p></article>'
        for n in shared
    )
    return _card("notes", "Notes from your practitioner", rows)


def footer(page: Dashboard) -> Section:
    return Section("footer", (
        '<footer class="cb-footer"><p><strong>If you feel very unwell, do not wait for this '
        "page.</strong> If you see blood in your stool or have black stools, have severe tummy "
        "pain, or have thoughts of harming yourself, call your practitioner or your local "
        "emergency number now.</p><p>This page shows information from your record to help "
        "you follow your plan. It does not diagnose anything. Prepared on "
        f"{_day(page.today)}.</p></footer>"
    ))

