"""Cross-checks of a red-flag rule against the rest of the catalog and the case model: its
parameters fit its kind, its fields are yes/no questions of the alarm screen, its tests and
instruments exist, its family-history conditions are ones the record holds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, get_args, get_origin

from casebook.catalog.rule_schema import LAB_KINDS, RULE_PARAMS, RedFlagRule
from casebook.catalog.schema import Instrument, LabTest
from casebook.models import AlarmScreen, FamilyHistory

__all__ = ["check_rule"]

_RULE_ALLOWED = RULE_PARAMS
_RULE_PARAMS = tuple(sorted(frozenset().union(*RULE_PARAMS.values()) - {"relatives"}))


def _literal_values(annotation: Any) -> tuple[Any, ...]:
    """All the values of the `Literal[...]` types inside an annotation (through unions)."""
    if get_origin(annotation) is Literal:
        return get_args(annotation)
    return tuple(v for arg in get_args(annotation) for v in _literal_values(arg))


_SCREEN_FIELDS = frozenset(
    name for name, info in AlarmScreen.model_fields.items() if bool in get_args(info.annotation)
)
_FAMILY_CONDITIONS = frozenset(_literal_values(FamilyHistory.model_fields["condition"].annotation))


def check_rule(
    rule: RedFlagRule,
    where: str,
    tests: Mapping[str, LabTest],
    instruments: Mapping[str, Instrument],
) -> list[str]:
    """Cross-check one red-flag rule against the rest of the catalog and the case model;
    one line per problem, each starting with `where` (the file and the rule)."""
    out = [
        f"{where}: {name}: not a parameter of a {rule.kind!r} rule "
        f"(it takes {', '.join(sorted(_RULE_ALLOWED[rule.kind]))})"
        for name in _RULE_PARAMS
        if name not in _RULE_ALLOWED[rule.kind] and getattr(rule, name) not in (None, ())
    ]
    screen_names = {"screen": (rule.field,), "age_with": rule.fields + rule.any_fields}.get(
        rule.kind, ()
    )
    for name in screen_names:
        if name not in _SCREEN_FIELDS:
            out.append(
                f"{where}: field: {name!r} is not a yes/no field of AlarmScreen "
                f"(known: {', '.join(sorted(_SCREEN_FIELDS))})"
            )
    for key in rule.test_keys if rule.kind in LAB_KINDS else ():
        test = tests.get(key) or next((t for t in tests.values() if t.loinc == key), None)
        if test is None:
            out.append(f"{where}: test: unknown test {key!r}")
        elif rule.kind != "lab_flag" and test.kind != "numeric":
            out.append(
                f"{where}: test: a {rule.kind!r} rule needs a numeric test; {key!r} is "
                "qualitative (use a 'lab_flag' rule)"
            )
    bad_conditions = [c for c in rule.conditions if c not in _FAMILY_CONDITIONS]
    if bad_conditions:
        out.append(
            f"{where}: conditions: {bad_conditions} are not family-history conditions "
            f"(known: {', '.join(sorted(_FAMILY_CONDITIONS))})"
        )
    if rule.kind == "instrument_alert":
        instrument = instruments.get(rule.instrument or "")
        if instrument is None:
            out.append(f"{where}: instrument: unknown instrument {rule.instrument!r}")
        elif not instrument.alerts:
            out.append(
                f"{where}: instrument: {rule.instrument!r} defines no alerts, so this "
                "rule can never fire"
            )
    return out
