"""Orders and results <-> FHIR: ServiceRequest, laboratory Observation, DiagnosticReport.

Private to `casebook.interop.fhir`: plain functions that the exporter and the importer call.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from casebook.catalog import Catalog
from casebook.clinical.vocabulary import RESULT_FLAG_WORDS, RESULT_FLAGS
from casebook.interop import fhir_common as c
from casebook.interop._fhir_read import BadField, BundleRefs
from casebook.models import TestOrder, TestResult

__all__ = ["order_resource", "order_row", "report_resources", "result_resource", "result_row"]

_Json = dict[str, Any]

_INTERPRETATION = {flag: word.capitalize() for flag, word in RESULT_FLAG_WORDS.items()}


def _test_code(catalog: Catalog, key: str) -> _Json:
    test = catalog.tests[key]
    codings = [{"system": c.LOINC, "code": test.loinc}] if test.loinc else []
    codings.append({"system": c.TEST, "code": key, "display": test.name})
    return {"coding": codings, "text": test.name}


def order_resource(o: TestOrder, subject: _Json, catalog: Catalog) -> _Json:
    """A test order as a ServiceRequest (the casebook status and dates as extensions)."""
    extensions = [c.ext("order-status", valueCode=o.status)]
    extensions += [
        c.ext(name, valueDate=value)
        for name, value in (("collected-on", o.collected_on), ("resulted-on", o.resulted_on))
        if value is not None
    ]
    return c.resource(
        "ServiceRequest",
        c.record_uuid(o.id),
        {
            **c.meta(o.version),
            "extension": extensions,
            "status": c.ORDER_STATUS[o.status],
            "intent": "order",
            "code": _test_code(catalog, o.test),
            "subject": subject,
            **c.visit_ref(o.visit_id),
            "authoredOn": o.ordered_on,
            **({"reasonCode": [{"text": o.reason}]} if o.reason else {}),
        },
    )


def result_resource(r: TestResult, subject: _Json, catalog: Catalog) -> _Json:
    """A result as a laboratory Observation, with its range and interpretation."""
    body: _Json = {
        **c.meta(r.version),
        "status": "final",
        "category": c.observation_category("laboratory"),
        "code": _test_code(catalog, r.test),
        "subject": subject,
        "effectiveDateTime": r.collected_on,
    }
    if r.order_id:
        body["basedOn"] = [{"reference": c.urn(c.record_uuid(r.order_id))}]
    if r.value is not None:
        body["valueQuantity"] = c.quantity(r.value, r.unit)
        if r.value_text:
            body["extension"] = [c.ext("value-text", valueString=r.value_text)]
    else:
        body["valueString"] = r.value_text
        if r.unit:
            body["extension"] = [c.ext("unit", valueString=r.unit)]
    if r.flag:
        body["interpretation"] = [c.cc(c.V3_INTERPRETATION, r.flag, _INTERPRETATION[r.flag])]
    if r.ref_low is not None or r.ref_high is not None:
        body["referenceRange"] = [
            {
                k: c.quantity(v, r.unit)
                for k, v in (("low", r.ref_low), ("high", r.ref_high))
                if v is not None
            }
        ]
    return c.resource("Observation", c.record_uuid(r.id), body)


def report_resources(results: Sequence[TestResult], patient_id: str, subject: _Json) -> list[_Json]:
    """A DiagnosticReport per collection date, in date order."""
    by_date: dict[date, list[TestResult]] = {}
    for r in results:
        by_date.setdefault(r.collected_on, []).append(r)
    out = []
    for when in sorted(by_date):
        group = by_date[when]
        orders = list(dict.fromkeys(r.order_id for r in group if r.order_id))
        out.append(
            c.resource(
                "DiagnosticReport",
                c.derived_uuid("report", f"{patient_id}:{when.isoformat()}"),
                {
                    "basedOn": [{"reference": c.urn(c.record_uuid(o))} for o in orders] or None,
                    "status": "final",
                    "category": [c.cc(c.HL7 + "v2-0074", "LAB")],
                    "code": c.cc(f"{c.CASEBOOK}:report", "lab-results", text="Laboratory results"),
                    "subject": subject,
                    "effectiveDateTime": when,
                    "result": [{"reference": c.urn(c.record_uuid(r.id))} for r in group],
                },
            )
        )
    return out


_ORDER_STATUS = {"active": "ordered", "completed": "resulted", "revoked": "cancelled"}


def _test_key(catalog: Catalog, concept: Any, field: str = "code") -> str:
    key = c.coding_code(concept, c.TEST)
    if key is not None:
        if key not in catalog.tests:
            raise BadField(field, f"unknown test {key!r} (not in the catalog)")
        return key
    loinc = c.coding_code(concept, c.LOINC)
    for test in catalog.tests.values():
        if loinc is not None and test.loinc == loinc:
            return test.key
    raise BadField(field, f"unknown test (no {c.TEST} code, LOINC {loinc!r} not in the catalog)")


def result_row(refs: BundleRefs, res: Any) -> tuple[str, _Json]:
    """A laboratory Observation (its subject already checked)."""
    key = _test_key(refs.catalog, res.code)
    q, ranges = res.valueQuantity, res.referenceRange[0] if res.referenceRange else None
    if q is not None and q.value is None:
        raise BadField("valueQuantity.value", "missing")
    orders = [
        refs.target(r, "ServiceRequest", f"basedOn[{k}].reference")
        for k, r in enumerate(res.basedOn or ())
    ]
    flag = next(
        (
            code
            for x in res.interpretation or ()
            if (code := c.coding_code(x, c.V3_INTERPRETATION)) in RESULT_FLAGS
        ),
        None,
    )
    return "results", {
        **refs.base(res),
        "test": key,
        "collected_on": c.as_date(res.effectiveDateTime),
        "value": None if q is None else float(q.value),
        "value_text": res.valueString or c.ext_value(res, "value-text", "valueString"),
        "unit": (q.unit or "") if q is not None else c.ext_value(res, "unit", "valueString", ""),
        "ref_low": float(ranges.low.value) if ranges and ranges.low else None,
        "ref_high": float(ranges.high.value) if ranges and ranges.high else None,
        "flag": flag,
        "order_id": orders[0] if orders else None,
    }


def order_row(refs: BundleRefs, res: Any) -> tuple[str, _Json]:
    refs.subject(res.subject)
    status = c.ext_value(res, "order-status", "valueCode") or _ORDER_STATUS.get(
        str(res.status), "ordered"
    )
    return "orders", {
        **refs.base(res),
        "test": _test_key(refs.catalog, res.code),
        "status": status,
        "ordered_on": c.as_date(res.authoredOn),
        "collected_on": c.ext_value(res, "collected-on", "valueDate"),
        "resulted_on": c.ext_value(res, "resulted-on", "valueDate"),
        "visit_id": refs.visit_of(res),
        "reason": c.text_of(res.reasonCode[0]) if res.reasonCode else "",
    }
