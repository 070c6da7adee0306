"""The store: tables, migrations, and the `CaseStore` API over one `Transaction`.

The errors it raises (`StoreError`, `ConflictError`, `NotFoundError`, `RoleError`)
live in `casebook.errors` and are exported here too.

Names load on first use (PEP 562), so a module that only peeks at a SQLite file
(`casebook.store.peek`, for `casebook new`) does not import SQLAlchemy."""

from __future__ import annotations

from typing import TYPE_CHECKING

from casebook._lazy import lazy_exports
from casebook.errors import (
    ConflictError,
    NotFoundError,
    RoleError,
    StoreError,
    UnreadableRecordError,
)

if TYPE_CHECKING:
    from casebook.store._bulk import cycle_collector_paused
    from casebook.store.audit_log import AuditEntry
    from casebook.store.bulk import (
        ImportSummary,
        import_case,
        import_cases,
        import_patients,
    )
    from casebook.store.casestore import CaseStore
    from casebook.store.engine import DEFAULT_URL, redact_url, resolve_url
    from casebook.store.patients import PatientSummary
    from casebook.store.reads import LoadedCases, UnreadableCase
    from casebook.store.result_import import ResultColumns, import_results
    from casebook.store.transaction import Transaction

_LAZY = {
    "ImportSummary": "bulk",
    "import_case": "bulk",
    "import_cases": "bulk",
    "import_patients": "bulk",
    "import_results": "result_import",
    "ResultColumns": "result_import",
    "CaseStore": "casestore",
    "cycle_collector_paused": "_bulk",
    "DEFAULT_URL": "engine",
    "redact_url": "engine",
    "resolve_url": "engine",
    "AuditEntry": "audit_log",
    "PatientSummary": "patients",
    "LoadedCases": "reads",
    "UnreadableCase": "reads",
    "Transaction": "transaction",
}

__all__ = [
    "DEFAULT_URL",
    "AuditEntry",
    "CaseStore",
    "ConflictError",
    "ImportSummary",
    "LoadedCases",
    "NotFoundError",
    "PatientSummary",
    "ResultColumns",
    "RoleError",
    "StoreError",
    "Transaction",
    "UnreadableCase",
    "UnreadableRecordError",
    "cycle_collector_paused",
    "import_case",
    "import_cases",
    "import_patients",
    "import_results",
    "redact_url",
    "resolve_url",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
