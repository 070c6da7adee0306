"""The after-visit summary: for the patient, in plain words.

Patient wording follows the dashboard's rules (casebook/dashboard/sections.py): symptoms by their
patient labels and the dashboard's severity words, questionnaire meanings from the bands'
patient text, results as "within / above / below the usual range", tests by their patient
names and notes. Nothing written for the practitioner appears: no red-flag rule, reason or
threshold, no rationale, no practitioner-only note. When the record raises an urgent red
flag, the summary asks the patient kindly to get in touch, as the dashboard does, and says
nothing of why; it never promises a call back at a set time, and no plan item's words
say "today" (`flag_lifecycle.patient_plan_item`): the summary is read after its day. A
result a red flag cites is never "within the usual range" (`cited_result_words`).
"""

from __future__ import annotations

from datetime import date, timedelta

from casebook.catalog import Catalog
from casebook.clinical.baseline import baseline_visit, symptoms_start
from casebook.clinical.flag_lifecycle import (
    FlagStatus,
    cited_result_words,
    flag_statuses,
    patient_plan_item,
)
from casebook.clinical.red_flags import red_flags
from casebook.clinical.vocabulary import (
    GET_IN_TOUCH,
    GET_IN_TOUCH_WHY,
    SEVERITY_PATIENT_WORDS,
    result_patient_words,
)
from casebook.format import day
from casebook.format import number as num
from casebook.letters._record import latest_results, latest_scores
from casebook.letters._render import Letter, render_letter
from casebook.letters._settings import ClinicSettings, LetterError
from casebook.models import PLAN_CATEGORIES, Case, Visit

__all__ = ["after_visit_summary"]


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def _visit(case: Case, visit_date: date | None) -> Visit:
    """The visit the summary is of: the latest the practitioner held, or the one held on
    `visit_date`. A check-in the patient sent is not a visit: the summary says "thank you
    for coming" and "what we talked about", so it is never made of one."""
    if not case.visits:
        raise LetterError("visit: this record has no visits yet")
    held = case.held_visits()
    if visit_date is None:
        if not held:
            raise LetterError(
                "visit: the record holds only check-ins the patient sent, no visit held yet"
            )
        return held[-1]
    on = [v for v in held if v.visit_date == visit_date]
    if on:
        return on[-1]
    if any(v.visit_date == visit_date for v in case.visits):
        raise LetterError(
            f"visit: {visit_date.isoformat()} holds only a check-in the patient sent, "
            "not a visit held; a summary is of a visit held"
        )
    raise LetterError(f"visit: no visit is recorded on {visit_date.isoformat()}")


def _since(case: Case, first: Visit) -> str:
    if first.is_checkin:
        return f"in the check-in you sent on {day(first.visit_date)}"
    if first == baseline_visit(case):
        return "at your first visit"
    return f"at your visit on {day(first.visit_date)}"


def _symptoms(case: Case, catalog: Catalog, visit: Visit) -> list[str]:
    """The visit's symptoms, each compared with where the symptoms start (clinical.baseline):
    the first visit, a later one, or the check-in the patient sent, said as such."""
    labels = {s.key: s.patient_label for s in catalog.symptoms}
    first = symptoms_start(case)
    at = _since(case, first) if first is not None else ""
    before = {r.symptom: r.severity for r in case.symptoms if first and r.visit_id == first.id}
    lines = []
    for rating in sorted(
        (r for r in case.symptoms if r.visit_id == visit.id), key=lambda r: (-r.severity, r.symptom)
    ):
        if rating.severity == 0:
            continue
        label = labels.get(rating.symptom, rating.symptom.replace("_", " ").capitalize())
        line = f"{label}: {SEVERITY_PATIENT_WORDS[rating.severity]}"
        was = before.get(rating.symptom)
        if first is not None and visit.id != first.id and was is not None:
            change = (
                "better than"
                if rating.severity < was
                else "worse than"
                if rating.severity > was
                else "the same as"
            )
            line += f", {change} {at}"
        lines.append(line)
    return lines


