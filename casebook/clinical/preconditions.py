"""What must be true before a protocol starts. Pure: no I/O.

- A gluten-free trial needs celiac serology first, taken while the patient still eats
  gluten (Rubio-Tapia A et al. ACG Clinical Guideline: Diagnosis and Management of Celiac
  Disease. Am J Gastroenterol 2023;118:59-76): a negative result with an adequate total IgA
  (or a negative IgG-based test), else a confirmation that says why (a contraindication-
  strength override: reason and who advised). A positive result blocks the trial until a
  gastroenterology referral is in the plan.
- The "refer before a gut protocol" warning is cleared only by a referral that matches the
  open flag's action: a gastroenterology or suspected-cancer referral for a GI flag, a
  same-day clinician or mental-health review for a PHQ-9 item 9 alert; never a dietitian.

`celiac_serology_status` reads the current result data in one small function, so a shared
celiac-serology predicate can replace it.
"""

from __future__ import annotations

from typing import Literal

from casebook.catalog import Catalog, Caution, normalise_name
from casebook.models import Case, PlanItem, TestResult

__all__ = [
    "CELIAC_CAUTION",
    "CELIAC_SOURCE",
    "CeliacStatus",
    "celiac_serology_status",
    "clears_flag",
    "is_gluten_free_trial",
    "referral_kind",
]

CeliacStatus = Literal["positive", "negative", "needs_total_iga", "unreadable", "none"]
CELIAC_SOURCE = (
    "Rubio-Tapia A et al. ACG Clinical Guideline: Diagnosis and Management of Celiac "
    "Disease. Am J Gastroenterol 2023;118:59-76."
)
CELIAC_CAUTION = Caution.model_construct(
    key="celiac_serology",
    kind="contraindication",
    facts=(),
    drug_classes=(),
    any_medication=False,
    under_age=None,
    text="Test for celiac disease before a gluten-free trial, while the patient still eats "
    "gluten: tTG-IgA with total IgA (IgG-based serology when IgA is low). Going gluten-free "
    "first makes the test falsely negative.",
    source=CELIAC_SOURCE,
)
_IGA_SEROLOGY = "ttg_iga"
_IGG_SEROLOGY = ("ttg_igg", "dgp_igg")
_TOTAL_IGA = "total_iga"


def _latest(case: Case, test: str) -> TestResult | None:
    found = [r for r in case.results if r.test == test]
    return max(found, key=lambda r: (r.collected_on, r.id)) if found else None


def celiac_serology_status(case: Case) -> CeliacStatus:
    """The latest celiac serology: positive (any latest test above its range or abnormal),
    negative (tTG-IgA within range with a total IgA not low, or an IgG-based test within
    range), needs_total_iga (tTG-IgA within range, total IgA missing or low),
    unreadable (no range to read it against), or none."""
    serology = [r for t in (_IGA_SEROLOGY, *_IGG_SEROLOGY) if (r := _latest(case, t))]
    if not serology:
        return "none"
    if any(r.flag in ("H", "A") for r in serology):
        return "positive"
    if all(r.ref_high is None and r.flag is None and r.value is not None for r in serology):
        return "unreadable"
    if any(r.test in _IGG_SEROLOGY and r.ref_high is not None for r in serology):
        return "negative"
    iga = _latest(case, _TOTAL_IGA)
    if iga is None or iga.flag == "L":
        return "needs_total_iga"
    return "negative"


def is_gluten_free_trial(item: PlanItem) -> bool:
    return item.template == "gluten_free_trial" or "gluten free" in normalise_name(item.name)


_GI_WORDS = ("gastro", "colorectal", "suspected cancer", "endoscopy", "colonoscopy", "2ww")
_MENTAL_WORDS = ("mental health", "crisis", "psychiatr", "self harm")


def referral_kind(item: PlanItem) -> str | None:
    """'gi', 'mental_health' or None (a dietitian or anything else) for a referral item."""
    if item.category != "referral":
        return None
    if item.template == "gastroenterology_referral":
        return "gi"
    if item.template == "same_day_mental_health_review":
        return "mental_health"
    if item.template is not None:
        return None
    name = normalise_name(item.name)
    if any(w in name for w in _MENTAL_WORDS):
        return "mental_health"
    if any(w in name for w in _GI_WORDS):
        return "gi"
    return None


def clears_flag(item: PlanItem, rule_key: str, catalog: Catalog) -> bool:
    """Whether a live referral `item` answers the flag of `rule_key`'s action."""
    rule = next((r for r in catalog.red_flags if r.key == rule_key), None)
    wanted = "mental_health" if rule is not None and rule.kind == "instrument_alert" else "gi"
    return referral_kind(item) == wanted
