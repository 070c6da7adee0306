"""What the FHIR export and import share: code systems, ids, extensions, small builders.

Private to `casebook.interop.fhir`; the names here are not a public API.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

__all__ = [
    "AGENT",
    "CASEBOOK",
    "CONDITION_CATEGORY",
    "CONFIDENTIALITY",
    "DRUG_CLASS",
    "EXT",
    "FAMILY_CONDITION",
    "FREQUENCY",
    "HISTORY_CATEGORY",
    "HISTORY_FIELD",
    "HL7",
    "INFECTION_KIND",
    "INFLAMMATORY",
    "INSTRUMENT",
    "INSTRUMENT_TOTAL",
    "LETTER_KIND",
    "LEVEL",
    "LOINC",
    "OBSERVATION_CATEGORY",
    "ORDER_STATUS",
    "PATIENT_ID",
    "PLAN_CATEGORY",
    "PLAN_STATUS",
    "PROTOCOL",
    "RED_FLAG",
    "RELATIONSHIP",
    "SUPPLEMENT_CATEGORIES",
    "SYMPTOM",
    "SYMPTOM_ATTRIBUTE",
    "TEST",
    "UCUM",
    "UCUM_CODES",
    "V3_INTERPRETATION",
    "VISIT_KIND",
    "as_date",
    "cc",
    "coding_code",
    "derived_uuid",
    "ext",
    "ext_value",
    "find_ext",
    "meta",
    "note",
    "notes_text",
    "observation_category",
    "period",
    "quantity",
    "record_uuid",
    "resource",
    "text_of",
    "urn",
    "visit_ref",
]

CASEBOOK = "urn:casebook"
EXT = f"{CASEBOOK}:extension:"
PATIENT_ID = f"{CASEBOOK}:patient-id"
SYMPTOM = f"{CASEBOOK}:symptom"
SYMPTOM_ATTRIBUTE = f"{CASEBOOK}:symptom-attribute"
FREQUENCY = f"{CASEBOOK}:frequency"
TEST = f"{CASEBOOK}:test"
INSTRUMENT = f"{CASEBOOK}:instrument:"  # canonical prefix: urn:casebook:instrument:<key>
INSTRUMENT_TOTAL = f"{CASEBOOK}:instrument-total"
PROTOCOL = f"{CASEBOOK}:protocol:"
VISIT_KIND = f"{CASEBOOK}:visit-kind"
HISTORY_CATEGORY = f"{CASEBOOK}:history-category"
HISTORY_FIELD = f"{CASEBOOK}:history-field"
INFLAMMATORY = f"{CASEBOOK}:inflammatory-condition"
INFECTION_KIND = f"{CASEBOOK}:infection-kind"
DRUG_CLASS = f"{CASEBOOK}:drug-class"
FAMILY_CONDITION = f"{CASEBOOK}:family-condition"
LEVEL = f"{CASEBOOK}:level"
AGENT = f"{CASEBOOK}:exposure-agent"
PLAN_CATEGORY = f"{CASEBOOK}:plan-category"
RED_FLAG = f"{CASEBOOK}:red-flag"
LETTER_KIND = f"{CASEBOOK}:letter-kind"

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
HL7 = "http://terminology.hl7.org/CodeSystem/"
V3_INTERPRETATION = HL7 + "v3-ObservationInterpretation"
OBSERVATION_CATEGORY = HL7 + "observation-category"
CONDITION_CATEGORY = HL7 + "condition-category"
CONFIDENTIALITY = HL7 + "v3-Confidentiality"

# Casebook units and their UCUM codes (the unit text itself is what round-trips).
UCUM_CODES = {
    "U/mL": "U/mL",
    "mg/dL": "mg/dL",
    "mg/L": "mg/L",
    "g/dL": "g/dL",
    "ng/mL": "ng/mL",
    "pg/mL": "pg/mL",
    "ug/g": "ug/g",
    "ppm": "[ppm]",
    "ratio": "{ratio}",
    "h": "h",
}
ORDER_STATUS = {
    "ordered": "active",
    "collected": "active",
    "resulted": "completed",
    "cancelled": "revoked",
}
PLAN_STATUS = {
    "proposed": "not-started",
    "active": "in-progress",
    "stopped": "stopped",
    "completed": "completed",
}
RELATIONSHIP = {
    "parent": "PRN",
    "sibling": "SIB",
    "child": "CHILD",
    "grandparent": "GRPRN",
    "other": "FAMMEMB",
}
# Plan categories whose items with a dose are taken as a product (a supplement or herb).
SUPPLEMENT_CATEGORIES = frozenset({"herbal", "nutritional_support", "microbiome_support"})

# Fixed namespace for the ids of resources that are derived rather than stored.
_NAMESPACE = uuid.UUID("5d0c7c36-8a5e-4c43-9a55-0b1f3f6f9a10")


def record_uuid(record_id: str) -> str:
    """A casebook record id (32 hex digits) as the uuid of its resource."""
    return str(uuid.UUID(hex=record_id))


def derived_uuid(kind: str, key: str) -> str:
    """A stable uuid for a resource derived from the record (patient, flag, report...)."""
    return str(uuid.uuid5(_NAMESPACE, f"{kind}:{key}"))


def urn(resource_id: str) -> str:
    return f"urn:uuid:{resource_id}"


def resource(resource_type: str, rid: str, body: dict[str, Any]) -> dict[str, Any]:
    """A resource as a dict, as the export builds it: its type and id, then `body`."""
    return {"resourceType": resource_type, "id": rid, **body}


def meta(version: int, security: str | None = None) -> dict[str, Any]:
    """`{"meta": ...}` with the record's version and confidentiality label, else nothing."""
    out: dict[str, Any] = {}
    if version:
        out["versionId"] = str(version)
    if security:
        out["security"] = [{"system": CONFIDENTIALITY, "code": security}]
    return {"meta": out} if out else {}


