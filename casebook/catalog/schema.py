"""Pydantic schemas of the catalog data files (TOML in `casebook/catalog/data/`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from casebook.catalog._entry import KEY as _KEY
from casebook.catalog._entry import Entry as _Entry
from casebook.clinical.vocabulary import Evidence

__all__ = [
    "AnswerOption",
    "Band",
    "Caution",
    "Evidence",
    "Instrument",
    "InstrumentAlert",
    "InstrumentItem",
    "LabTest",
    "ProtocolTemplate",
    "SexRange",
    "Symptom",
]


class Symptom(_Entry):
    key: str = Field(pattern=_KEY)
    label: str = Field(min_length=1)
    patient_label: str = Field(min_length=1, description="Plain-language wording")
    description: str = ""


class AnswerOption(_Entry):
    value: int
    label: str = Field(min_length=1)


class InstrumentItem(_Entry):
    id: str = Field(pattern=r"^[A-Za-z0-9_]{1,32}$")
    text: str = Field(min_length=1)
    reverse: bool = False


class Band(_Entry):
    min: int
    max: int
    label: str = Field(min_length=1)
    patient_text: str = Field("", description="What the band means, for a lay reader")

    @model_validator(mode="after")
    def _order(self) -> Band:
        if self.max < self.min:
            raise ValueError(f"band {self.label!r}: max {self.max} is below min {self.min}")
        return self


class InstrumentAlert(_Entry):
    """An answer that needs attention at once (PHQ-9 item 9 above 0)."""

    item: str
    min_value: int
    message: str = Field(min_length=1)
    source: str = Field(min_length=1)


class Instrument(_Entry):
    key: str = Field(pattern=_KEY)
    name: str = Field(min_length=1)
    short_name: str = Field(min_length=1)
    measures: str = Field(min_length=1, description="What it measures, e.g. 'depression'")
    scoring: Literal["sum", "category"] = "sum"
    period: str = ""
    licence: str = Field(min_length=1)
    source: str = Field(min_length=1)
    loinc_panel: str | None = None
    loinc_total: str | None = None
    options: tuple[AnswerOption, ...] = Field(min_length=2)
    items: tuple[InstrumentItem, ...] = Field(min_length=1)
    bands: tuple[Band, ...] = Field(min_length=1)
    alerts: tuple[InstrumentAlert, ...] = ()
    higher_is_worse: bool = True

    @property
    def option_values(self) -> tuple[int, ...]:
        return tuple(o.value for o in self.options)

    @property
    def total_range(self) -> tuple[int, int]:
        return _total_range(self.scoring, self.options, self.items)

    # Cross-field checks are field validators (fields validate in declaration order, so the
    # earlier ones are in `info.data`): an error then carries the field in its `loc`.
    @field_validator("options")
    @classmethod
    def _unique_options(cls, value: tuple[AnswerOption, ...]) -> tuple[AnswerOption, ...]:
        values = [o.value for o in value]
        if len(set(values)) != len(values):
            raise ValueError(f"duplicate option values {values}")
        return value

    @field_validator("items")
    @classmethod
    def _items(
        cls, value: tuple[InstrumentItem, ...], info: ValidationInfo
    ) -> tuple[InstrumentItem, ...]:
        ids = [i.id for i in value]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate item ids in {ids}")
        if info.data.get("scoring") == "category":
            if len(value) != 1:
                raise ValueError("a 'category' instrument has exactly one item")
            if any(i.reverse for i in value):
                raise ValueError("a 'category' instrument cannot reverse-score its item")
        return value

    @field_validator("bands")
    @classmethod
    def _bands(cls, value: tuple[Band, ...], info: ValidationInfo) -> tuple[Band, ...]:
        if "options" not in info.data or "items" not in info.data:
            return value  # already reported on those fields
        lo, hi = _total_range(
            info.data.get("scoring", "sum"), info.data["options"], info.data["items"]
        )
        expected = lo
        for band in sorted(value, key=lambda b: b.min):
            if band.min != expected:
                raise ValueError(
                    f"bands must cover {lo}-{hi} without gaps or overlaps: band "
                    f"{band.label!r} starts at {band.min}, expected {expected}"
                )
            expected = band.max + 1
        if expected != hi + 1:
            raise ValueError(f"bands end at {expected - 1}, but the score reaches {hi}")
        return value

    @field_validator("alerts")
    @classmethod
    def _alerts(
        cls, value: tuple[InstrumentAlert, ...], info: ValidationInfo
    ) -> tuple[InstrumentAlert, ...]:
        items = info.data.get("items")
        options = info.data.get("options")
        for alert in value:
            if items is not None and alert.item not in [i.id for i in items]:
                raise ValueError(f"alert refers to unknown item {alert.item!r}")
            if options is not None and alert.min_value > max(o.value for o in options):
                raise ValueError(
                    f"alert on item {alert.item!r}: min_value {alert.min_value} is above "
                    "every answer option, so it can never fire"
                )
        return value


def _total_range(
    scoring: str, options: tuple[AnswerOption, ...], items: tuple[InstrumentItem, ...]
) -> tuple[int, int]:
    values = [o.value for o in options]
    lo, hi = min(values), max(values)
    if scoring == "category":
        return lo, hi
    return lo * len(items), hi * len(items)


class SexRange(_Entry):
    low: float | None = None
    high: float | None = None

    @model_validator(mode="after")
    def _order(self) -> SexRange:
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"low {self.low} is above high {self.high}")
        return self


class LabTest(_Entry):
    key: str = Field(pattern=_KEY)
    name: str = Field(min_length=1)
    patient_name: str = Field(min_length=1)
    group: Literal["blood", "urine", "stool", "breath"]
    loinc: str | None = Field(None, pattern=r"^\d{1,7}-\d$")
    loinc_verified: bool = False
    kind: Literal["numeric", "qualitative"] = "numeric"
    unit: str = Field("", validate_default=True)
    unit_aliases: tuple[str, ...] = ()
    ref_low: float | None = None
    ref_high: float | None = None
    ranges: dict[Literal["female", "male"], SexRange] = Field(default_factory=dict)
    needs_lab_range: bool = Field(
        False,
        description="Read only against the testing lab's own limits (assays differ): no default",
    )
    abnormal_values: tuple[str, ...] = ()
    normal_values: tuple[str, ...] = Field((), validate_default=True)
    evidence: Evidence
    evidence_note: str = Field(min_length=1, description="For the practitioner")
    patient_note: str = Field(min_length=1, description="For a lay reader")
    source: str = Field(min_length=1)
    substrate: Literal["glucose", "lactulose", "not recorded"] | None = Field(
        None,
        validate_default=True,
        description="Breath tests: the sugar drunk, which changes how a result reads",
    )

    # Field validators (not one model validator) so that an error names its field.
    @field_validator("unit")
    @classmethod
    def _unit(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("kind") == "numeric" and not value.strip():
            raise ValueError("a numeric test needs a unit")
        return value

    @field_validator("ref_high")
    @classmethod
    def _ref_order(cls, value: float | None, info: ValidationInfo) -> float | None:
        low = info.data.get("ref_low")
        if value is not None and low is not None and low > value:
            raise ValueError(f"ref_low {low} is above ref_high {value}")
        return value

    @field_validator("normal_values")
    @classmethod
    def _qualitative(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        if info.data.get("kind") == "qualitative" and not (
            value and info.data.get("abnormal_values")
        ):
            raise ValueError("a qualitative test lists normal_values and abnormal_values")
        overlap = set(map(str.casefold, value)) & set(
            map(str.casefold, info.data.get("abnormal_values", ()))
        )
        if overlap:
            raise ValueError(f"{sorted(overlap)} listed as both normal and abnormal")
        return value

    @field_validator("substrate")
    @classmethod
    def _substrate(cls, value: str | None, info: ValidationInfo) -> str | None:
        if (info.data.get("group") == "breath") != (value is not None):
            raise ValueError(
                "a breath test, and only a breath test, names its substrate "
                "(glucose, lactulose, or 'not recorded')"
            )
        return value

    def __hash__(self) -> int:
        # The default hash of a frozen model fails on the `ranges` dict; equal tests have equal
        # keys, so hashing the key is consistent with ==.
        return hash((type(self), self.key))

    def range_for(self, sex: str) -> tuple[float | None, float | None]:
        specific = self.ranges.get(sex)  # type: ignore[call-overload]  # any sex may ask
        if specific is not None:
            return specific.low, specific.high
        return self.ref_low, self.ref_high

    def accepts_unit(self, unit: str) -> bool:
        return unit.strip() in (self.unit, *self.unit_aliases)


def _drug_classes() -> tuple[str, ...]:
    from typing import get_args

    from casebook.models import Medication

    return get_args(Medication.model_fields["drug_class"].annotation)


class Caution(_Entry):
    """What a template warns about, and what in the patient's record it matches.

    It matches when any of its matchers holds: a safety fact recorded as yes (`facts`), a
    current medicine of one of `drug_classes`, any current medicine at all
    (`any_medication`), or an age below `under_age` (from the birth date)."""

    key: str = Field(pattern=_KEY)
    kind: Literal["contraindication", "interaction", "population"]
    facts: tuple[str, ...] = ()
    drug_classes: tuple[str, ...] = ()
    any_medication: bool = False
    under_age: int | None = Field(None, gt=0, le=120)
    text: str = Field(min_length=1, description="For the practitioner")
    source: str = Field(min_length=1, description="A guideline, paper or official fact sheet")

    @model_validator(mode="after")
    def _matchers(self) -> Caution:
        from casebook.models import SAFETY_FACTS

        unknown = [f for f in self.facts if f not in SAFETY_FACTS]
        if unknown:
            raise ValueError(
                f"caution {self.key!r}: unknown safety facts {unknown} "
                f"(known: {', '.join(SAFETY_FACTS)})"
            )
        classes = _drug_classes()
        unknown = [d for d in self.drug_classes if d not in classes]
        if unknown:
            raise ValueError(
                f"caution {self.key!r}: unknown drug classes {unknown} "
                f"(known: {', '.join(classes)})"
            )
        if not (
            self.facts or self.drug_classes or self.any_medication or self.under_age is not None
        ):
            raise ValueError(
                f"caution {self.key!r} matches nothing: give facts, drug_classes, "
                "any_medication or under_age"
            )
        return self


class ProtocolTemplate(_Entry):
    key: str = Field(pattern=_KEY)
    category: Literal[
        "eliminate_triggers",
        "herbal",
        "nutritional_support",
        "microbiome_support",
        "stress_management",
        "referral",
    ]
    name: str = Field(min_length=1, description="For the practitioner")
    patient_name: str = Field(min_length=1, description="What the patient's page calls it")
    dose: str = ""
    frequency: str = ""
    duration_days: int | None = Field(None, gt=0)
    instructions: str = Field(min_length=1, description="Worded for the patient")
    rationale: str = Field(min_length=1)
    evidence: Evidence
    source: str = Field(min_length=1)
    substances: tuple[str, ...] = Field(
        (), description="Keys of the substances it contains (their cautions apply too)"
    )
    cautions: tuple[Caution, ...] = Field(
        description="Required: the template's own contraindications, interactions and "
        "populations, each sourced (empty when its substances carry them)"
    )
    no_cautions_reason: str = Field(
        "",
        validate_default=True,
        description="Why an empty `cautions` list is right (e.g. a referral)",
    )

    @field_validator("no_cautions_reason")
    @classmethod
    def _cautions(cls, value: str, info: ValidationInfo) -> str:
        cautions = info.data.get("cautions")
        if cautions is None:
            return value  # already reported on `cautions`
        substances = info.data.get("substances", ())
        if not cautions and not substances and not value.strip():
            raise ValueError(
                "an empty cautions list needs substances or no_cautions_reason saying why "
                "nothing applies"
            )
        if cautions and value.strip():
            raise ValueError("no_cautions_reason is only for an empty cautions list")
        keys = [c.key for c in cautions]
        if len(set(keys)) != len(keys):
            raise ValueError(f"duplicate caution keys in {keys}")
        return value
