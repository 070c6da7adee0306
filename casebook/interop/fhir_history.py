"""History entries <-> FHIR resources, both ways (private to `casebook.interop.fhir`).

inflammatory condition, infection -> Condition; medication -> MedicationStatement;
food sensitivity -> AllergyIntolerance (category food); allergy to a medicine or supplement ->
AllergyIntolerance (category medication); family history -> FamilyMemberHistory;
diet, stress, environmental exposure -> Observation (social-history, one component per
field). `HistoryEntry.notes` travels as the resource's `note`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from casebook.errors import CasebookError
from casebook.interop import fhir_common as c
from casebook.models import (
    Allergy,
    FamilyHistory,
    FoodSensitivity,
    HistoryData,
    Infection,
    InflammatoryCondition,
    Medication,
)

__all__ = ["HISTORY_TYPES", "HistoryError", "history_data", "history_resource"]

HISTORY_TYPES = ("Condition", "MedicationStatement", "AllergyIntolerance", "FamilyMemberHistory")

# (clinicalStatus, verificationStatus) of an inflammatory condition's status
_CONDITION_STATUS = {
    "suspected": ("active", "provisional"),
    "confirmed": ("active", "confirmed"),
    "in_remission": ("remission", "confirmed"),
    "ruled_out": (None, "refuted"),
}
_VERIFICATION = {
    "provisional": "suspected",
    "differential": "suspected",
    "unconfirmed": "suspected",
    "refuted": "ruled_out",
    "confirmed": "confirmed",
}
_RELATIVE = {v: k for k, v in c.RELATIONSHIP.items()}
_CODED_FIELDS = {
    "processed_food": c.LEVEL,
    "added_sugar": c.LEVEL,
    "unhealthy_fats": c.LEVEL,
    "alcohol": c.LEVEL,
    "level": c.LEVEL,
    "agent": c.AGENT,
}
_CLINICAL = c.HL7 + "condition-clinical"
_VER_STATUS = c.HL7 + "condition-ver-status"


class HistoryError(CasebookError):
    """A field of a history resource that casebook cannot read: (field, message)."""


def history_resource(d: HistoryData, subject: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(resource type, body without id/meta/note) for one history entry's data."""
    if isinstance(d, InflammatoryCondition):
        clinical, verification = _CONDITION_STATUS[d.status]
        return "Condition", {
            "clinicalStatus": c.cc(_CLINICAL, clinical) if clinical else None,
            "verificationStatus": c.cc(_VER_STATUS, verification),
            "category": [c.cc(c.CONDITION_CATEGORY, "problem-list-item")],
            "code": c.cc(c.INFLAMMATORY, d.condition, text=d.name or None),
            "subject": subject,
            "recordedDate": d.diagnosed_on,
        }
    if isinstance(d, Infection):
        return "Condition", {
            "extension": [c.ext("treated-with", valueString=d.treated_with)]
            if d.treated_with
            else None,
            "clinicalStatus": c.cc(_CLINICAL, "resolved") if d.resolved else None,
            "code": c.cc(c.INFECTION_KIND, d.kind, text=d.name),
            "subject": subject,
            "onsetDateTime": d.onset,
            "abatementDateTime": d.resolved,
        }
    if isinstance(d, Medication):
        return "MedicationStatement", {
            "status": "completed" if d.end else "active",
            "category": c.cc(c.DRUG_CLASS, d.drug_class),
            "medicationCodeableConcept": {"text": d.name},
            "subject": subject,
            "effectivePeriod": c.period(d.start, d.end),
            "dosage": [{"text": d.dose}] if d.dose else None,
        }
    if isinstance(d, FoodSensitivity):
        extensions = [c.ext("confirmed-by", valueCode=d.confirmed_by)]
        if d.reaction == "sensitivity":
            extensions.append(c.ext("reaction-kind", valueCode=d.reaction))
        return "AllergyIntolerance", {
            "extension": extensions,
            "clinicalStatus": c.cc(c.HL7 + "allergyintolerance-clinical", "active"),
            "verificationStatus": c.cc(
                c.HL7 + "allergyintolerance-verification",
                "unconfirmed" if d.confirmed_by == "self_report" else "confirmed",
            ),
            "type": "allergy" if d.reaction == "allergy" else "intolerance",
            "category": ["food"],
            "code": {"text": d.food},
            "patient": subject,
            "reaction": [{"manifestation": [{"text": "not recorded"}], "severity": d.severity}],
        }
    if isinstance(d, Allergy):
        reaction: dict[str, Any] = {"manifestation": [{"text": d.reaction or "not recorded"}]}
        if d.severity != "unknown":
            reaction["severity"] = d.severity
        return "AllergyIntolerance", {
            "clinicalStatus": c.cc(c.HL7 + "allergyintolerance-clinical", "active"),
            "type": "allergy",
            "category": ["medication"],
            "code": {"text": d.substance},
            "patient": subject,
            "recordedDate": d.recorded_on,
            "reaction": [reaction],
        }
    if isinstance(d, FamilyHistory):
        condition: dict[str, Any] = {"code": c.cc(c.FAMILY_CONDITION, d.condition)}
        if d.age_at_onset is not None:
            condition["onsetAge"] = {
                "value": d.age_at_onset,
                "unit": "a",
                "system": c.UCUM,
                "code": "a",
            }
        condition.update(c.note(d.detail))
        return "FamilyMemberHistory", {
            "status": "completed",
            "patient": subject,
            "relationship": c.cc(c.HL7 + "v3-RoleCode", c.RELATIONSHIP[d.relative]),
            "condition": [condition],
        }
    # diet, stress, environmental exposure, safety facts: social-history Observations
    return "Observation", {
        "status": "final",
        "category": [c.cc(c.OBSERVATION_CATEGORY, "social-history")],
        "code": c.cc(c.HISTORY_CATEGORY, d.category),
        "subject": subject,
        "component": list(_components(d.model_dump(exclude={"category"}))),
    }


