"""Cheaper imports for casebook's kernels and the processes that start them.

jsonschema (pulled in by altair and nbformat) imports `rfc3987_syntax` eagerly, which
builds a grammar at import: 0.7 s to 2 s here (jsonschema issue 1428), only for the `iri`
format checks that nothing in a casebook process asks for. `defer_rfc3987_syntax` puts a
stand-in in its place; the real module is imported the first time any of its names is
used, so behaviour is unchanged. One mechanism for the workbook kernel, the fork server,
the batch workers and the dashboard server.

`warm_altair` pays, once in the fork server, what every kernel would pay on its first
chart: narwhals reading every installed package's entry points to find its plugins, and
Altair's first-use caches.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any

__all__ = ["defer_rfc3987_syntax", "import_jsonschema_quickly", "warm_altair"]

_NAME = "rfc3987_syntax"


class _DeferredModule(types.ModuleType):
    """Stands in for a module until one of its names is used, then imports the real one."""

    def _real(self) -> types.ModuleType:
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        return importlib.import_module(self.__name__)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # the import system probing (__path__, ...): not a use
            raise AttributeError(name)
        return getattr(self._real(), name)


def defer_rfc3987_syntax() -> None:
    """Put the stand-in in place (nothing if already imported or not installed)."""
    if _NAME in sys.modules or importlib.util.find_spec(_NAME) is None:
        return
    stand_in = _DeferredModule(_NAME)

    def is_valid_syntax(*args: Any, **kwargs: Any) -> Any:
        return stand_in._real().is_valid_syntax(*args, **kwargs)

    stand_in.is_valid_syntax = is_valid_syntax  # type: ignore[attr-defined]  # module attrs
    sys.modules[_NAME] = stand_in


def import_jsonschema_quickly() -> None:
    """Import jsonschema with `rfc3987_syntax` deferred (a no-op if already imported)."""
    if "jsonschema" in sys.modules:
        return
    defer_rfc3987_syntax()
    importlib.import_module("jsonschema")  # a dependency of nbformat and altair


def warm_altair() -> None:
    """Build one small Altair chart over a pandas frame and turn it into its spec (no
    drawing: vl-convert would start threads in a process that forks). Measured after the
    fork server's imports: narwhals' first `from_native` 13 ms (its plugin discovery scans
    the installed packages' entry points; cached after), a first layered chart's `to_dict`
    ~18 ms slower than the next: ~30 ms a kernel, paid here once instead."""
    import altair as alt
    import pandas as pd

    frame = pd.DataFrame({"when": pd.to_datetime(["2024-01-01"]), "value": [1.0], "kind": ["a"]})
    base = alt.Chart(frame).encode(x="when:T", y="value:Q", color="kind:N")
    alt.layer(base.mark_line(), base.mark_point()).properties(width=100).to_dict()
