"""The history part of the record: infections, conditions, medications, diet, stress,
exposures, food sensitivities, family history and safety facts."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal, get_args

from pydantic import (
    Field,
    model_validator,
)

from casebook.models._base import (
    Name,
    Record,
    ShortText,
    Text,
    Tri,
    _check_span,
    _Model,
)

__all__ = [
    "HISTORY_CATEGORIES",
    "SAFETY_FACTS",
    "Allergy",
    "DietHistory",
    "EnvironmentalExposure",
    "FamilyHistory",
    "FoodSensitivity",
    "HistoryData",
    "HistoryEntry",
    "Infection",
    "InflammatoryCondition",
    "Level",
    "Medication",
    "SafetyFacts",
    "StressHistory",
]

# --- history -------------------------------------------------------------------------


class Infection(_Model):
    category: Literal["infection"] = "infection"
    kind: Literal["bacterial", "viral", "parasitic", "fungal"]
    name: Name = Field(description="Organism or illness, e.g. 'Giardia', 'norovirus'")
    onset: date | None = None
    resolved: date | None = None
    treated_with: ShortText = ""

    @model_validator(mode="after")
    def _span(self) -> Infection:
        _check_span(self.onset, self.resolved, "infection")
        return self


class InflammatoryCondition(_Model):
    category: Literal["inflammatory_condition"] = "inflammatory_condition"
    condition: Literal["crohns_disease", "ulcerative_colitis", "celiac_disease", "other"]
    name: ShortText = ""
    status: Literal["suspected", "confirmed", "in_remission", "ruled_out"] = "confirmed"
    diagnosed_on: date | None = None


class Medication(_Model):
    category: Literal["medication"] = "medication"
    drug_class: Literal[
        "antibiotic",
        "chemotherapy",
        "steroid",
        "systemic_corticosteroid",
        "nsaid",
        "proton_pump_inhibitor",
        "h2_blocker",
        "antacid",
        "anticoagulant",
        "antiplatelet",
        "ssri",
        "oral_contraceptive",
        "thyroid_hormone",
        "digoxin",
        "antiepileptic",
        "hiv_medicine",
        "diabetes_medicine",
        "immunosuppressant",
        "cyp_pgp_substrate",
        "diuretic",
        "antihypertensive",
        "supplement",
        "other",
    ] = Field(
        description="cyp_pgp_substrate: a narrow-margin CYP3A4, CYP2D6 or P-gp "
        "substrate such as ciclosporin or tacrolimus; steroid: a steroid not taken "
        "systemically (inhaled, topical); systemic_corticosteroid: prednisolone, "
        "hydrocortisone or dexamethasone by mouth or injection; ssri: an SSRI or another "
        "serotonergic antidepressant (SNRI, tricyclic, MAOI); digoxin: digoxin or another "
        "cardiac glycoside"
    )
    name: Name
    dose: ShortText = ""
    start: date | None = None
    end: date | None = None

    @model_validator(mode="after")
    def _span(self) -> Medication:
        _check_span(self.start, self.end, "medication")
        return self

    def current_on(self, day: date) -> bool:
        """Taken on `day`: started by then (or no start recorded) and not ended before."""
        return (self.start is None or self.start <= day) and (self.end is None or self.end >= day)


Level = Literal["none", "low", "moderate", "high"]


class DietHistory(_Model):
    category: Literal["diet"] = "diet"
    pattern: ShortText = Field("", description="e.g. omnivore, vegetarian, gluten-free")
    processed_food: Level = "none"
    added_sugar: Level = "none"
    unhealthy_fats: Level = "none"
    alcohol: Level = "none"
    notes: Text = ""


class StressHistory(_Model):
    category: Literal["stress"] = "stress"
    level: Level = "none"
    sources: ShortText = ""
    sleep_hours: float | None = Field(None, ge=0, le=24)


class EnvironmentalExposure(_Model):
    category: Literal["environmental_exposure"] = "environmental_exposure"
    agent: Literal["mold", "pesticides", "heavy_metals", "solvents", "smoking", "other"]
    detail: ShortText = ""
    start: date | None = None
    end: date | None = None

    @model_validator(mode="after")
    def _span(self) -> EnvironmentalExposure:
        _check_span(self.start, self.end, "exposure")
        return self


class FoodSensitivity(_Model):
    category: Literal["food_sensitivity"] = "food_sensitivity"
    food: Name
    reaction: Literal["allergy", "intolerance", "sensitivity"]
    severity: Literal["mild", "moderate", "severe"] = "mild"
    confirmed_by: Literal["self_report", "elimination_challenge", "clinical_test"] = "self_report"


class Allergy(_Model):
    """An allergy or adverse reaction to a medicine, supplement or other substance (food
    reactions are `FoodSensitivity`). A plan item whose substances match `substance` (by
    name or synonym) raises an allergy contraindication."""

    category: Literal["allergy"] = "allergy"
    substance: Name = Field(description="What the patient reacted to, e.g. 'penicillin'")
    reaction: ShortText = Field("", description="What happened, e.g. 'hives', 'anaphylaxis'")
    severity: Literal["mild", "moderate", "severe", "unknown"] = "unknown"
    recorded_on: date | None = None


class FamilyHistory(_Model):
    category: Literal["family_history"] = "family_history"
    relative: Literal["parent", "sibling", "child", "grandparent", "other"]
    condition: Literal["colorectal_cancer", "ovarian_cancer", "ibd", "celiac_disease", "other"]
    detail: ShortText = ""
    age_at_onset: int | None = Field(None, ge=0, le=120)


class SafetyFacts(_Model):
    """Checked before a supplement or a diet; None = 'not asked'. Age and current medicines
    come from the record; a later entry overrides (`casebook.clinical.cautions.safety_facts`)."""

    category: Literal["safety"] = "safety"
    recorded_on: date | None = None
    pregnant: Tri = None
    due_date: date | None = Field(
        None, description="Expected date of delivery, when pregnant (dates the trimester)"
    )
    breastfeeding: Tri = None
    immunosuppressed: Tri = Field(None, description="Immunosuppressed or immunocompromised")
    eating_disorder_history: Tri = None
    liver_disease: Tri = None
    kidney_disease: Tri = None
    hypertension: Tri = None
    hypokalemia: Tri = None
    central_line_or_critical_illness: Tri = Field(
        None, description="A central venous line, or critically ill"
    )
    underweight: Tri = Field(None, description="Underweight (BMI below 18.5) or losing weight")
    dysphagia: Tri = Field(None, description="Difficulty swallowing, or narrowing of the gut")
    hypercalcemia_or_granulomatous_disease: Tri = Field(
        None, description="High calcium, or sarcoidosis or another granulomatous disease"
    )
    reflux: Tri = Field(None, description="Heartburn or reflux (GERD)")
    heart_valve_disease: Tri = Field(
        None, description="Heart-valve disease or a replaced valve (probiotic endocarditis risk)"
    )
    jejunal_feeding: Tri = Field(None, description="Fed through a jejunal tube")
    severe_acute_pancreatitis: Tri = Field(None, description="Severe acute pancreatitis now")
    thyroid_disease: Tri = Field(None, description="A thyroid disorder (over- or underactive)")
    gallbladder_disease: Tri = Field(
        None, description="Gallstones, bile-duct blockage or another gallbladder disease"
    )


SAFETY_FACTS: tuple[str, ...] = tuple(
    n for n in SafetyFacts.model_fields if n not in ("category", "recorded_on", "due_date")
)
"""The safety fact keys a protocol caution can match."""


HistoryData = Annotated[
    Infection
    | InflammatoryCondition
    | Medication
    | DietHistory
    | StressHistory
    | EnvironmentalExposure
    | FoodSensitivity
    | Allergy
    | FamilyHistory
    | SafetyFacts,
    Field(discriminator="category"),
]
HISTORY_CATEGORIES: tuple[str, ...] = tuple(  # in the order of the union above
    m.model_fields["category"].default for m in get_args(get_args(HistoryData)[0])
)


class HistoryEntry(Record):
    data: HistoryData
    notes: Text = ""

    @property
    def category(self) -> str:
        return self.data.category