def _results(
    case: Case, catalog: Catalog, since: date | None, until: date, statuses: list[FlagStatus]
) -> list[dict[str, str]]:
    rows = []
    for fact in latest_results(case, catalog, since=since, until=until):
        name = fact.test.patient_name if fact.test else fact.test_key.replace("_", " ")
        if fact.result.value is not None:
            shown = f"{num(fact.result.value)} {fact.result.unit}".strip()
            judged = fact.flag is not None or (fact.low, fact.high) != (None, None)
            words = result_patient_words(fact.flag, numeric=True) if judged else ""
        else:
            shown = fact.result.value_text or ""
            words = result_patient_words(fact.flag, numeric=False)
        # a result a red flag cites is never "within the usual range"
        words = cited_result_words(fact.result.id, statuses) or words
        rows.append(
            {
                "name": name,
                "value": shown,
                "words": words,
                "on": day(fact.result.collected_on),
                "note": fact.test.patient_note if fact.test else "",
            }
        )
    return rows


def after_visit_summary(
    case: Case, catalog: Catalog, settings: ClinicSettings, *, visit_date: date | None = None
) -> Letter:
    """The summary of one visit, dated that day: the latest the practitioner held when
    `visit_date` is None (LetterError when only check-ins the patient sent are recorded)."""
    from casebook.charts.style import CATEGORY_LABELS

    visit = _visit(case, visit_date)
    on = visit.visit_date
    held = case.held_visits()  # the check-ins the patient sent are not visits
    earlier = [v for v in held if v.visit_date < on]
    later = [v for v in held if v.visit_date > on]
    labels = CATEGORY_LABELS["patient"]
    flags = red_flags(case, catalog.red_flags, catalog.instruments, catalog.tests, today=on)
    statuses = flag_statuses(flags, case.flag_reviews, today=on)
    # read later than the day it is dated: no plan item's words say "today" (today=None)
    active = sorted(
        (patient_plan_item(i, statuses, today=None) for i in case.plan if i.status == "active"),
        key=lambda i: (PLAN_CATEGORIES.index(i.category), i.start or date.max, i.name),
    )
    plan = [
        {
            "group": labels.get(item.category, item.category),
            "name": item.name,
            "dose": item.dose,
            "frequency": item.frequency,
            "since": (("Since " if item.start <= on else "Starts ") + day(item.start))
            if item.start
            else "",
            "until": day(item.end) if item.end else "",
            "instructions": item.instructions,
        }
        for item in active
    ]
    tests = []
    for order in sorted(case.orders, key=lambda o: (o.ordered_on, o.id)):
        if order.status not in ("ordered", "collected") or order.ordered_on > on:
            continue
        test = catalog.tests.get(order.test)
        tests.append(
            {
                "name": test.patient_name if test else order.test.replace("_", " "),
                "state": (
                    f"sample taken on {day(order.collected_on)}, waiting for the result"
                    if order.status == "collected" and order.collected_on
                    else f"asked for on {day(order.ordered_on)}"
                ),
                "note": test.patient_note if test else "",
            }
        )
    scores = [
        {
            "name": f"{_first_upper(s.instrument.measures.split(' (')[0])} "
            f"({s.instrument.short_name})",
            "score": s.total,
            "range": "{} to {}".format(*s.instrument.total_range),
            "meaning": s.band_text,
        }
        for s in latest_scores(case, catalog, visit_id=visit.id)
    ]
    notes = [
        {"on": day(n.written_on), "author": n.author, "text": n.text}
        for n in sorted(case.notes, key=lambda n: (n.written_on, n.id))
        if n.visibility == "shared"
        and (n.visit_id == visit.id or (n.visit_id is None and n.written_on == on))
    ]
    patient = case.patient
    context = {
        "patient": {"name": patient.name, "birth_date": day(patient.birth_date)},
        "first_visit": visit.kind == "intake" or not earlier,
        "symptoms": _symptoms(case, catalog, visit),
        "scores": scores,
        "results": _results(
            case,
            catalog,
            earlier[-1].visit_date + timedelta(days=1) if earlier else None,
            on,
            statuses,
        ),
        "plan": plan,
        "tests": tests,
        "next_visit": day(later[0].visit_date) if later else "",
        # as on the patient's dashboard: while an urgent or same-day flag is open and not
        # acknowledged yet (the lifecycle's urgency, so an old same-day answer counts as urgent)
        "attention": any(s.needs_contact for s in statuses),
        "get_in_touch": GET_IN_TOUCH,
        "get_in_touch_why": GET_IN_TOUCH_WHY,
        "notes": notes,
    }
    return render_letter(
        "after_visit_summary",
        patient_id=patient.id,
        recipient=patient.name,
        on=on,
        title=f"Your visit on {day(on)}",
        record_version=patient.record_version,
        settings=settings,
        context=context,
    )
