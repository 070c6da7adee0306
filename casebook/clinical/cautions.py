"""Which cautions of a plan item's protocol template match the patient. Pure: no I/O.

A caution (see `casebook.catalog.Caution`) matches when the patient's safety facts say yes
to one of its facts, a current medicine is of one of its drug classes (or, for
`any_medication`, any current medicine at all), or the patient is younger than its
`under_age`. Safety facts come from the record's "safety" history entries: a later entry's
answer overrides an earlier one's, and an unanswered fact (None) never matches, so a caution
can only be as good as what was recorded; the workbook shows the facts not yet asked.

A plan item made from scratch (no template) carries no cautions: casebook cannot know what
it contains.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from casebook.catalog import Catalog, Caution, ProtocolTemplate
from casebook.clinical.flag_lifecycle import case_flag_statuses
from casebook.models import (
    SAFETY_FACTS,
    Case,
    CautionConfirmation,
    Medication,
    PlanItem,
    SafetyFacts,
)

__all__ = [
    "CautionIndex",
    "CautionMatch",
    "active_cautions",
    "case_cautions",
    "caution_index",
    "current_medications",
    "protocol_warning",
    "safety_facts",
    "unconfirmed_cautions",
]

_FACT_WORDS = {
    "pregnant": "recorded as pregnant",
    "breastfeeding": "recorded as breastfeeding",
    "immunosuppressed": "recorded as immunosuppressed",
    "eating_disorder_history": "eating-disorder history recorded",
    "liver_disease": "liver disease recorded",
    "kidney_disease": "kidney disease recorded",
    "hypertension": "hypertension recorded",
    "hypokalemia": "hypokalemia recorded",
    "central_line_or_critical_illness": "central line or critical illness recorded",
    "underweight": "recorded as underweight",
    "dysphagia": "difficulty swallowing recorded",
    "hypercalcemia_or_granulomatous_disease": "hypercalcemia or granulomatous disease recorded",
    "reflux": "reflux recorded",
}


@dataclass(frozen=True)
class CautionMatch:
    """One caution of one template that matches the patient, and why."""

    template: str
    caution: Caution
    reasons: tuple[str, ...]
    plan_item_id: str | None = None
    confirmation: CautionConfirmation | None = None

    @property
    def key(self) -> str:
        return self.caution.key

    @property
    def confirmed(self) -> bool:
        return self.confirmation is not None and bool(self.confirmation.reason.strip())

    def line(self) -> str:
        return f"{self.caution.kind} {self.key} ({'; '.join(self.reasons)}): {self.caution.text}"


def safety_facts(case: Case) -> dict[str, bool]:
    """The answered safety facts: a later entry (by `recorded_on`, undated first) wins."""
    entries = [e.data for e in case.history if isinstance(e.data, SafetyFacts)]
    entries.sort(key=lambda d: (d.recorded_on is not None, d.recorded_on or date.min))
    facts: dict[str, bool] = {}
    for data in entries:
        for name in SAFETY_FACTS:
            value = getattr(data, name)
            if value is not None:
                facts[name] = value
    return facts


def current_medications(case: Case, on: date) -> list[Medication]:
    return [
        e.data for e in case.history if isinstance(e.data, Medication) and e.data.current_on(on)
    ]


def _reasons(
    caution: Caution, case: Case, facts: dict[str, bool], meds: list[Medication], on: date
) -> tuple[str, ...]:
    found = [_FACT_WORDS[f] for f in caution.facts if facts.get(f)]
    found += [
        f"takes {m.name} ({m.drug_class.replace('_', ' ')})"
        for m in meds
        if m.drug_class in caution.drug_classes
    ]
    if caution.any_medication and meds:
        found.append("takes " + ", ".join(m.name for m in meds))
    if caution.under_age is not None and case.patient.age_on(on) < caution.under_age:
        found.append(f"age {case.patient.age_on(on)}, under {caution.under_age}")
    return tuple(dict.fromkeys(found))


@dataclass(frozen=True)
class CautionIndex:
    """What every caution check on one case needs, worked out once: the answered safety
    facts, the current medicines on `on`, and the catalog's templates by key. Matching reads
    the patient and the history, never the plan, so one index serves every plan item of the
    case and a large plan is checked in time proportional to its size."""

    case: Case
    on: date
    facts: dict[str, bool]
    meds: list[Medication]
    templates: dict[str, ProtocolTemplate]


def caution_index(case: Case, catalog: Catalog, on: date | None = None) -> CautionIndex:
    """The `CautionIndex` of `case` on `on` (default today)."""
    on = on or date.today()
    templates = {t.key: t for t in catalog.protocols}
    return CautionIndex(case, on, safety_facts(case), current_medications(case, on), templates)


def active_cautions(
    case: Case,
    catalog: Catalog,
    item: PlanItem | ProtocolTemplate,
    on: date | None = None,
    *,
    index: CautionIndex | None = None,
) -> list[CautionMatch]:
    """The cautions of `item`'s template (or of the template itself) that match the patient
    on `on` (default today), each with its confirmation on the item if there is one.

    `index` (from `caution_index` of the same case and day) saves working it out again."""
    index = index or caution_index(case, catalog, on)
    template: ProtocolTemplate | None
    plan_item: PlanItem | None
    if isinstance(item, ProtocolTemplate):
        template, plan_item = item, None
    else:
        key = item.template
        template, plan_item = (index.templates.get(key) if key else None), item
    if template is None:
        return []
    out = []
    for caution in template.cautions:
        reasons = _reasons(caution, index.case, index.facts, index.meds, index.on)
        if reasons:
            out.append(
                CautionMatch(
                    template.key,
                    caution,
                    reasons,
                    plan_item.id if plan_item is not None else None,
                    plan_item.confirmation(caution.key) if plan_item is not None else None,
                )
            )
    return out


def unconfirmed_cautions(
    case: Case,
    catalog: Catalog,
    item: PlanItem,
    on: date | None = None,
    *,
    index: CautionIndex | None = None,
) -> list[CautionMatch]:
    """Matching cautions of an active or proposed item that lack a confirmation with a reason
    (stopped and completed items are history: never checked)."""
    if item.status not in ("active", "proposed"):
        return []
    return [m for m in active_cautions(case, catalog, item, on, index=index) if not m.confirmed]


def case_cautions(case: Case, catalog: Catalog, on: date | None = None) -> list[CautionMatch]:
    """Matching cautions of every active or proposed plan item."""
    index = caution_index(case, catalog, on)
    return [
        m
        for item in sorted(case.plan, key=lambda i: (i.category, i.name, i.id))
        if item.status in ("active", "proposed")
        for m in active_cautions(case, catalog, item, on, index=index)
    ]


def protocol_warning(case: Case, catalog: Catalog, category: str | None = None) -> str | None:
    """A warning when a gut protocol (any non-referral item) runs or is about to start while an
    urgent or same-day red flag is open and no referral is in the plan; else None.

    `category` is the category of the item being added (None: judge the plan as it is)."""
    if category == "referral":
        return None
    live = [i for i in case.plan if i.status in ("active", "proposed")]
    if any(i.category == "referral" for i in live):
        return None
    if category is None and not live:
        return None
    # Open or acknowledged: a flag referred elsewhere or resolved no longer blocks a protocol.
    raised = [
        s
        for s in case_flag_statuses(case, catalog)
        if s.state in ("open", "acknowledged") and s.urgency.needs_contact
    ]
    if not raised:
        return None
    labels = ", ".join(s.flag.label for s in raised)
    most = min((s.urgency for s in raised), key=lambda u: u.rank)
    return (
        f"Open {most.label} red flag ({labels}) and no referral in the plan: refer before "
        "starting a gut protocol."
    )
