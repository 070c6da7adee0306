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

What every section is made from (`Dashboard`, `Section`, the templates, the charts as
images) is in `_page.py`; the test results and the tests to come in `_results.py`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from casebook.clinical.baseline import baseline_visit, symptoms_start
from casebook.clinical.flag_lifecycle import patient_plan_item
from casebook.clinical.scoring import ScoringError, score_instrument
from casebook.clinical.vocabulary import GET_IN_TOUCH_WHY, SEVERITY_PATIENT_WORDS
from casebook.dashboard._page import (
    CHART_SOCKET,
    Dashboard,
    Section,
    _chart,
    _section,
    load_dashboard,
    warm_templates,
)
from casebook.dashboard._results import results_section, upcoming_tests_section
from casebook.format import day
from casebook.models import PLAN_CATEGORIES, PlanItem

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
