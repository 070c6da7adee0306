"""The pure clinical rules, one module for each: what a record scores and which band it falls
in (`scoring`), where progress is measured from (`baseline`), lab-aware readings: anaemia,
iron deficiency, celiac serology (`labs`), the red-flag rules (`red_flags`), where a raised
flag stands and the urgency it shows (`flag_lifecycle`), plan cautions matched against the
patient (`cautions`), which substances an item contains (`substances`), what a caution
confirmation must say (`overrides`), what must be true before a protocol starts
(`preconditions`), the validate-and-derive step before a save (`derive`), and the words of
the domain, one spelling each (`vocabulary`).

Importing the package imports none of them: `casebook.clinical.vocabulary` sits below the
catalog and the models (they use its words), while the other modules read them. A module
is loaded on first use of `casebook.clinical.<name>` (PEP 562)."""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

__all__ = [
    "baseline",
    "cautions",
    "derive",
    "flag_lifecycle",
    "labs",
    "overrides",
    "preconditions",
    "red_flags",
    "scoring",
    "substances",
    "vocabulary",
]


def __getattr__(name: str) -> ModuleType:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return import_module(f"{__name__}.{name}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
