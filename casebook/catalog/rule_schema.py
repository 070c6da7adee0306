"""Pydantic schema of the red-flag rules (`casebook/catalog/data/red_flags.toml`): the
kinds of rule, the parameters each takes, and the checks a rule must pass to load."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from casebook.catalog._entry import KEY as _KEY
from casebook.catalog._entry import Entry as _Entry
from casebook.clinical.vocabulary import RED_FLAG_URGENCIES, ResultFlag, Urgency

__all__ = ["FIRST_DEGREE", "LAB_KINDS", "RULE_PARAMS", "RedFlagRule", "RuleKind"]


FIRST_DEGREE: tuple[Literal["parent", "sibling", "child"], ...] = ("parent", "sibling", "child")
RuleKind = Literal[
    "screen",
    "onset_age",
    "age_with",
    "lab",
    "lab_flag",
    "anemia",
    "iron_deficiency",
    "lab_needs_limit",
    "family_history",
    "instrument_alert",
]
LAB_KINDS: tuple[str, ...] = ("lab", "lab_flag", "anemia", "iron_deficiency", "lab_needs_limit")
"""The kinds of rule that read results (their `test` / `tests` name catalog tests)."""
# The parameters each kind of rule takes (besides `requires` and `unless`, which any takes).
RULE_PARAMS: dict[str, frozenset[str]] = {
    "screen": frozenset({"field"}),
    "onset_age": frozenset({"min_age"}),
    "age_with": frozenset(
        {"min_age", "under_age", "fields", "symptoms", "any_fields", "any_symptoms"}
    ),
    "lab": frozenset({"test", "tests", "below", "above", "at_least", "below_female", "below_male"}),
    "lab_flag": frozenset({"test", "tests", "flags"}),
    "anemia": frozenset({"test"}),
    "iron_deficiency": frozenset({"test", "anemic"}),
    "lab_needs_limit": frozenset({"test", "tests"}),
    "family_history": frozenset({"conditions", "relatives"}),
    "instrument_alert": frozenset({"instrument"}),
}
_NEEDED: dict[str, tuple[str, ...]] = {
    "screen": ("field",),
    "onset_age": ("min_age",),
    "age_with": ("min_age",),
    "lab": ("test|tests",),
    "lab_flag": ("test|tests", "flags"),
    "anemia": ("test",),
    "iron_deficiency": ("test", "anemic"),
    "lab_needs_limit": ("test|tests",),
    "family_history": ("conditions",),
    "instrument_alert": ("instrument",),
}


class RedFlagRule(_Entry):
    """A rule evaluated over the whole record by `casebook.clinical.red_flags.red_flags`.

    kinds and their parameters:
      screen           field: an AlarmScreen field that is True
      onset_age        min_age: symptom onset at or after this age; when no onset was
                       recorded, the age at the intake visit
      age_with         min_age, under_age, fields, symptoms, any_fields, any_symptoms: at a
                       visit where the patient is at least min_age (and younger than
                       under_age, when given), every AlarmScreen field in `fields` is yes,
                       every symptom in `symptoms` is rated above 0, and, when any_fields or
                       any_symptoms are given, at least one of them is yes or rated above 0
                       (NICE NG12 age combinations); with only `requires`, the age on the
                       date of the required flags' evidence
      lab              test or tests, below / at_least / above: a result outside a threshold
                       (sex-specific via below_female / below_male)
      lab_flag         test or tests, flags: a result carrying one of these flags ("A", "H"),
                       judged by `clinical.scoring.read_result` (the result's own range first)
      anemia           test: haemoglobin below the lab's lower limit, the catalog's default
                       for the sex only without one, pregnancy thresholds when pregnant
                       (`clinical.labs.has_anaemia`)
      iron_deficiency  test, anemic: ferritin read with anaemia (anemic = true: below 45) or
                       without (below the lab's lower limit); up to 100 with a raised CRP
                       either way (`clinical.labs.has_iron_deficiency`)
      lab_needs_limit  test or tests: a numeric result with neither the lab's upper limit
                       nor its flag, which cannot be read (`clinical.labs`)
      family_history   conditions, relatives: a relative of these degrees (first-degree by
                       default) with any of these conditions
      instrument_alert instrument: an alert of that instrument fired
    Any rule may also name `requires` (rule keys that must fire too) and `unless` (rule keys
    that must not fire): iron-deficiency anemia requires anemia; iron deficiency without
    anemia is unless anemia.
    """

    key: str = Field(pattern=_KEY)
    kind: RuleKind
    label: str = Field(min_length=1)
    urgency: Urgency = Urgency.URGENT
    action: str = Field(min_length=1)
    source: str = Field(min_length=1)
    field: str | None = None
    fields: tuple[str, ...] = ()
    symptoms: tuple[str, ...] = ()
    any_fields: tuple[str, ...] = ()
    any_symptoms: tuple[str, ...] = ()
    min_age: int | None = Field(None, ge=0, le=120)
    under_age: int | None = Field(None, ge=1, le=130)
    test: str | None = None
    tests: tuple[str, ...] = ()
    below: float | None = None
    above: float | None = None
    at_least: float | None = None
    below_female: float | None = None
    below_male: float | None = None
    flags: tuple[ResultFlag, ...] = ()
    conditions: tuple[str, ...] = ()
    relatives: tuple[Literal["parent", "sibling", "child", "grandparent", "other"], ...] = (
        FIRST_DEGREE
    )
    instrument: str | None = None
    anemic: bool | None = None
    requires: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()

    @property
    def test_keys(self) -> tuple[str, ...]:
        """Every test (key or LOINC code) a lab rule reads."""
        return tuple(dict.fromkeys(([self.test] if self.test else []) + list(self.tests)))

    @field_validator("urgency")
    @classmethod
    def _flag_urgency(cls, urgency: Urgency) -> Urgency:
        if urgency not in RED_FLAG_URGENCIES:
            raise ValueError(
                f"a red flag's urgency is one of {', '.join(u.value for u in RED_FLAG_URGENCIES)}"
            )
        return urgency

    @model_validator(mode="after")
    def _params(self) -> RedFlagRule:
        missing = [
            n
            for n in _NEEDED[self.kind]
            if all(getattr(self, part) in (None, ()) for part in n.split("|"))
        ]
        if missing:
            names = ", ".join(n.replace("|", " or ") for n in missing)
            raise ValueError(f"rule of kind {self.kind!r} needs {names}")
        if self.kind == "lab" and all(
            v is None
            for v in (self.below, self.above, self.at_least, self.below_female, self.below_male)
        ):
            raise ValueError(
                "a 'lab' rule needs below, above, at_least, below_female or below_male"
            )
        if self.kind == "age_with" and not (
            self.fields or self.symptoms or self.any_fields or self.any_symptoms or self.requires
        ):
            raise ValueError(
                "an 'age_with' rule needs fields, symptoms, any_fields, any_symptoms or requires"
            )
        if self.kind == "age_with" and self.under_age is not None:
            if not (self.fields or self.symptoms or self.any_fields or self.any_symptoms):
                raise ValueError("under_age needs fields or symptoms to look for at a visit")
            if self.under_age <= (self.min_age or 0):
                raise ValueError("under_age must be above min_age")
        if self.key in self.requires or self.key in self.unless:
            raise ValueError(f"rule {self.key!r} cannot require or exclude itself")
        return self
