"""What a specialist needs from the record besides the red flags, for the referral letter:
the presenting complaint (the latest held visit's symptoms, alarm-screen answers and scores with
bands), allergies, safety facts, current medicines with their classes, and the red flags
by where they stand (overall urgency, the pathway the criteria meet, resolved ones with
their outcome). Pure functions over the case and the catalog."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from casebook.catalog import Catalog
from casebook.clinical.cautions import safety_facts
from casebook.clinical.flag_lifecycle import FlagStatus
from casebook.clinical.vocabulary import SEVERITY_WORDS, drug_class_words
from casebook.format import day
from casebook.models import (
    SAFETY_FACTS,
    AlarmScreen,
    Allergy,
    Case,
    FoodSensitivity,
    Medication,
    SafetyFacts,
)

__all__ = [
    "Allergies",
    "allergies",
    "flag_context",
    "medications",
    "presenting_complaint",
    "safety_rows",
]


_GI = re.compile(r"\bgi\b")


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def presenting_complaint(case: Case, catalog: Catalog, on: date) -> dict[str, object]:
    """The letter's visit, `Case.current_visit` up to its date `on` (the latest visit the
    practitioner held; the latest check-in the patient sent, said as such, only while no
    visit was held): symptoms rated above none (worst first, with how often), alarm-screen
    answers of yes, the earliest onset recorded up to `on`, and the inventory's total."""
    last = case.current_visit(up_to=on)
    if last is None:
        return {"on": "", "checkin": False, "symptoms": [], "screen": [], "onset": "", "scores": []}
    visits = [v for v in case.visits if v.visit_date <= on]
    labels = {s.key: s.label for s in catalog.symptoms}
    inventory = [r for r in case.symptoms if r.visit_id == last.id]
    rated = sorted((r for r in inventory if r.severity > 0), key=lambda r: (-r.severity, r.symptom))
    symptoms = [
        {
            "name": labels.get(r.symptom, r.symptom.replace("_", " ").capitalize()),
            "severity": f"{SEVERITY_WORDS[r.severity]} ({r.severity}/4)",
            "frequency": r.frequency.replace("_", " "),
        }
        for r in rated
    ]
    screen = [
        _first_upper(_GI.sub("GI", name.replace("_", " ")))
        for name in AlarmScreen.model_fields
        if getattr(last.screen, name) is True
    ]
    onsets = [v.screen.symptom_onset for v in visits if v.screen.symptom_onset]
    total = sum(r.severity for r in inventory)
    return {
        "on": day(last.visit_date),
        "checkin": last.is_checkin,
        "symptoms": symptoms,
        "screen": screen,
        "onset": day(min(onsets)) if onsets else "",
        "total": f"{total} of {4 * len(inventory)}" if inventory else "",
    }


@dataclass(frozen=True)
class Allergies:
    """Allergies as the record holds them: food allergies (the food history) and allergies
    to medicines, supplements or other substances (`Allergy` entries). An empty tuple is
    "none recorded", never "none": the record does not say that none were asked about."""

    food: tuple[str, ...]
    medicines: tuple[str, ...]


def allergies(case: Case) -> Allergies:
    """The one accessor the letter reads allergies through: food allergies from the food
    sensitivity history (reaction "allergy"), and the record's allergies to medicines,
    supplements and other substances with their reaction and severity."""
    entries = [e.data for e in case.history]
    food = tuple(
        f"{d.food} ({d.severity}; {d.confirmed_by.replace('_', ' ')})"
        for d in entries
        if isinstance(d, FoodSensitivity) and d.reaction == "allergy"
    )
    substances = tuple(
        f"{d.substance} ({'; '.join(x for x in (d.reaction, d.severity) if x)})"
        for d in entries
        if isinstance(d, Allergy)
    )
    return Allergies(food, substances)


def _fact_label(name: str) -> str:
    description = SafetyFacts.model_fields[name].description
    return description or _first_upper(name.replace("_", " "))