def _components(fields: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for name, value in fields.items():
        if value is None or value == "":
            continue
        comp: dict[str, Any] = {"code": c.cc(c.HISTORY_FIELD, name)}
        if name in _CODED_FIELDS:
            comp["valueCodeableConcept"] = c.cc(_CODED_FIELDS[name], value)
        elif isinstance(value, bool):  # safety facts
            comp["valueBoolean"] = value
        elif isinstance(value, float):
            comp["valueQuantity"] = c.quantity(value, "h")
        elif isinstance(value, str):
            comp["valueString"] = value
        else:  # a date
            comp["valueDateTime"] = value
        yield comp


def history_data(res: Any) -> dict[str, Any]:
    """The `HistoryEntry.data` dict of a history resource (validated by the caller)."""
    rtype = res.get_resource_type()
    if rtype == "Condition":
        if (code := c.coding_code(res.code, c.INFLAMMATORY)) is not None:
            verification = c.coding_code(res.verificationStatus, _VER_STATUS) or "confirmed"
            status = _VERIFICATION.get(verification, "suspected")
            if (
                status == "confirmed"
                and c.coding_code(res.clinicalStatus, _CLINICAL) == "remission"
            ):
                status = "in_remission"
            return {
                "category": "inflammatory_condition",
                "condition": code,
                "name": res.code.text or "",
                "status": status,
                "diagnosed_on": c.as_date(res.recordedDate),
            }
        if (kind := c.coding_code(res.code, c.INFECTION_KIND)) is not None:
            return {
                "category": "infection",
                "kind": kind,
                "name": c.text_of(res.code),
                "onset": c.as_date(res.onsetDateTime),
                "resolved": c.as_date(res.abatementDateTime),
                "treated_with": c.ext_value(res, "treated-with", "valueString", ""),
            }
        raise HistoryError("code", f"needs a {c.INFLAMMATORY} or {c.INFECTION_KIND} coding")
    if rtype == "MedicationStatement":
        span = res.effectivePeriod
        return {
            "category": "medication",
            "drug_class": c.coding_code(res.category, c.DRUG_CLASS) or "other",
            "name": c.text_of(res.medicationCodeableConcept),
            "dose": (res.dosage[0].text or "") if res.dosage else "",
            "start": c.as_date(span.start if span else None),
            "end": c.as_date(span.end if span else None),
        }
    if rtype == "AllergyIntolerance" and "food" not in (res.category or ["food"]):
        first = res.reaction[0] if res.reaction else None
        text = first.manifestation[0].text if first and first.manifestation else ""
        return {
            "category": "allergy",
            "substance": c.text_of(res.code),
            "reaction": "" if text == "not recorded" else (text or ""),
            "severity": (first.severity if first else None) or "unknown",
            "recorded_on": c.as_date(res.recordedDate),
        }
    if rtype == "AllergyIntolerance":
        reaction = c.ext_value(res, "reaction-kind", "valueCode") or (
            "allergy" if res.type == "allergy" else "intolerance"
        )
        severity = res.reaction[0].severity if res.reaction else None
        return {
            "category": "food_sensitivity",
            "food": c.text_of(res.code),
            "reaction": reaction,
            "severity": severity or "mild",
            "confirmed_by": c.ext_value(res, "confirmed-by", "valueCode", "self_report"),
        }
    if rtype == "FamilyMemberHistory":
        if not res.condition:
            raise HistoryError("condition", "missing")
        cond = res.condition[0]
        role = c.coding_code(res.relationship, c.HL7 + "v3-RoleCode")
        age = cond.onsetAge.value if cond.onsetAge is not None else None
        return {
            "category": "family_history",
            "relative": _RELATIVE.get(role or "", "other"),
            "condition": c.coding_code(cond.code, c.FAMILY_CONDITION) or "other",
            "detail": c.notes_text(cond.note),
            "age_at_onset": None if age is None else int(age),
        }
    # an Observation with a urn:casebook:history-category code
    data: dict[str, Any] = {"category": c.coding_code(res.code, c.HISTORY_CATEGORY)}
    for k, comp in enumerate(res.component or ()):
        name = c.coding_code(comp.code, c.HISTORY_FIELD)
        if name is None:
            raise HistoryError(f"component[{k}].code", f"needs a {c.HISTORY_FIELD} coding")
        concept, q = comp.valueCodeableConcept, comp.valueQuantity
        if comp.valueBoolean is not None:  # safety facts
            data[name] = comp.valueBoolean
            continue
        data[name] = (
            comp.valueString
            or comp.valueDateTime
            or (c.coding_code(concept, _CODED_FIELDS.get(name, "")) if concept else None)
            or (float(q.value) if q is not None and q.value is not None else None)
        )
    return data
