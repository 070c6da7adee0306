"""The demo obeys casebook's own rules at every date of its history, not only today.

`record_as_of` rebuilds a synthetic record as it stood on a day (what was known then, plan
items as they ran then); `follow_rules` walks the record's dates (visits, results, plan
starts, today) and, at each, does what the rules ask: every red flag whose urgency asks
for contact (same day or urgent, as the lifecycle shows it that day) gets its referral in
the plan that day, and every caution that matches a running item is confirmed on its own,
with a reason naming what matched and what was agreed. The rules are evaluated through the
rule engine with the whole catalog, so rules added to the catalog are followed too.
No real patient data.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta

from casebook.catalog import Catalog, ProtocolTemplate
from casebook.clinical.cautions import CautionMatch, unconfirmed_cautions
from casebook.clinical.flag_lifecycle import shown_urgency
from casebook.clinical.red_flags import RedFlag, red_flags
from casebook.models import Case, CautionConfirmation, PlanItem, SafetyFacts

__all__ = [
    "confirmation_reason",
    "follow_rules",
    "live_on",
    "plan_item",
    "record_as_of",
    "referral_for",
    "template",
]

_DEMO_PRACTITIONER = "demo practitioner"
_DEMO_SPECIALIST = "demo gastroenterologist (synthetic)"


def template(catalog: Catalog, key: str) -> ProtocolTemplate:
    return next(t for t in catalog.protocols if t.key == key)


def plan_item(pid: str, uid: str, tpl: ProtocolTemplate, start: date, today: date) -> PlanItem:
    """An item made from `tpl`, starting on `start`, with its status as of `today`."""
    end = start + timedelta(days=tpl.duration_days) if tpl.duration_days else None
    status = "active" if end is None or end >= today else "completed"
    return PlanItem(
        id=uid,
        patient_id=pid,
        version=1,
        category=tpl.category,
        name=tpl.name,
        patient_name=tpl.patient_name,
        dose=tpl.dose,
        frequency=tpl.frequency,
        start=start,
        end=end,
        instructions=tpl.instructions,
        rationale=tpl.rationale,
        status=status,
        template=tpl.key,
        source=tpl.source,
    )


def live_on(item: PlanItem, day: date) -> bool:
    """Was the item running (or proposed) on `day`? Its dates say so; a stopped item never."""
    if item.status == "stopped" or (item.start is not None and item.start > day):
        return False
    return item.end is None or item.end >= day


def record_as_of(case: Case, day: date) -> Case:
    """The record as it stood on `day`: visits, results, orders, notes, reviews and safety
    facts dated after it left out; plan items started after it left out, the others with
    their status on that day."""
    visits = [v for v in case.visits if v.visit_date <= day]
    seen = {v.id for v in visits}
    orders = [
        o for o in case.orders if o.ordered_on <= day and (o.visit_id is None or o.visit_id in seen)
    ]
    order_ids = {o.id for o in orders}
    plan = [
        i.model_copy(update={"status": "active" if live_on(i, day) else "completed"})
        if i.status in ("active", "completed")
        else i
        for i in case.plan
        if i.start is None or i.start <= day
    ]
    history = [
        h
        for h in case.history
        if not (isinstance(h.data, SafetyFacts) and h.data.recorded_on and h.data.recorded_on > day)
    ]
    return case.model_copy(
        update={
            "visits": visits,
            "symptoms": [s for s in case.symptoms if s.visit_id in seen],
            "instruments": [r for r in case.instruments if r.visit_id in seen],
            "orders": orders,
            "results": [
                r
                for r in case.results
                if r.collected_on <= day and (r.order_id is None or r.order_id in order_ids)
            ],
            "plan": plan,
            "history": history,
            "notes": [
                n
                for n in case.notes
                if n.written_on <= day and (n.visit_id is None or n.visit_id in seen)
            ],
            "flag_reviews": [r for r in case.flag_reviews if r.at.date() <= day],
            "letters": [x for x in case.letters if x.letter_date <= day],
        }
    )


def referral_for(flag: RedFlag, catalog: Catalog) -> ProtocolTemplate:
    """The referral the demo makes for a flag: a questionnaire's alarm answer (PHQ-9 item 9)
    gets the same-day clinician review, anything else a gastroenterology referral."""
    rule = next((r for r in catalog.red_flags if r.key == flag.key), None)
    if rule is not None and rule.kind == "instrument_alert":
        return template(catalog, "same_day_mental_health_review")
    return template(catalog, "gastroenterology_referral")


# What a practitioner agreed, by the kind of caution: filled in with the item and what
# matched, so each confirmation says why for this patient and this caution.
_AGREED = {
    "interaction": (
        "{item} taken at least two hours apart from {what}; the prescriber knows and agreed",
        "{what} continues unchanged; {item} started at the low dose, checked at the next visit",
        "discussed with the prescriber of {what}: {item} goes ahead with a review in 4 weeks",
    ),
    "population": (
        "{item} discussed with the patient; lowest dose, stop and call if new symptoms",
        "agreed with the patient's GP; {item} reviewed at every visit while it runs",
        "{item} kept short and reviewed at the next visit; patient knows what to watch for",
    ),
    "contraindication": (
        "specialist advice sought before {item}; going ahead only as the specialist advised",
    ),
}


def confirmation_reason(match: CautionMatch, item: PlanItem, rng: random.Random) -> str:
    """A reason naming what matched (a medicine, a safety fact, an age) and what was agreed
    for this item: specific and varied, never one sentence for every caution."""
    what = match.reasons[0]
    medicine = what.removeprefix("takes ").split(" (")[0] if what.startswith("takes ") else ""
    options = _AGREED.get(match.caution.kind, _AGREED["population"])
    agreed = rng.choice(options).format(item=item.name, what=medicine or what)
    return f"{what[:1].upper()}{what[1:]}: {agreed}."


def _confirmed(case: Case, catalog: Catalog, day: date, rng: random.Random) -> list[PlanItem]:
    """The plan with each caution matching a running item on `day` confirmed on its own."""
    out = []
    known = record_as_of(case, day)
    for item in case.plan:
        shown = next((i for i in known.plan if i.id == item.id), None)
        missing = unconfirmed_cautions(known, catalog, shown, day) if shown else []
        if missing:
            used = {c.reason for c in item.caution_confirmations}
            extra = []
            for m in missing:
                if item.confirmation(m.key) is not None:
                    continue
                reason = confirmation_reason(m, item, rng)
                if reason in used:  # each caution is confirmed on its own, in its own words
                    reason = f"{reason[:-1]} (for {m.key.replace('.', ' and ')})."
                used.add(reason)
                contra = m.caution.kind == "contraindication"
                extra.append(
                    CautionConfirmation(
                        key=m.key,
                        by=_DEMO_PRACTITIONER,
                        advised_by=_DEMO_SPECIALIST if contra else "",
                        on=day,
                        reason=reason,
                    )
                )
            item = item.model_copy(
                update={"caution_confirmations": [*item.caution_confirmations, *extra]}
            )
        out.append(item)
    return out


def follow_rules(
    case: Case, catalog: Catalog, today: date, rng: random.Random, uid: Callable[[], str]
) -> Case:
    """`case` with what the rules ask done at every date of its history (see the module's
    docstring). `uid` makes the ids of the items added (the generator's seeded ids)."""
    days = {v.visit_date for v in case.visits} | {r.collected_on for r in case.results}
    days |= {i.start for i in case.plan if i.start is not None} | {today}
    pid = case.patient.id
    for day in sorted(d for d in days if d <= today):
        known = record_as_of(case, day)
        flags = red_flags(known, catalog.red_flags, catalog.instruments, catalog.tests, today=day)
        plan = list(case.plan)
        for flag in flags:
            if not shown_urgency(flag, day).needs_contact:
                continue
            tpl = referral_for(flag, catalog)
            if not any(i.template == tpl.key and live_on(i, day) for i in plan):
                plan.append(plan_item(pid, uid(), tpl, day, today))
        case = case.model_copy(update={"plan": plan})
        case = case.model_copy(update={"plan": _confirmed(case, catalog, day, rng)})
    return case
