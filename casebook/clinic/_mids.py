"""Minimal important differences, read from `data/mids.toml` with their sources."""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any

from casebook.errors import ClinicError

__all__ = ["Mid", "load_mids"]


@dataclass(frozen=True)
class Mid:
    """The MID of one measure in points, or None where the literature gives none."""

    measure: str
    points: float | None
    source: str
    note: str


def _parse(row: Any, i: int) -> Mid:
    if not isinstance(row, dict) or not isinstance(row.get("measure"), str):
        raise ClinicError(f"mids.toml: entry {i}: measure: a measure key is required")
    points = row.get("points")
    if points is not None and (
        isinstance(points, bool) or not isinstance(points, int | float) or points <= 0
    ):
        raise ClinicError(f"mids.toml: entry {i}: points: must be a positive number")
    source = str(row.get("source", ""))
    if points is not None and not source:
        raise ClinicError(f"mids.toml: entry {i}: source: an MID needs its published source")
    return Mid(
        row["measure"], None if points is None else float(points), source, str(row.get("note", ""))
    )


@functools.cache
def load_mids() -> MappingProxyType[str, Mid]:
    """measure key (instrument key, or "burden") -> its Mid."""
    node = resources.files("casebook.clinic").joinpath("data").joinpath("mids.toml")
    text = node.read_text("utf-8")
    rows = tomllib.loads(text).get("mid", [])
    mids = [_parse(row, i) for i, row in enumerate(rows, start=1)]
    return MappingProxyType({m.measure: m for m in mids})