def safety_rows(case: Case) -> dict[str, object]:
    """The safety facts answered yes, answered no, and not asked (a later entry wins)."""
    facts = safety_facts(case)
    dated = [
        e.data.recorded_on
        for e in case.history
        if isinstance(e.data, SafetyFacts) and e.data.recorded_on
    ]
    return {
        "yes": [_fact_label(n) for n in SAFETY_FACTS if facts.get(n) is True],
        "no": [_fact_label(n) for n in SAFETY_FACTS if facts.get(n) is False],
        "unasked": [_fact_label(n) for n in SAFETY_FACTS if n not in facts],
        "on": day(max(dated)) if dated else "",
    }


def medications(case: Case, on: date) -> list[dict[str, str]]:
    """Medicines taken on `on`, each with its class as a clinician writes it."""
    return [
        {
            "name": m.name,
            "kind": drug_class_words(m.drug_class),
            "dose": m.dose,
            "when": f"since {day(m.start)}" if m.start else "",
        }
        for m in (e.data for e in case.history)
        if isinstance(m, Medication) and m.current_on(on)
    ]


# A clause of a rule's action that says which pathway the criteria meet ("Meets NICE NG12
# criteria for a suspected cancer pathway referral", "Refer on the suspected colorectal
# cancer pathway", "urgent direct-access endoscopy"): read from the catalog, never by rule
# key. A conditional clause ("at 60 or over this meets ...") is not a pathway met.
_PATHWAY = re.compile(
    r"^(?:meets\b.*\b(?:criteria|NG12)\b|refer\b.*\bpathway\b|.*\bdirect-access\b)", re.I
)
_CLAUSE = re.compile(r"(?<=[.;])\s+")  # "Meets NICE NG12 1.3.1: offer FIT first" stays whole
# "Meets NICE NG12 1.3.1 when unexplained: offer FIT first" and "... at any adult age: ..."
# meet the same recommendation by the same pathway: said once, without the qualifier (a
# section, "Meets NICE NG12 section 1.2 at any age: ...", likewise). Every number of a list
# stays: "Meets NICE NG12 1.2.1 and 1.2.7 at any age: ..." cites both.
_QUALIFIED = re.compile(
    r"^(meets nice ng12 (?:section )?[\d.]+(?:(?:, | and )[\d.]+)*)\b[^:]*:\s*", re.I
)


def _pathways(statuses: Sequence[FlagStatus]) -> list[str]:
    found: list[str] = []
    for status in statuses:
        for clause in _CLAUSE.split(status.flag.action):
            clause = _first_upper(clause.strip().rstrip(".:;"))
            clause = _QUALIFIED.sub(lambda m: f"{m.group(1)}: ", clause)
            if _PATHWAY.search(clause) and clause not in found:
                found.append(clause)
    # "... referral" and "... referral when unexplained": the shorter says it
    return [c for c in found if not any(c != o and c.startswith(o) for o in found)]


def flag_context(statuses: Sequence[FlagStatus]) -> dict[str, object]:
    """The flags the letter cites, by where they stand: current ones (open, acknowledged or
    referred) with their state, resolved ones with their outcome; the overall urgency (the
    most urgent current flag, as shown) and the pathways their actions name."""
    current = [s for s in statuses if s.state != "resolved"]
    resolved = [s for s in statuses if s.state == "resolved"]
    most = min(current, key=lambda s: s.urgency.rank, default=None)
    return {
        "flags": [
            {
                "label": s.flag.label,
                "evidence": s.flag.reason,
                "on": day(s.flag.on) if s.flag.on else "",
                "urgency": s.urgency.label.capitalize(),
                "state": s.summary() + (f" ({s.age_note})" if s.aged else ""),
                "source": s.flag.source,
                "action": s.flag.action,
            }
            for s in current
        ],
        "resolved": [
            {"label": s.flag.label, "on": day(s.flag.on) if s.flag.on else "", "state": s.summary()}
            for s in resolved
        ],
        "overall": (
            {"urgency": most.urgency.label.capitalize(), "because": most.flag.label}
            if most is not None
            else None
        ),
        "pathways": _pathways(current),
    }
