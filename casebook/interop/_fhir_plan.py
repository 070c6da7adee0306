"""The plan and red flags <-> FHIR: CarePlan, Goal, the plan's MedicationStatements, Flag.

Private to `casebook.interop.fhir`: plain functions that the exporter and the importer call.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from casebook.catalog import Catalog
from casebook.clinical.flag_lifecycle import case_flag_statuses
from casebook.interop import fhir_common as c
from casebook.interop._fhir_read import BadField, BundleRefs, rid
from casebook.models import Case, PlanItem

__all__ = ["careplan_rows", "flag_resources", "plan_resources"]

_Json = dict[str, Any]


def plan_resources(items: Sequence[PlanItem], patient_id: str, subject: _Json) -> list[_Json]:
    """The CarePlan (one activity per item) and its Goal, then a MedicationStatement per
    supplement or herb being taken; nothing for an empty plan."""
    if not items:
        return []
    careplan_uuid = c.derived_uuid("careplan", patient_id)
    goal_uuid = c.derived_uuid("goal", patient_id)
    goal_ref = {"reference": c.urn(goal_uuid)}
    ongoing = any(i.status in ("proposed", "active") for i in items)
    out = [
        c.resource(
            "CarePlan",
            careplan_uuid,
            {
                "status": "active" if ongoing else "completed",
                "intent": "plan",
                "title": "Care plan",
                "subject": subject,
                "goal": [goal_ref],
                "activity": [_activity(i, goal_ref) for i in items],
            },
        ),
        c.resource(
            "Goal",
            goal_uuid,
            {
                "lifecycleStatus": "active" if ongoing else "completed",
                "description": {"text": "Fewer and milder gut symptoms than at the first visit"},
                "subject": subject,
            },
        ),
    ]
    out += [
        c.resource(
            "MedicationStatement",
            c.derived_uuid("plan-medication", item.id),
            {
                "basedOn": [{"reference": c.urn(careplan_uuid)}],
                "status": "active",
                "category": c.cc(c.PLAN_CATEGORY, item.category),
                "medicationCodeableConcept": {"text": item.name},
                "subject": subject,
                "effectivePeriod": c.period(item.start, item.end),
                "dosage": [{"text": ", ".join(x for x in (item.dose, item.frequency) if x)}],
            },
        )
        for item in items
        if _taken(item)
    ]
    return out


def _activity(i: PlanItem, goal_ref: _Json) -> _Json:
    extensions = [c.ext("version", valueUnsignedInt=i.version)] if i.version else []
    extensions += [
        c.ext(name, valueString=value)
        for name, value in (
            ("dose", i.dose),
            ("frequency", i.frequency),
            ("source", i.source),
            ("patient-name", i.patient_name),
            ("no-substance-reason", i.no_substance_reason),
        )
        if value
    ]
    extensions += [c.ext("substance", valueCode=key) for key in i.substances]
    extensions += [
        c.ext("caution-confirmation", valueString=x.model_dump_json())
        for x in i.caution_confirmations
    ]
    kind = (
        "ServiceRequest"
        if i.category == "referral"
        else "MedicationRequest"
        if i.dose and i.category in c.SUPPLEMENT_CATEGORIES
        else None
    )
    detail: _Json = {
        "extension": extensions or None,
        "kind": kind,
        "instantiatesCanonical": [c.PROTOCOL + i.template] if i.template else None,
        "code": c.cc(c.PLAN_CATEGORY, i.category, text=i.name),
        "reasonCode": [{"text": i.rationale}] if i.rationale else None,
        "goal": [goal_ref],
        "status": c.PLAN_STATUS[i.status],
        "scheduledPeriod": c.period(i.start, i.end),
        "description": i.instructions or None,
    }
    return {"id": i.id, "detail": {k: v for k, v in detail.items() if v is not None}}


def _taken(item: PlanItem) -> bool:
    """A supplement or herb the patient is taking now (also sent as a MedicationStatement)."""
    return (
        item.status == "active" and bool(item.dose) and (item.category in c.SUPPLEMENT_CATEGORIES)
    )


def flag_resources(case: Case, catalog: Catalog, subject: _Json) -> list[_Json]:
    """A Flag per raised red flag: `inactive` once resolved, with its lifecycle state
    (open, acknowledged, referred, resolved) as an extension. The steps themselves are
    not exported (the JSON case format carries them)."""
    out = []
    for status in case_flag_statuses(case, catalog):
        flag = status.flag
        out.append(
            c.resource(
                "Flag",
                c.derived_uuid("flag", f"{case.patient.id}:{flag.key}"),
                {
                    "extension": [
                        c.ext("urgency", valueCode=flag.urgency),
                        c.ext("action", valueString=flag.action),
                        c.ext("review-state", valueCode=status.state),
                    ],
                    "status": "inactive" if status.state == "resolved" else "active",
                    "category": [c.cc(c.HL7 + "flag-category", "clinical")],
                    "code": c.cc(c.RED_FLAG, flag.key, display=flag.label, text=flag.reason),
                    "subject": subject,
                    "period": {"start": flag.on} if flag.on else None,
                    **c.visit_ref(flag.visit_id),
                },
            )
        )
    return out


_PLAN_STATUS = {v: k for k, v in c.PLAN_STATUS.items()}


def careplan_rows(refs: BundleRefs, res: Any) -> list[_Json]:
    """The plan items of a CarePlan, one per activity (each with its detail inline)."""
    refs.subject(res.subject)
    items = []
    for k, act in enumerate(res.activity or ()):
        at = f"activity[{k}]"
        d = act.detail
        if d is None:
            raise BadField(f"{at}.detail", "missing (casebook keeps plan items inline)")
        category = c.coding_code(d.code, c.PLAN_CATEGORY)
        if category is None:
            raise BadField(f"{at}.detail.code", f"needs a {c.PLAN_CATEGORY} coding")
        template = next(
            (
                str(x).removeprefix(c.PROTOCOL)
                for x in d.instantiatesCanonical or ()
                if str(x).startswith(c.PROTOCOL)
            ),
            None,
        )
        period = d.scheduledPeriod
        items.append(
            {
                "id": rid(act.id, f"{at}.id"),
                "patient_id": refs.pid,
                "version": c.ext_value(d, "version", "valueUnsignedInt", 0),
                "category": category,
                "name": c.text_of(d.code),
                "dose": c.ext_value(d, "dose", "valueString", ""),
                "frequency": c.ext_value(d, "frequency", "valueString", ""),
                "start": c.as_date(period.start if period else None),
                "end": c.as_date(period.end if period else None),
                "instructions": d.description or "",
                "rationale": c.text_of(d.reasonCode[0]) if d.reasonCode else "",
                "status": _PLAN_STATUS.get(str(d.status), "proposed"),
                "template": template,
                "source": c.ext_value(d, "source", "valueString", ""),
                "patient_name": c.ext_value(d, "patient-name", "valueString", ""),
                "no_substance_reason": c.ext_value(d, "no-substance-reason", "valueString", ""),
                "substances": [
                    x.valueCode for x in d.extension or () if x.url == c.EXT + "substance"
                ],
                "caution_confirmations": [
                    json.loads(x.valueString)
                    for x in d.extension or ()
                    if x.url == c.EXT + "caution-confirmation"
                ],
            }
        )
    return items
