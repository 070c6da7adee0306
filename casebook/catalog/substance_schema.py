"""Pydantic schema of the substance catalog (`casebook/catalog/data/substances.toml`).

A substance is what a plan item contains (berberine, fish oil, S. boulardii, ...): its name,
the synonyms a typed plan item is matched against, and its sourced cautions, with
contraindications, interactions and population cautions kept in separate lists (a
contraindication is overridden only with a reason that says why and who advised it; see
`casebook.clinical.overrides`)."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from casebook.catalog._entry import KEY as _KEY
from casebook.catalog._entry import Entry as _Entry
from casebook.catalog.schema import Caution, ProtocolTemplate

__all__ = ["Substance", "normalise_name", "unknown_substances"]

_CAUTION_LISTS: dict[str, Literal["contraindication", "interaction", "population"]] = {
    "contraindications": "contraindication",
    "interactions": "interaction",
    "populations": "population",
}
_NON_WORD = re.compile(r"[^a-z0-9]+")


@functools.lru_cache(maxsize=8192)
def normalise_name(text: str) -> str:
    """`text` as names are compared: lower case, apostrophes dropped, every other run of
    non-letters one space ("St. John's wort" -> "st johns wort")."""
    folded = text.casefold().replace("'", "").replace("\u2019", "")
    return " ".join(_NON_WORD.sub(" ", folded).split())


class Substance(_Entry):
    key: str = Field(pattern=_KEY)
    name: str = Field(min_length=1)
    kind: Literal["herbal", "supplement", "probiotic", "fibre", "nutrient", "product"]
    synonyms: tuple[str, ...] = Field(
        min_length=1, description="Names a typed plan item is matched against (whole words)"
    )
    allergy_words: tuple[str, ...] = Field(
        (), description="Words in a recorded allergy that rule this substance out (e.g. fish)"
    )
    note: str = ""
    contraindications: tuple[Caution, ...] = ()
    interactions: tuple[Caution, ...] = ()
    populations: tuple[Caution, ...] = ()
    no_cautions_reason: str = Field("", validate_default=True)

    @model_validator(mode="before")
    @classmethod
    def _kinds(cls, data: Any) -> Any:
        """Each list's cautions take their kind from the list they are in."""
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for name, kind in _CAUTION_LISTS.items():
            rows = out.get(name)
            if isinstance(rows, list):
                out[name] = [
                    {**r, "kind": kind} if isinstance(r, dict) and "kind" not in r else r
                    for r in rows
                ]
        return out

    @field_validator("synonyms", "allergy_words")
    @classmethod
    def _words(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        empty = [w for w in value if not normalise_name(w)]
        if empty:
            raise ValueError(f"{empty} has no letters or digits to match")
        return value

    @model_validator(mode="after")
    def _check(self) -> Substance:
        for name, kind in _CAUTION_LISTS.items():
            wrong = [c.key for c in getattr(self, name) if c.kind != kind]
            if wrong:
                raise ValueError(f"{name}: {wrong} are not of kind {kind!r}")
        keys = [c.key for c in self.cautions]
        if len(set(keys)) != len(keys):
            raise ValueError(f"duplicate caution keys in {keys}")
        if not keys and not self.no_cautions_reason.strip():
            raise ValueError("a substance with no cautions needs no_cautions_reason saying why")
        if keys and self.no_cautions_reason.strip():
            raise ValueError("no_cautions_reason is only for a substance without cautions")
        return self

    @property
    def cautions(self) -> tuple[Caution, ...]:
        """Contraindications first, then interactions, then population cautions."""
        return self.contraindications + self.interactions + self.populations

    @property
    def match_names(self) -> tuple[str, ...]:
        """The name and synonyms, normalised, longest first."""
        names = {normalise_name(n) for n in (self.name, *self.synonyms)}
        return tuple(sorted(names, key=lambda n: (-len(n), n)))


def unknown_substances(
    templates: Iterable[tuple[str, ProtocolTemplate]], substances: Mapping[str, Substance]
) -> list[str]:
    """One problem line for each substance a template lists that the catalog lacks."""
    return [
        f"{where}: substances: unknown substance {key!r}"
        for where, template in templates
        for key in template.substances
        if key not in substances
    ]
