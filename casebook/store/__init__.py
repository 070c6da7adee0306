"""The store: tables, migrations, and the `CaseStore` API.

Names load on first use (PEP 562), so a module that only peeks at a SQLite file
(`casebook.store.peek`, for `casebook new`) does not import SQLAlchemy."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from casebook.store.bulk import (
        ImportSummary,
        import_case,
        import_cases,
        import_patients,
        import_results,
    )
    from casebook.store.casestore import CaseStore
    from casebook.store.engine import DEFAULT_URL, StoreError, redact_url, resolve_url
    from casebook.store.errors import (
        AuditEntry,
        ConflictError,
        NotFoundError,
        PatientSummary,
    )

_LAZY = {
    "ImportSummary": "bulk",
    "import_case": "bulk",
    "import_cases": "bulk",
    "import_patients": "bulk",
    "import_results": "bulk",
    "CaseStore": "casestore",
    "DEFAULT_URL": "engine",
    "StoreError": "engine",
    "redact_url": "engine",
    "resolve_url": "engine",
    "AuditEntry": "errors",
    "ConflictError": "errors",
    "NotFoundError": "errors",
    "PatientSummary": "errors",
}

__all__ = [
    "DEFAULT_URL",
    "AuditEntry",
    "CaseStore",
    "ConflictError",
    "ImportSummary",
    "NotFoundError",
    "PatientSummary",
    "StoreError",
    "import_case",
    "import_cases",
    "import_patients",
    "import_results",
    "redact_url",
    "resolve_url",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
