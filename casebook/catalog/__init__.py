"""The catalog: symptoms, instruments, lab tests, protocol templates, red-flag rules and
substances.

The shipped data lives in `casebook/catalog/data/` (TOML, read with `tomllib` through
`importlib.resources`). A clinic adds its own entries without code by pointing
`extra_dir` (or the `CASEBOOK_CATALOG_DIR` environment variable) at a folder shaped like
the data folder:

    <extra_dir>/instruments/<key>.toml   one instrument (or <key>.json in the same shape),
                                         e.g. a licensed MSQ, GSRS or IBS-SSS copy
    <extra_dir>/symptoms.toml            [[symptom]] entries
    <extra_dir>/tests.toml               [[test]] entries
    <extra_dir>/protocols.toml           [[protocol]] entries
    <extra_dir>/red_flags.toml           [[rule]] entries
    <extra_dir>/substances.toml          [[substance]] entries

A clinic file may add new keys; it may not replace a shipped one. Keys are unique across
the whole catalog, so `Catalog.sources[key]` names the one file an entry came from.
Every problem is reported as a `CatalogError` that names the file, the entry and the field.
"""

from __future__ import annotations

import functools
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ValidationError

from casebook.catalog._rule_check import check_rule
from casebook.catalog.rule_schema import (
    FIRST_DEGREE,
    LAB_KINDS,
    RULE_PARAMS,
    RedFlagRule,
    RuleKind,
)
from casebook.catalog.schema import (
    AnswerOption,
    Band,
    Caution,
    Evidence,
    Instrument,
    InstrumentAlert,
    InstrumentItem,
    LabTest,
    ProtocolTemplate,
    SexRange,
    Symptom,
)
from casebook.catalog.substance_schema import Substance, normalise_name, unknown_substances
from casebook.errors import CasebookError
from casebook.models import PLAN_CATEGORIES

__all__ = [
    "ENV_VAR",
    "FIRST_DEGREE",
    "LAB_KINDS",
    "RULE_PARAMS",
    "AnswerOption",
    "Band",
    "Catalog",
    "CatalogError",
    "Caution",
    "Evidence",
    "Instrument",
    "InstrumentAlert",
    "InstrumentItem",
    "LabTest",
    "ProtocolTemplate",
    "RedFlagRule",
    "RuleKind",
    "SexRange",
    "Substance",
    "Symptom",
    "UnknownEntryError",
    "default_catalog",
    "load_catalog",
    "normalise_name",
]

ENV_VAR = "CASEBOOK_CATALOG_DIR"

# (file stem, name of its array of tables, entry noun used in messages, model)
_LIST_FILES: tuple[tuple[str, str, str, type[BaseModel]], ...] = (
    ("symptoms", "symptom", "symptom", Symptom),
    ("tests", "test", "test", LabTest),
    ("protocols", "protocol", "protocol", ProtocolTemplate),
    ("red_flags", "rule", "rule", RedFlagRule),
    ("substances", "substance", "substance", Substance),
)


class CatalogError(CasebookError, ValueError):
    """A catalog file is malformed or inconsistent; the message names file, entry and field."""