def visit_ref(visit_id: str | None) -> dict[str, Any]:
    """`{"encounter": ...}` pointing at the visit's Encounter, else nothing."""
    return {"encounter": {"reference": urn(record_uuid(visit_id))}} if visit_id else {}


def observation_category(code: str) -> list[dict[str, Any]]:
    """An Observation's `category` (survey, laboratory...)."""
    return [cc(OBSERVATION_CATEGORY, code)]


def cc(
    system: str, code: str, display: str | None = None, text: str | None = None
) -> dict[str, Any]:
    """A CodeableConcept as a dict (one coding)."""
    coding: dict[str, Any] = {"system": system, "code": code}
    if display:
        coding["display"] = display
    out: dict[str, Any] = {"coding": [coding]}
    if text:
        out["text"] = text
    return out


def ext(name: str, **value: Any) -> dict[str, Any]:
    """A casebook extension, e.g. `ext("order-status", valueCode="collected")`."""
    return {"url": EXT + name, **value}


def find_ext(element: Any, name: str) -> Any | None:
    """The casebook extension `name` of a parsed element, or None."""
    for item in getattr(element, "extension", None) or ():
        if item.url == EXT + name:
            return item
    return None


def coding_code(concept: Any, system: str) -> str | None:
    """The code of the first coding of `system` in a parsed CodeableConcept."""
    for coding in getattr(concept, "coding", None) or ():
        if coding.system == system and coding.code:
            return str(coding.code)
    return None


def as_date(value: date | datetime | str | None) -> date | None:
    """A FHIR date/dateTime as a date (a dateTime keeps its own calendar day)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def ext_value(element: Any, name: str, attr: str, default: Any = None) -> Any:
    """The value (`attr`, e.g. "valueString") of a casebook extension, or `default`."""
    found = find_ext(element, name)
    return default if found is None else getattr(found, attr)


def text_of(concept: Any) -> str:
    """A CodeableConcept's text, else its first display, else ""."""
    if concept is None:
        return ""
    if concept.text:
        return str(concept.text)
    return next((str(x.display) for x in concept.coding or () if x.display), "")


def notes_text(notes: Any) -> str:
    """Annotations as one text (blank lines between them)."""
    return "\n\n".join(n.text for n in notes or () if n.text)


def note(text: str) -> dict[str, Any]:
    """`{"note": [...]}` for a non-empty text, else nothing."""
    return {"note": [{"text": text}]} if text else {}


def period(start: Any, end: Any) -> dict[str, Any] | None:
    out = {k: v for k, v in (("start", start), ("end", end)) if v is not None}
    return out or None


def quantity(value: float, unit: str) -> dict[str, Any]:
    """A Quantity; the casebook unit is the text, with its UCUM code when we know it."""
    q: dict[str, Any] = {"value": value}
    if unit:
        q["unit"] = unit
        if unit in UCUM_CODES:
            q.update(system=UCUM, code=UCUM_CODES[unit])
    return q
