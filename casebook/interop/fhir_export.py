"""Case -> FHIR R4 transaction Bundle (built with `fhir.resources.R4B` models only).

See `casebook.interop.fhir` for the mapping, the request method and what is derived.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any, cast

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.resource import Resource

from casebook import __version__
from casebook.catalog import Catalog
from casebook.clinical.derive import prepare
from casebook.clinical.flag_lifecycle import case_flag_statuses
from casebook.clinical.vocabulary import RESULT_FLAG_WORDS
from casebook.interop import fhir_common as c
from casebook.interop.fhir_history import history_resource
from casebook.models import (
    Case,
    HistoryEntry,
    InstrumentResponse,
    LetterRecord,
    Note,
    PlanItem,
    SymptomRating,
    TestOrder,
    TestResult,
    Visit,
)

__all__ = ["bundle_to_json", "canonical_case", "case_to_bundle"]

_Json = dict[str, Any]

_INTERPRETATION = {flag: word.capitalize() for flag, word in RESULT_FLAG_WORDS.items()}


def canonical_case(case: Case, catalog: Catalog) -> Case:
    """The case as it is exported: derived as the store keeps it, in a canonical order.

    Totals, bands, units, ranges and flags are derived from the catalog
    (`casebook.clinical.derive.prepare`), and each list is sorted by date, then key, then id, so the
    bundle does not depend on the order in which a store happened to load the records.
    """
    patient = case.patient
    day = {v.id: v.visit_date for v in case.visits}
    keys: dict[str, Callable[[Any], tuple[Any, ...]]] = {
        "visits": lambda v: (v.visit_date, v.kind != "intake", v.id),
        "history": lambda h: (h.data.category, h.id),
        "symptoms": lambda s: (day.get(s.visit_id, date.min), s.symptom, s.id),
        "instruments": lambda r: (day.get(r.visit_id, date.min), r.instrument, r.id),
        "orders": lambda o: (o.ordered_on, o.test, o.id),
        "results": lambda r: (r.collected_on, r.test, r.id),
        "plan": lambda p: (p.start or date.min, p.category, p.id),
        "notes": lambda n: (n.written_on, n.id),
        "flag_reviews": lambda f: (f.at, f.id),
        "letters": lambda x: (x.letter_date, x.kind, x.id),
    }
    out: dict[str, Any] = {"patient": patient}
    for name, key in keys.items():
        out[name] = sorted(
            (
                r if isinstance(r, LetterRecord) else prepare(r, catalog, patient)
                for r in getattr(case, name)
            ),
            key=key,
        )
    return Case.model_validate(out)


def _meta(version: int, security: str | None = None) -> _Json:
    meta: _Json = {}
    if version:
        meta["versionId"] = str(version)
    if security:
        meta["security"] = [{"system": c.CONFIDENTIALITY, "code": security}]
    return {"meta": meta} if meta else {}


def _category(code: str) -> list[_Json]:
    return [c.cc(c.OBSERVATION_CATEGORY, code)]


class _Exporter:
    def __init__(self, case: Case, catalog: Catalog) -> None:
        self.case, self.catalog = case, catalog
        self.patient_uuid = c.derived_uuid("patient", case.patient.id)
        self.subject = {"reference": c.urn(self.patient_uuid)}
        self.entries: list[tuple[str, _Json]] = []  # (resource uuid, resource as dict)
        self.careplan_uuid = c.derived_uuid("careplan", case.patient.id)
        self.goal_uuid = c.derived_uuid("goal", case.patient.id)

    def add(self, resource_type: str, rid: str, body: _Json) -> None:
        self.entries.append((rid, {"resourceType": resource_type, "id": rid, **body}))

    def visit_ref(self, visit_id: str | None) -> _Json:
        return {"encounter": {"reference": c.urn(c.record_uuid(visit_id))}} if visit_id else {}

    def test_code(self, key: str) -> _Json:
        test = self.catalog.tests[key]
        codings = [{"system": c.LOINC, "code": test.loinc}] if test.loinc else []
        codings.append({"system": c.TEST, "code": key, "display": test.name})
        return {"coding": codings, "text": test.name}

    # --- resources -------------------------------------------------------------------
    def patient(self) -> None:
        p = self.case.patient
        self.add(
            "Patient",
            self.patient_uuid,
            {
                **_meta(p.version),
                "extension": [c.ext("record-version", valueUnsignedInt=p.record_version)],
                "identifier": [{"system": c.PATIENT_ID, "value": p.id}],
                "name": [{"text": p.name}],
                "gender": p.sex,
                "birthDate": p.birth_date,
            },
        )

    def visit(self, v: Visit) -> None:
        screen = [
            {"url": name, "valueBoolean": value}
            for name, value in v.screen.model_dump(exclude={"symptom_onset"}).items()
            if value is not None
        ]
        if v.screen.symptom_onset is not None:
            screen.append({"url": "symptom_onset", "valueDate": v.screen.symptom_onset})
        extensions = [c.ext("alarm-screen", extension=screen)] if screen else []
        if v.summary:
            extensions.append(c.ext("summary", valueString=v.summary))
        self.add(
            "Encounter",
            c.record_uuid(v.id),
            {
                **_meta(v.version),
                **({"extension": extensions} if extensions else {}),
                "status": "finished",
                "class": {"system": c.HL7 + "v3-ActCode", "code": "AMB", "display": "ambulatory"},
                "type": [c.cc(c.VISIT_KIND, v.kind)],
                "subject": self.subject,
                "period": {"start": v.visit_date, "end": v.visit_date},
            },
        )

    def history(self, h: HistoryEntry) -> None:
        resource_type, body = history_resource(h.data, self.subject)
        self.add(
            resource_type, c.record_uuid(h.id), {**_meta(h.version), **body, **c.note(h.notes)}
        )

    def symptom(self, s: SymptomRating, when: Any) -> None:
        label = self.catalog.symptom(s.symptom).label
        self.add(
            "Observation",
            c.record_uuid(s.id),
            {
                **_meta(s.version),
                "status": "final",
                "category": _category("survey"),
                "code": c.cc(c.SYMPTOM, s.symptom, display=label),
                "subject": self.subject,
                **self.visit_ref(s.visit_id),
                "effectiveDateTime": when,
                "valueInteger": s.severity,
                "component": [
                    {
                        "code": c.cc(c.SYMPTOM_ATTRIBUTE, "frequency"),
                        "valueCodeableConcept": c.cc(c.FREQUENCY, s.frequency),
                    }
                ],
            },
        )

    def instrument(self, r: InstrumentResponse, when: Any) -> None:
        inst = self.catalog.instruments[r.instrument]
        rid = c.record_uuid(r.id)
        order = [i.id for i in inst.items if i.id in r.answers]
        order += [k for k in r.answers if k not in order]
        self.add(
            "QuestionnaireResponse",
            rid,
            {
                **_meta(r.version),
                "questionnaire": c.INSTRUMENT + r.instrument,
                "status": "completed" if len(order) == len(inst.items) else "in-progress",
                "subject": self.subject,
                **self.visit_ref(r.visit_id),
                "authored": when,
                "item": [{"linkId": k, "answer": [{"valueInteger": r.answers[k]}]} for k in order]
                or None,
            },
        )
        if r.total is None:
            return
        codings = [{"system": c.LOINC, "code": inst.loinc_total}] if inst.loinc_total else []
        codings.append(
            {
                "system": c.INSTRUMENT_TOTAL,
                "code": r.instrument,
                "display": f"{inst.short_name} total",
            }
        )
        self.add(
            "Observation",
            c.derived_uuid("instrument-total", r.id),
            {
                "status": "final",
                "category": _category("survey"),
                "code": {"coding": codings, "text": f"{inst.name} total score"},
                "subject": self.subject,
                **self.visit_ref(r.visit_id),
                "effectiveDateTime": when,
                "valueInteger": r.total,
                **({"interpretation": [{"text": r.band}]} if r.band else {}),
                "derivedFrom": [{"reference": c.urn(rid)}],
            },
        )

    def order(self, o: TestOrder) -> None:
        extensions = [c.ext("order-status", valueCode=o.status)]
        extensions += [
            c.ext(name, valueDate=value)
            for name, value in (("collected-on", o.collected_on), ("resulted-on", o.resulted_on))
            if value is not None
        ]
        self.add(
            "ServiceRequest",
            c.record_uuid(o.id),
            {
                **_meta(o.version),
                "extension": extensions,
                "status": c.ORDER_STATUS[o.status],
                "intent": "order",
                "code": self.test_code(o.test),
                "subject": self.subject,
                **self.visit_ref(o.visit_id),
                "authoredOn": o.ordered_on,
                **({"reasonCode": [{"text": o.reason}]} if o.reason else {}),
            },
        )

    def result(self, r: TestResult) -> None:
        body: _Json = {
            **_meta(r.version),
            "status": "final",
            "category": _category("laboratory"),
            "code": self.test_code(r.test),
            "subject": self.subject,
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
        self.add("Observation", c.record_uuid(r.id), body)

    def reports(self) -> None:
        by_date: dict[Any, list[TestResult]] = {}
        for r in self.case.results:
            by_date.setdefault(r.collected_on, []).append(r)
        for when in sorted(by_date):
            group = by_date[when]
            orders = list(dict.fromkeys(r.order_id for r in group if r.order_id))
            self.add(
                "DiagnosticReport",
                c.derived_uuid("report", f"{self.case.patient.id}:{when.isoformat()}"),
                {
                    "basedOn": [{"reference": c.urn(c.record_uuid(o))} for o in orders] or None,
                    "status": "final",
                    "category": [c.cc(c.HL7 + "v2-0074", "LAB")],
                    "code": c.cc(f"{c.CASEBOOK}:report", "lab-results", text="Laboratory results"),
                    "subject": self.subject,
                    "effectiveDateTime": when,
                    "result": [{"reference": c.urn(c.record_uuid(r.id))} for r in group],
                },
            )

    def plan(self) -> None:
        items = self.case.plan
        if not items:
            return
        ongoing = any(i.status in ("proposed", "active") for i in items)
        self.add(
            "CarePlan",
            self.careplan_uuid,
            {
                "status": "active" if ongoing else "completed",
                "intent": "plan",
                "title": "Care plan",
                "subject": self.subject,
                "goal": [{"reference": c.urn(self.goal_uuid)}],
                "activity": [self.activity(i) for i in items],
            },
        )
        self.add(
            "Goal",
            self.goal_uuid,
            {
                "lifecycleStatus": "active" if ongoing else "completed",
                "description": {"text": "Fewer and milder gut symptoms than at the first visit"},
                "subject": self.subject,
            },
        )
        for item in items:
            if _taken(item):
                self.add(
                    "MedicationStatement",
                    c.derived_uuid("plan-medication", item.id),
                    {
                        "basedOn": [{"reference": c.urn(self.careplan_uuid)}],
                        "status": "active",
                        "category": c.cc(c.PLAN_CATEGORY, item.category),
                        "medicationCodeableConcept": {"text": item.name},
                        "subject": self.subject,
                        "effectivePeriod": c.period(item.start, item.end),
                        "dosage": [
                            {"text": ", ".join(x for x in (item.dose, item.frequency) if x)}
                        ],
                    },
                )

    def activity(self, i: PlanItem) -> _Json:
        extensions = [c.ext("version", valueUnsignedInt=i.version)] if i.version else []
        extensions += [
            c.ext(name, valueString=value)
            for name, value in (
                ("dose", i.dose),
                ("frequency", i.frequency),
                ("source", i.source),
                ("patient-name", i.patient_name),
            )
            if value
        ]
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
            "goal": [{"reference": c.urn(self.goal_uuid)}],
            "status": c.PLAN_STATUS[i.status],
            "scheduledPeriod": c.period(i.start, i.end),
            "description": i.instructions or None,
        }
        return {"id": i.id, "detail": {k: v for k, v in detail.items() if v is not None}}

    def note(self, n: Note) -> None:
        shared = n.visibility == "shared"
        self.add(
            "Communication",
            c.record_uuid(n.id),
            {
                **_meta(n.version, "N" if shared else "R"),
                "status": "completed",
                "subject": self.subject,
                **self.visit_ref(n.visit_id),
                "sent": n.written_on,
                **({"recipient": [self.subject]} if shared else {}),
                **({"sender": {"display": n.author}} if n.author else {}),
                "payload": [{"contentString": n.text}],
            },
        )

    def letter(self, x: LetterRecord) -> None:
        """A letter as a DocumentReference: the PDF inline, with its SHA-1 (base64, as FHIR
        defines `Attachment.hash`), so the document in the bundle is checkable on its own."""
        kind = "Referral letter" if x.kind == "referral" else "After-visit summary"
        self.add(
            "DocumentReference",
            c.record_uuid(x.id),
            {
                **_meta(x.version),
                "extension": [
                    c.ext("letter-date", valueDate=x.letter_date),
                    c.ext("recipient", valueString=x.recipient),
                    c.ext("content-hash", valueString=x.content_hash),
                    c.ext("record-version", valueUnsignedInt=x.record_version),
                ],
                "status": "current",
                "docStatus": "final",
                "type": c.cc(c.LETTER_KIND, x.kind, display=kind, text=kind),
                "subject": self.subject,
                "date": x.created_at,
                "author": [{"display": x.created_by}] if x.created_by else None,
                "description": x.title or None,
                "content": [
                    {
                        "attachment": {
                            "contentType": "application/pdf",
                            "data": base64.b64encode(x.pdf).decode(),
                            "size": len(x.pdf),
                            "hash": _sha1_base64(x.pdf),
                            "title": x.title or kind,
                            "creation": x.letter_date,
                        }
                    }
                ],
            },
        )

    def flags(self) -> None:
        """A Flag per raised red flag: `inactive` once resolved, with its lifecycle state
        (open, acknowledged, referred, resolved) as an extension. The steps themselves are
        not exported (the JSON case format carries them)."""
        for status in case_flag_statuses(self.case, self.catalog):
            flag = status.flag
            self.add(
                "Flag",
                c.derived_uuid("flag", f"{self.case.patient.id}:{flag.key}"),
                {
                    "extension": [
                        c.ext("urgency", valueCode=flag.urgency),
                        c.ext("action", valueString=flag.action),
                        c.ext("review-state", valueCode=status.state),
                    ],
                    "status": "inactive" if status.state == "resolved" else "active",
                    "category": [c.cc(c.HL7 + "flag-category", "clinical")],
                    "code": c.cc(c.RED_FLAG, flag.key, display=flag.label, text=flag.reason),
                    "subject": self.subject,
                    "period": {"start": flag.on} if flag.on else None,
                    **self.visit_ref(flag.visit_id),
                },
            )

    def provenance(self, now: datetime) -> None:
        self.add(
            "Provenance",
            c.derived_uuid("provenance", self.case.patient.id),
            {
                "target": [{"reference": c.urn(rid)} for rid, _ in self.entries],
                "recorded": now,
                "agent": [
                    {
                        "type": c.cc(c.HL7 + "provenance-participant-type", "assembler"),
                        "who": {"display": f"casebook {__version__}"},
                    }
                ],
            },
        )

    def run(self, now: datetime) -> Iterator[tuple[str, _Json]]:
        case = self.case
        when = {v.id: v.visit_date for v in case.visits}
        self.patient()
        for v in case.visits:
            self.visit(v)
        for h in case.history:
            self.history(h)
        for s in case.symptoms:
            self.symptom(s, when[s.visit_id])
        for r in case.instruments:
            self.instrument(r, when[r.visit_id])
        for o in case.orders:
            self.order(o)
        for res in case.results:
            self.result(res)
        self.reports()
        self.plan()
        for n in case.notes:
            self.note(n)
        for letter in case.letters:
            self.letter(letter)
        self.flags()
        self.provenance(now)
        return iter(self.entries)


def _taken(item: PlanItem) -> bool:
    """A supplement or herb the patient is taking now (also sent as a MedicationStatement)."""
    return (
        item.status == "active" and bool(item.dose) and (item.category in c.SUPPLEMENT_CATEGORIES)
    )


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def case_to_bundle(case: Case, catalog: Catalog, *, now: datetime | None = None) -> Bundle:
    """The case as a FHIR R4 transaction Bundle (R4B models); see `casebook.interop.fhir`."""
    now = now or datetime.now(UTC)
    prepared = canonical_case(case, catalog)
    entries = []
    for rid, body in _Exporter(prepared, catalog).run(now):
        resource_type = body["resourceType"]
        model = cast("type[Resource]", get_fhir_model_class(resource_type))
        entries.append(
            {
                "fullUrl": c.urn(rid),
                "resource": model.model_validate(_drop_none(body)),
                "request": {"method": "PUT", "url": f"{resource_type}/{rid}"},
            }
        )
    return Bundle.model_validate(
        {"resourceType": "Bundle", "type": "transaction", "timestamp": now, "entry": entries}
    )


def bundle_to_json(case: Case, catalog: Catalog, *, now: datetime | None = None) -> str:
    """`case_to_bundle` as pretty JSON (fields in FHIR order, so the text is stable)."""
    data = case_to_bundle(case, catalog, now=now).model_dump(mode="json")
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _sha1_base64(data: bytes) -> str:
    """FHIR's `Attachment.hash`: SHA-1 of the data, base64 (an integrity check, not security)."""
    return base64.b64encode(hashlib.sha1(data, usedforsecurity=False).digest()).decode()
