"""The referral letter: from the practitioner to a specialist, built from the record."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from casebook.catalog import Catalog
from casebook.clinical.flag_lifecycle import flag_statuses
from casebook.clinical.red_flags import RedFlag, red_flags
from casebook.clinical.vocabulary import RESULT_FLAG_WORDS
from casebook.format import day, range_text
from casebook.format import number as num
from casebook.letters._record import latest_results, latest_scores
from casebook.letters._referral_facts import (
    allergies,
    flag_context,
    medications,
    presenting_complaint,
    safety_rows,
)
from casebook.letters._render import Letter, render_letter
from casebook.letters._settings import ClinicSettings, LetterError
from casebook.models import (
    Case,
    FamilyHistory,
    Infection,
    InflammatoryCondition,
    PlanItem,
)

__all__ = ["referral_letter"]

_SUPPLEMENT_CATEGORIES = ("herbal", "nutritional_support", "microbiome_support")
_DEFAULT_QUESTION = "Please assess and advise on further investigation and management."
_RECENT_DAYS = 365
_CONDITIONS = {
    "crohns_disease": "Crohn's disease",
    "ulcerative_colitis": "Ulcerative colitis",
    "celiac_disease": "Celiac disease",
    "colorectal_cancer": "Colorectal cancer",
    "ovarian_cancer": "Ovarian cancer",
    "ibd": "Inflammatory bowel disease",
    "other": "Other condition",
}


def _words(key: str) -> str:
    return key.replace("_", " ")


def _span(start: date | None, end: date | None) -> str:
    if start and end:
        return f"{day(start)} to {day(end)}"
    if start:
        return f"since {day(start)}"
    return f"until {day(end)}" if end else ""


def _chosen_flags(
    raised: list[RedFlag], wanted: Sequence[str] | None, catalog: Catalog
) -> list[RedFlag]:
    if wanted is None:
        return raised
    known = {rule.key for rule in catalog.red_flags}
    by_key = {flag.key: flag for flag in raised}
    chosen = []
    for key in dict.fromkeys(wanted):
        if key not in known:
            raise LetterError(f"flag {key!r}: no red-flag rule has this key")
        if key not in by_key:
            raise LetterError(f"flag {key!r}: this red flag is not raised in the record")
        chosen.append(by_key[key])
    return chosen


def _chosen_notes(case: Case, ids: Iterable[str]) -> list[dict[str, str]]:
    notes = {n.id: n for n in case.notes}
    chosen = []
    for note_id in dict.fromkeys(ids):
        if note_id not in notes:
            raise LetterError(f"include_notes: {note_id!r} is not a note of this patient")
        note = notes[note_id]
        chosen.append({"on": day(note.written_on), "author": note.author, "text": note.text})
    return chosen


def _history(case: Case) -> dict[str, list[dict[str, str]]]:
    conditions, infections, family = [], [], []
    for entry in case.history:
        data = entry.data
        if isinstance(data, InflammatoryCondition):
            conditions.append(
                {
                    "name": data.name or _CONDITIONS[data.condition],
                    "status": _words(data.status),
                    "when": f"diagnosed {day(data.diagnosed_on)}" if data.diagnosed_on else "",
                }
            )
        elif isinstance(data, Infection):
            infections.append(
                {
                    "name": data.name,
                    "kind": data.kind,
                    "when": _span(data.onset, data.resolved),
                    "treated": data.treated_with,
                }
            )
        elif isinstance(data, FamilyHistory):
            family.append(
                {
                    "condition": _CONDITIONS[data.condition],
                    "relative": data.relative,
                    "onset": f"at {data.age_at_onset}" if data.age_at_onset is not None else "",
                    "detail": data.detail,
                }
            )
    return {"conditions": conditions, "infections": infections, "family": family}


def referral_letter(
    case: Case,
    catalog: Catalog,
    settings: ClinicSettings,
    *,
    to: str,
    flags: Sequence[str] | None = None,
    reason: str | None = None,
    question: str | None = None,
    include_notes: Iterable[str] = (),
    on: date | None = None,
) -> Letter:
    """A referral letter to `to` (the recipient, one or more lines).

    The reason for referral is the red flags raised in the record (only those named in
    `flags` when given, by rule key) with their evidence, dates and sources, and/or the
    practitioner's own `reason`. Notes are left out unless their ids are in
    `include_notes`. `on` is the letter's date (today by default); the record is read as
    of that date.
    """
    on = on or date.today()
    recipient = "\n".join(line.strip() for line in to.strip().splitlines() if line.strip())
    if not recipient:
        raise LetterError("to: the recipient is empty")
    typed = (reason or "").strip()
    raised = red_flags(case, catalog.red_flags, catalog.instruments, catalog.tests, today=on)
    chosen = _chosen_flags(raised, flags, catalog)
    if not chosen and not typed:
        raise LetterError("reason: no red flag is raised in this record; type a reason")
    reviews = [r for r in case.flag_reviews if r.at.date() <= on]  # as of the letter's date
    context_flags = flag_context(flag_statuses(chosen, reviews, today=on))
    if flags is None and not context_flags["flags"] and not typed:
        raise LetterError("reason: every red flag raised in this record is resolved; type a reason")
    patient = case.patient
    seen = [v for v in case.held_visits() if v.visit_date <= on]  # a check-in: not seen
    results = [
        {
            "name": fact.test.name if fact.test else _words(fact.test_key),
            "value": (
                f"{num(fact.result.value)} {fact.result.unit}".strip()
                if fact.result.value is not None
                else fact.result.value_text or ""
            ),
            "range": _range_text(fact.low, fact.high),
            "flag": f"{fact.flag} ({RESULT_FLAG_WORDS[fact.flag]})" if fact.flag else "",
            "on": day(fact.result.collected_on),
        }
        for fact in latest_results(case, catalog, until=on)
        if (on - fact.result.collected_on).days <= _RECENT_DAYS
    ]
    scores = [
        {
            "name": f"{s.instrument.name} ({s.instrument.short_name})",
            "score": f"{s.total} of {s.instrument.total_range[1]}",
            "band": s.band,
            "on": day(s.on),
        }
        for s in latest_scores(case, catalog, until=on)
    ]
    supplements = [
        {
            "name": item.name,
            "dose": item.dose,
            "frequency": item.frequency,
            "when": _span(item.start, item.end),
            "overrides": _overrides(case, catalog, item, on),
        }
        for item in sorted(case.plan, key=lambda i: (i.start or date.max, i.name))
        if item.status == "active" and item.category in _SUPPLEMENT_CATEGORIES
    ]
    context = {
        "recipient_lines": recipient.splitlines(),
        "patient": {
            "name": patient.name,
            "birth_date": day(patient.birth_date),
            "id": patient.id,
            "age": patient.age_on(on),
            "sex": patient.sex,
            "since": day(seen[0].visit_date) if seen else "",
        },
        "reason": typed,
        **context_flags,
        "complaint": presenting_complaint(case, catalog, on),
        "allergies": allergies(case),
        "safety": safety_rows(case),
        "medications": medications(case, on),
        "history": _history(case),
        "supplements": supplements,
        "results": results,
        "recent_days": _RECENT_DAYS,
        "scores": scores,
        "question": (question or "").strip() or _DEFAULT_QUESTION,
        "notes": _chosen_notes(case, include_notes),
    }
    return render_letter(
        "referral",
        patient_id=patient.id,
        recipient=recipient,
        on=on,
        title=f"Referral letter: {patient.name}",
        record_version=patient.record_version,
        settings=settings,
        context=context,
    )


def _range_text(low: float | None, high: float | None) -> str:
    return range_text(low, high)


def _overrides(case: Case, catalog: Catalog, item: PlanItem, on: date) -> list[str]:
    """Each contraindication of `item` that was overridden: what, why and who advised."""
    from casebook.clinical.cautions import active_cautions

    return [
        f"Contraindication overridden ({m.caution.text.split(':')[0]}): "
        f"{m.confirmation.reason} (advised by {m.confirmation.advised_by or 'not recorded'})"
        for m in active_cautions(case, catalog, item, on)
        if m.caution.kind == "contraindication" and m.confirmation is not None
    ]