class UnknownEntryError(CasebookError, KeyError):
    """A symptom, instrument, test or plan category the catalog does not hold."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0]) if self.args else "unknown catalog entry"


@dataclass(frozen=True, repr=False)
class Catalog:
    """The validated catalog. Mappings are read-only; order is file order."""

    symptoms: tuple[Symptom, ...]
    instruments: Mapping[str, Instrument]
    tests: Mapping[str, LabTest]
    protocols: tuple[ProtocolTemplate, ...]
    red_flags: tuple[RedFlagRule, ...]
    sources: Mapping[str, str] = field(default_factory=dict)
    substances: Mapping[str, Substance] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("instruments", "tests", "sources", "substances"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    def __repr__(self) -> str:
        return (
            f"Catalog({len(self.symptoms)} symptoms, {len(self.instruments)} instruments, "
            f"{len(self.tests)} tests, {len(self.protocols)} protocols, "
            f"{len(self.red_flags)} red-flag rules, {len(self.substances)} substances)"
        )

    def symptom(self, key: str) -> Symptom:
        for symptom in self.symptoms:
            if symptom.key == key:
                return symptom
        known = ", ".join(s.key for s in self.symptoms)
        raise UnknownEntryError(f"unknown symptom {key!r}; known: {known}")

    def test(self, key_or_loinc: str) -> LabTest:
        """A lab test by its catalog key or by its LOINC code."""
        found = self.tests.get(key_or_loinc)
        if found is not None:
            return found
        for test in self.tests.values():
            if test.loinc is not None and test.loinc == key_or_loinc:
                return test
        raise UnknownEntryError(
            f"unknown test {key_or_loinc!r} (neither a catalog key nor a LOINC code); "
            f"known tests: {', '.join(self.tests)}"
        )

    def instrument(self, key: str) -> Instrument:
        try:
            return self.instruments[key]
        except KeyError:
            raise UnknownEntryError(
                f"unknown instrument {key!r}; known: {', '.join(self.instruments)}. A clinic adds "
                f"an instrument it holds a licence for as <{ENV_VAR}>/instruments/<key>.toml"
            ) from None

    def protocols_for(self, category: str) -> tuple[ProtocolTemplate, ...]:
        if category not in PLAN_CATEGORIES:
            raise UnknownEntryError(
                f"unknown plan category {category!r}; known: {', '.join(PLAN_CATEGORIES)}"
            )
        return tuple(p for p in self.protocols if p.category == category)


# --- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    file: str  # as shown in messages
    where: str  # "<file>: <noun> '<key>' (entry n)" or just "<file>" for one-entry files
    # a LabTest, Instrument, Symptom, ...: each has a .key, the rest differs by kind
    model: Any
    shipped: bool


def _read(node: Traversable, shown: str) -> dict[str, Any]:
    """Parse one TOML or JSON file into a table; syntax errors name the file and line."""
    try:
        raw = node.read_bytes()
    except OSError as exc:
        raise CatalogError(f"{shown}: cannot read: {exc}") from exc
    if node.name.endswith(".json"):
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise CatalogError(f"{shown}: not UTF-8 text: {exc}") from exc
        except json.JSONDecodeError as exc:
            raise CatalogError(
                f"{shown}: malformed JSON: {exc.msg} (at line {exc.lineno}, column {exc.colno})"
            ) from exc
        if not isinstance(data, dict):
            raise CatalogError(f"{shown}: the top level must be an object")
        return data
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise CatalogError(f"{shown}: not UTF-8 text: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{shown}: malformed TOML: {exc}") from exc


def _format_errors(where: str, exc: ValidationError) -> list[str]:
    lines = []
    for err in exc.errors(include_url=False):
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        value = err.get("input")
        if err["type"] != "missing" and isinstance(value, str | int | float | bool):
            msg += f" (got {value!r})"
        lines.append(f"{where}: {loc.lstrip('.')}: {msg}" if loc else f"{where}: {msg}")
    return lines


def _validate(model: type[BaseModel], data: Any, where: str, problems: list[str]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems.extend(_format_errors(where, exc))
        return None


def _find(folder: Traversable, stem: str) -> list[Traversable]:
    return [
        folder / f"{stem}{ext}" for ext in (".toml", ".json") if (folder / f"{stem}{ext}").is_file()
    ]


def _read_folder(
    folder: Traversable, prefix: str, shipped: bool, problems: list[str]
) -> list[_Entry]:
    """Every entry of one catalog folder (the shipped data or a clinic's folder)."""
    entries: list[_Entry] = []
    for stem, array, noun, model in _LIST_FILES:
        for node in _find(folder, stem):
            shown = f"{prefix}{node.name}"
            data = _read(node, shown)
            unknown = sorted(set(data) - {array})
            if unknown:
                problems.append(
                    f"{shown}: unknown top-level key(s) {unknown}; entries go in "
                    f"[[{array}]] tables (sub-tables as [{array}.<name>])"
                )
            rows = data.get(array, [])
            if not isinstance(rows, list):
                problems.append(f"{shown}: {array!r} must be an array of tables ([[{array}]])")
                continue
            for i, row in enumerate(rows, start=1):
                key = row.get("key") if isinstance(row, dict) else None
                label = f"{noun} {key!r} (entry {i})" if isinstance(key, str) else f"entry {i}"
                where = f"{shown}: {label}"
                parsed = _validate(model, row, where, problems)
                if parsed is not None:
                    entries.append(_Entry(shown, where, parsed, shipped))
    instruments = folder / "instruments"
    if instruments.is_dir():
        nodes = sorted(
            (
                n
                for n in instruments.iterdir()
                if n.is_file() and n.name.endswith((".toml", ".json"))
            ),
            key=lambda n: n.name,
        )
        for node in nodes:
            shown = f"{prefix}instruments/{node.name}"
            parsed = _validate(Instrument, _read(node, shown), shown, problems)
            if parsed is None:
                continue
            stem = node.name.rsplit(".", 1)[0]
            if parsed.key != stem:
                problems.append(
                    f"{shown}: key: instrument key {parsed.key!r} does not match the "
                    f"file name (expected {stem!r} or a file named "
                    f"{parsed.key}.toml)"
                )
                continue
            entries.append(_Entry(shown, shown, parsed, shipped))
    return entries


def _check_keys(entries: list[_Entry], problems: list[str]) -> list[_Entry]:
    """Keys are unique across the catalog; a clinic file may not replace a shipped key."""
    seen: dict[str, _Entry] = {}
    kept: list[_Entry] = []
    for entry in entries:
        key: str = entry.model.key
        first = seen.get(key)
        if first is None:
            seen[key] = entry
            kept.append(entry)
        elif first.shipped and not entry.shipped:
            problems.append(
                f"{entry.where}: key {key!r} is already defined by the shipped "
                f"catalog ({first.where}); a clinic file may add new keys but not "
                "replace shipped ones"
            )
        else:
            problems.append(
                f"{entry.where}: duplicate key {key!r} (already defined by {first.where})"
            )
    return kept


def _check_loincs(tests: list[_Entry], problems: list[str]) -> None:
    seen: dict[str, _Entry] = {}
    for entry in tests:
        code = entry.model.loinc
        if code is None:
            continue
        if code in seen:
            problems.append(
                f"{entry.where}: loinc: LOINC code {code!r} is already used by {seen[code].where}"
            )
        seen.setdefault(code, entry)


def _raise_if(problems: list[str]) -> None:
    if problems:
        head = "" if len(problems) == 1 else f"{len(problems)} problems in the catalog:\n"
        raise CatalogError(head + "\n".join(problems))


def load_catalog(extra_dir: str | os.PathLike[str] | None = None) -> Catalog:
    """Load and validate the shipped catalog, plus a clinic's folder if given."""
    problems: list[str] = []
    data = resources.files("casebook.catalog").joinpath("data")
    entries = _read_folder(data, "", True, problems)
    if extra_dir is not None:
        folder = Path(extra_dir)
        if not folder.is_dir():
            raise CatalogError(f"{folder}: catalog folder does not exist or is not a folder")
        entries += _read_folder(folder, f"{folder}{os.sep}", False, problems)
    _raise_if(problems)

    entries = _check_keys(entries, problems)
    _raise_if(problems)

    def of(model: type[BaseModel]) -> list[_Entry]:
        return [e for e in entries if type(e.model) is model]

    _check_loincs(of(LabTest), problems)
    tests = {e.model.key: e.model for e in of(LabTest)}
    instruments = {e.model.key: e.model for e in of(Instrument)}
    rule_keys = {e.model.key for e in of(RedFlagRule)}
    symptom_keys = {e.model.key for e in of(Symptom)}
    substances = {e.model.key: e.model for e in of(Substance)}
    problems.extend(
        unknown_substances([(e.where, e.model) for e in of(ProtocolTemplate)], substances)
    )
    for entry in of(RedFlagRule):
        problems.extend(check_rule(entry.model, entry.where, tests, instruments))
        rule: RedFlagRule = entry.model
        problems.extend(
            f"{entry.where}: {name}: unknown rule {key!r}"
            for name in ("requires", "unless")
            for key in getattr(rule, name)
            if key not in rule_keys
        )
        problems.extend(
            f"{entry.where}: {name}: unknown symptom {key!r}"
            for name in ("symptoms", "any_symptoms")
            for key in getattr(rule, name)
            if key not in symptom_keys
        )
    _raise_if(problems)

    return Catalog(
        symptoms=tuple(e.model for e in of(Symptom)),
        instruments=instruments,
        tests=tests,
        protocols=tuple(e.model for e in of(ProtocolTemplate)),
        red_flags=tuple(e.model for e in of(RedFlagRule)),
        sources={e.model.key: e.file for e in entries},
        substances=substances,
    )


@functools.cache
def default_catalog() -> Catalog:
    """The catalog of this process, loaded once; `$CASEBOOK_CATALOG_DIR` adds a clinic folder.

    Call `default_catalog.cache_clear()` to reload (tests do, after changing the variable).
    """
    return load_catalog(os.environ.get(ENV_VAR) or None)
