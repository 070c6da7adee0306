"""Which cautions of a plan item match the patient. Pure: no I/O.

An item's cautions are its template's own (diets) and those of every substance it contains
(`casebook.clinical.substances.item_substances`: the template's, the item's own list, and
its name matched against the substance catalog), keyed `<substance>.<caution>`; a recorded
allergy to a substance is a contraindication (`<substance>.allergy`), and a gluten-free
trial without readable celiac serology carries `celiac_serology`
(`casebook.clinical.preconditions`). A confirmation counts only when it passes
`casebook.clinical.overrides.confirmation_problem`.

A caution (see `casebook.catalog.Caution`) matches when the patient's safety facts say yes
to one of its facts, a current medicine is of one of its drug classes (or, for
`any_medication`, any current medicine at all), or the patient is younger than its
`under_age`. Safety facts come from the record's "safety" history entries: a later entry's
answer overrides an earlier one's, and an unanswered fact (None) never matches, so a caution
can only be as good as what was recorded; the workbook shows the facts not yet asked.

A typed item in a supplement category must name its substances or say why none is listed
(`casebook.clinical.derive.check_cautions` refuses it otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from casebook.catalog import Catalog, Caution, ProtocolTemplate, Substance
from casebook.clinical.flag_lifecycle import case_flag_statuses
from casebook.clinical.overrides import confirmation_problem
from casebook.clinical.preconditions import (
    CELIAC_CAUTION,
    celiac_serology_status,
    clears_flag,
    is_gluten_free_trial,
)
from casebook.clinical.substances import allergy_reasons, item_substances, recorded_allergies
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
    "ConfirmationWords",
    "active_cautions",
    "case_cautions",
    "caution_index",
    "confirmation_words",
    "current_medications",
    "in_force",
    "items_for_review",
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
    "heart_valve_disease": "heart-valve disease recorded",
    "jejunal_feeding": "jejunal tube feeding recorded",
    "severe_acute_pancreatitis": "severe acute pancreatitis recorded",
    "thyroid_disease": "thyroid disease recorded",
    "gallbladder_disease": "gallbladder or bile-duct disease recorded",
}


@dataclass(frozen=True)
class CautionMatch:
    """One caution of one item (or template) that matches the patient, and why.

    `template` is the template key (or "" for a typed item); `substance` the substance the
    caution belongs to (None: the template's own caution, or a precondition)."""

    template: str
    caution: Caution
    reasons: tuple[str, ...]
    plan_item_id: str | None = None
    confirmation: CautionConfirmation | None = None
    substance: str | None = None

    @property
    def key(self) -> str:
        return f"{self.substance}.{self.caution.key}" if self.substance else self.caution.key

    @property
    def problem(self) -> str | None:
        """Why the item's confirmation does not confirm this caution (None: it does)."""
        if self.confirmation is None:
            return "not confirmed"
        return confirmation_problem(self.caution.kind, self.confirmation)

    @property
    def confirmed(self) -> bool:
        return self.problem is None

    def line(self) -> str:
        return f"{self.caution.kind} {self.key} ({'; '.join(self.reasons)}): {self.caution.text}"


@dataclass(frozen=True)
class ConfirmationWords:
    """What a caution's confirmation says, in parts that each view (the workbook's caution
    panel, `casebook show`) puts in its own sentence: who confirmed it ("unknown" when
    nobody was recorded), who advised going ahead ("" when nobody), on which day and why;
    or, when it does not confirm the caution, `problem` and nothing else."""

    by: str = ""
    advised_by: str = ""
    on: str = ""
    reason: str = ""
    problem: str | None = None


def confirmation_words(match: CautionMatch) -> ConfirmationWords:
    """The parts of `match`'s confirmation sentence: the one shape every view shows."""
    c = match.confirmation
    if c is None or not match.confirmed:
        return ConfirmationWords(problem=match.problem or "")
    return ConfirmationWords(
        by=c.by or "unknown", advised_by=c.advised_by, on=c.on.isoformat(), reason=c.reason
    )


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
    catalog: Catalog
    allergies: list[tuple[str, str]]
    celiac: str


def caution_index(case: Case, catalog: Catalog, on: date | None = None) -> CautionIndex:
    """The `CautionIndex` of `case` on `on` (default today)."""
    on = on or date.today()
    templates = {t.key: t for t in catalog.protocols}
    return CautionIndex(
        case,
        on,
        safety_facts(case),
        current_medications(case, on),
        templates,
        catalog,
        recorded_allergies(case),
        celiac_serology_status(case),
    )


def _allergy_caution(substance: Substance) -> Caution:
    return Caution.model_construct(
        key="allergy",
        kind="contraindication",
        facts=(),
        drug_classes=(),
        any_medication=False,
        under_age=None,
        text=f"A recorded allergy matches {substance.name}: do not give it unless the allergy "
        "has been reassessed.",
        source="The patient's allergy record.",
    )


def _found(
    item: PlanItem | ProtocolTemplate, template: ProtocolTemplate | None, index: CautionIndex
) -> list[tuple[str | None, Caution, tuple[str, ...]]]:
    """(substance or None, caution, reasons) of every caution of `item` that matches."""
    out: list[tuple[str | None, Caution, tuple[str, ...]]] = []
    for caution in template.cautions if template is not None else ():
        out.append(
            (None, caution, _reasons(caution, index.case, index.facts, index.meds, index.on))
        )
    for key in item_substances(item, index.catalog, template):
        substance = index.catalog.substances[key]
        allergic = allergy_reasons(substance, index.allergies)
        if allergic:
            out.append((key, _allergy_caution(substance), allergic))
        for caution in substance.cautions:
            reasons = _reasons(caution, index.case, index.facts, index.meds, index.on)
            out.append((key, caution, reasons))
    if isinstance(item, PlanItem) and is_gluten_free_trial(item) and index.celiac != "negative":
        why = {
            "none": "no celiac serology recorded",
            "needs_total_iga": "tTG-IgA without an adequate total IgA",
            "unreadable": "celiac serology without the lab's upper limit",
            "positive": "celiac serology positive",
        }[index.celiac]
        out.append((None, CELIAC_CAUTION, (why,)))
    return [x for x in out if x[2]]


def active_cautions(
    case: Case,
    catalog: Catalog,
    item: PlanItem | ProtocolTemplate,
    on: date | None = None,
    *,
    index: CautionIndex | None = None,
) -> list[CautionMatch]:
    """The cautions of `item` (its template's own and its substances') or of a template
    that match the patient on `on` (default today), each with the item's confirmation.

    `index` (from `caution_index` of the same case and day) saves working it out again."""
    index = index or caution_index(case, catalog, on)
    template: ProtocolTemplate | None
    plan_item: PlanItem | None
    if isinstance(item, ProtocolTemplate):
        template, plan_item = item, None
    else:
        key = item.template
        template, plan_item = (index.templates.get(key) if key else None), item
    out = []
    for substance, caution, reasons in _found(plan_item or item, template, index):
        key = f"{substance}.{caution.key}" if substance else caution.key
        out.append(
            CautionMatch(
                template.key if template is not None else "",
                caution,
                reasons,
                plan_item.id if plan_item is not None else None,
                plan_item.confirmation(key) if plan_item is not None else None,
                substance,
            )
        )
    return out


def in_force(item: PlanItem, case: Case) -> bool:
    """Whether `item`'s cautions are checked: active or proposed, or completed since the last
    visit (an item entered as completed cannot skip the gate); stopped items are history."""
    if item.status in ("active", "proposed"):
        return True
    if item.status != "completed":
        return False
    last = max((v.visit_date for v in case.visits), default=None)
    return last is None or item.end is None or item.end >= last


def unconfirmed_cautions(
    case: Case,
    catalog: Catalog,
    item: PlanItem,
    on: date | None = None,
    *,
    index: CautionIndex | None = None,
) -> list[CautionMatch]:
    """Matching cautions of an item in force (`in_force`) without a confirmation that
    passes `casebook.clinical.overrides.confirmation_problem`."""
    if not in_force(item, case):
        return []
    return [m for m in active_cautions(case, catalog, item, on, index=index) if not m.confirmed]


def case_cautions(case: Case, catalog: Catalog, on: date | None = None) -> list[CautionMatch]:
    """Matching cautions of every plan item in force."""
    index = caution_index(case, catalog, on)
    return [
        m
        for item in sorted(case.plan, key=lambda i: (i.category, i.name, i.id))
        if in_force(item, case)
        for m in active_cautions(case, catalog, item, on, index=index)
    ]


def items_for_review(
    case: Case, catalog: Catalog, on: date | None = None
) -> list[tuple[PlanItem, list[CautionMatch]]]:
    """Plan items in force with a caution that is not (validly) confirmed: a safety fact,
    medicine, allergy or birthday recorded after the item was saved, or an imported item.
    The worklist lists them; the workbook says which after a history save."""
    index = caution_index(case, catalog, on)
    out = []
    for item in sorted(case.plan, key=lambda i: (i.category, i.name, i.id)):
        missing = unconfirmed_cautions(case, catalog, item, on, index=index)
        if missing:
            out.append((item, missing))
    return out


def protocol_warning(case: Case, catalog: Catalog, category: str | None = None) -> str | None:
    """A warning when a gut protocol (any non-referral item) runs or is about to start while an
    urgent or same-day red flag is open that no live referral answers; else None.

    Only a referral matching the flag's action answers it
    (`casebook.clinical.preconditions.clears_flag`): a dietitian referral never does.
    `category` is the category of the item being added (None: judge the plan as it is)."""
    if category == "referral":
        return None
    live = [i for i in case.plan if i.status in ("active", "proposed")]
    if category is None and not any(i.category != "referral" for i in live):
        return None
    referrals = [i for i in live if i.category == "referral"]
    # Open or acknowledged: a flag referred elsewhere or resolved no longer blocks a protocol.
    raised = [
        s
        for s in case_flag_statuses(case, catalog)
        if s.state in ("open", "acknowledged")
        and s.urgency.needs_contact
        and not any(clears_flag(r, s.flag.key, catalog) for r in referrals)
    ]
    if not raised:
        return None
    labels = ", ".join(s.flag.label for s in raised)
    most = min((s.urgency for s in raised), key=lambda u: u.rank)
    return (
        f"Open {most.label} red flag ({labels}) and no matching referral in the plan: refer "
        "(gastroenterology or the suspected-cancer pathway for a GI flag, a same-day review "
        "for a mental-health alert) before starting a gut protocol."
    )
