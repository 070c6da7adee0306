"""The store: tables, migrations, and the `CaseStore` API."""

from __future__ import annotations

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
