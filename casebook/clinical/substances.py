"""Which catalog substances a plan item contains, and which recorded allergies rule one out.
Pure: no I/O.

A typed name is matched against every substance's name and synonyms as whole words after
`normalise_name` ("St. John's Wort 300 mg" -> `st_johns_wort`); where one match lies
inside a longer match of another substance ("licorice" inside "DGL licorice"), only the
longer one counts, so DGL is not taken for licorice root. An item contains its template's
substances, the ones it names, and the ones its name matches.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from casebook.catalog import Catalog, ProtocolTemplate, Substance, normalise_name
from casebook.models import Allergy, Case, FoodSensitivity, PlanItem

__all__ = [
    "SUBSTANCE_CATEGORIES",
    "allergy_reasons",
    "item_substances",
    "match_substances",
    "parse_substances",
    "recorded_allergies",
]

SUBSTANCE_CATEGORIES = ("herbal", "nutritional_support", "microbiome_support")
"""Plan categories whose typed items must name their substances, or say why none is listed."""


def _spans(text: str, name: str) -> Iterable[tuple[int, int]]:
    for m in re.finditer(rf"(?<![a-z0-9]){re.escape(name)}(?![a-z0-9])", text):
        yield m.start(), m.end()


# One compiled alternation per catalog (names longest first), kept with the catalog it was
# made from so an id reused by a new catalog is never mistaken for it.
_MATCHERS: dict[int, tuple[Catalog, re.Pattern[str], dict[str, str]]] = {}


def _matcher(catalog: Catalog) -> tuple[re.Pattern[str], dict[str, str]]:
    found = _MATCHERS.get(id(catalog))
    if found is not None and found[0] is catalog:
        return found[1], found[2]
    owner = {name: sub.key for sub in catalog.substances.values() for name in sub.match_names}
    names = sorted(owner, key=lambda n: (-len(n), n))
    alternation = "|".join(re.escape(n) for n in names) or r"(?!x)x"
    pattern = re.compile(rf"(?<![a-z0-9])(?:{alternation})(?![a-z0-9])")
    if len(_MATCHERS) > 8:
        _MATCHERS.clear()
    _MATCHERS[id(catalog)] = (catalog, pattern, owner)
    return pattern, owner


def match_substances(text: str, catalog: Catalog) -> tuple[str, ...]:
    """Keys of the substances named in `text`, in the order they first appear. The scan
    goes left to right taking the longest name at each place, so a name inside a longer
    one ("licorice" in "dgl licorice") is not matched on its own."""
    norm = normalise_name(text)
    if not norm:
        return ()
    pattern, owner = _matcher(catalog)
    return tuple(dict.fromkeys(owner[m.group(0)] for m in pattern.finditer(norm)))


def parse_substances(text: str, catalog: Catalog) -> tuple[list[str], list[str]]:
    """(keys, unknown) of a comma-separated list typed by a practitioner: each part is a
    substance key or a name matched like a typed item's; parts matching none are unknown."""
    keys: list[str] = []
    unknown: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        found = (part,) if part in catalog.substances else match_substances(part, catalog)
        keys += found
        if not found:
            unknown.append(part)
    return list(dict.fromkeys(keys)), unknown


def item_substances(
    item: PlanItem | ProtocolTemplate, catalog: Catalog, template: ProtocolTemplate | None = None
) -> tuple[str, ...]:
    """The substance keys `item` contains: its template's, its own, and its name's matches
    (unknown keys are left out; the save names them)."""
    if isinstance(item, ProtocolTemplate):
        return tuple(k for k in item.substances if k in catalog.substances)
    keys = [*(template.substances if template else ()), *item.substances]
    keys += match_substances(item.name, catalog)
    return tuple(k for k in dict.fromkeys(keys) if k in catalog.substances)


def recorded_allergies(case: Case) -> list[tuple[str, str]]:
    """(what, how) of every recorded allergy: allergy entries and food allergies."""
    out = []
    for entry in case.history:
        data = entry.data
        if isinstance(data, Allergy):
            out.append((data.substance, data.reaction or data.severity))
        elif isinstance(data, FoodSensitivity) and data.reaction == "allergy":
            out.append((data.food, data.severity))
    return out


def allergy_reasons(substance: Substance, allergies: list[tuple[str, str]]) -> tuple[str, ...]:
    """Why a recorded allergy rules `substance` out: one reason per matching allergy."""
    words = substance.match_names + tuple(normalise_name(w) for w in substance.allergy_words)
    out = []
    for what, how in allergies:
        norm = normalise_name(what)
        if any(any(True for _ in _spans(norm, w)) for w in words):
            out.append(f"allergy recorded: {what} ({how})")
    return tuple(out)
