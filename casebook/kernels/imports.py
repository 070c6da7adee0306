"""Cheaper imports for the processes a batch starts (fork server, pool workers).

jsonschema builds the `rfc3987_syntax` grammars when it is imported (0.7-1.1 s here;
jsonschema issue 1428), only to check the `iri` and `iri-reference` formats. nbformat,
papermill and Vega-Lite's schema (altair) never use those formats, so these processes
import jsonschema with that module hidden; it is unhidden right after, so code that
imports `rfc3987_syntax` itself still gets it.
"""

from __future__ import annotations

import importlib
import sys

__all__ = ["import_jsonschema_quickly"]


def import_jsonschema_quickly() -> None:
    """Import jsonschema without its iri format checks (a no-op if already imported)."""
    if "jsonschema" in sys.modules or "rfc3987_syntax" in sys.modules:
        return
    sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]  # import -> ImportError
    try:
        importlib.import_module("jsonschema")
    except ImportError:  # pragma: no cover - jsonschema comes with nbformat and altair
        pass
    finally:
        if sys.modules.get("rfc3987_syntax", 0) is None:
            del sys.modules["rfc3987_syntax"]
