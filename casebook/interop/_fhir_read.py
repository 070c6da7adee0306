"""What every FHIR reader shares: the field error, ids, versions and the bundle's references.

Private to `casebook.interop.fhir`; `fhir_import` turns a `BadField` into a
`FhirImportError` naming the entry.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from casebook.catalog import Catalog

__all__ = ["BadField", "BundleRefs", "rid", "version"]


class BadField(Exception):
    """A field of one resource that casebook cannot read (caught per entry, never escapes)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")


def rid(value: str | None, field: str = "id") -> str:
    """A resource id (a UUID) as the casebook record id."""
    try:
        return uuid.UUID(str(value)).hex
    except ValueError:
        raise BadField(field, "is not a UUID (casebook ids are UUIDs)") from None


def version(res: Any) -> int:
    """The record's version from `meta.versionId` (0 without one)."""
    found = res.meta.versionId if res.meta is not None else None
    if found is None:
        return 0
    if not str(found).isdigit():
        raise BadField("meta.versionId", f"{found!r} is not a casebook version number")
    return int(found)


@dataclass(frozen=True)
class BundleRefs:
    """What a reader needs from the bundle around one resource: the catalog, the entries
    by full URL and by `Type/id`, the references that name the Patient, and its id."""

    catalog: Catalog
    urls: dict[str, tuple[str, str | None]]
    patient_ref: frozenset[str]
    pid: str

    def target(self, ref: Any, kind: str, field: str) -> str:
        """The record id of the `kind` resource that `ref` points to inside the bundle."""
        found = self.urls.get(str(getattr(ref, "reference", None) or ""))
        if found is None or found[0] != kind:
            raise BadField(
                field,
                f"{getattr(ref, 'reference', None)!r} is not the fullUrl of a "
                f"{kind} entry of this bundle",
            )
        return rid(found[1], field)

    def subject(self, ref: Any, field: str = "subject") -> None:
        """Refuse a reference that is not to the bundle's Patient."""
        if str(getattr(ref, "reference", None) or "") not in self.patient_ref:
            raise BadField(field, "does not refer to the bundle's Patient")

    def visit_of(self, res: Any, required: bool = False) -> str | None:
        """The visit id of the resource's Encounter reference (None without one)."""
        if res.encounter is None:
            if required:
                raise BadField("encounter", "missing (casebook ties this to a visit)")
            return None
        return self.target(res.encounter, "Encounter", "encounter.reference")

    def base(self, res: Any) -> dict[str, Any]:
        """The fields every record has: id, patient id, version."""
        return {"id": rid(res.id), "patient_id": self.pid, "version": version(res)}
