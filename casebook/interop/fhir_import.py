"""FHIR R4 Bundle -> Case. See `casebook.interop.fhir` for the mapping and what is checked."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Callable
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.resource import Resource
from pydantic import ValidationError

from casebook.catalog import Catalog, default_catalog
from casebook.clinical.derive import RecordError, prepare
from casebook.clinical.vocabulary import RESULT_FLAGS
from casebook.errors import CasebookError
from casebook.interop import fhir_common as c
from casebook.interop.fhir_history import HISTORY_TYPES, HistoryError, history_data
from casebook.models import (
    AlarmScreen,
    Case,
    HistoryEntry,
    InstrumentResponse,
    LetterRecord,
    Note,
    Patient,
    PlanItem,
    Record,
    SymptomRating,
    TestOrder,
    TestResult,
    Visit,
)

__all__ = ["DERIVED", "IMPORTED", "FhirImportError", "bundle_from_json", "case_from_bundle"]

IMPORTED = (
    "Patient",
    "Encounter",
    "Condition",
    "MedicationStatement",
    "AllergyIntolerance",
    "FamilyMemberHistory",
    "Observation",
    "QuestionnaireResponse",
    "ServiceRequest",
    "CarePlan",
    "Communication",
    "DocumentReference",
)
DERIVED = ("Goal", "Flag", "Provenance", "DiagnosticReport")  # rebuilt from the record

_ORDER_STATUS = {"active": "ordered", "completed": "resulted", "revoked": "cancelled"}
_PLAN_STATUS = {v: k for k, v in c.PLAN_STATUS.items()}


class FhirImportError(CasebookError, ValueError):
    """A bundle casebook cannot import; the message names the entry and the field."""


class _Bad(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")


def _loc(parts: tuple[Any, ...]) -> str:
    out = ""
    for part in parts:
        if part == "root":
            continue
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out.lstrip(".")


def _label(raw: Any) -> str:
    if not isinstance(raw, dict):
        return "resource"
    return f"{raw.get('resourceType', '?')}/{raw.get('id', '?')}"


def bundle_from_json(text: str, source: str = "<input>", catalog: Catalog | None = None) -> Case:
    """Parse a FHIR R4 Bundle (R4B models) into a Case; FhirImportError names what is wrong."""
    try:
        payload: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FhirImportError(
            f"{source}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except RecursionError:
        raise FhirImportError(f"{source}: nested too deeply to be a FHIR bundle") from None
    if not isinstance(payload, dict) or payload.get("resourceType") != "Bundle":
        found = payload.get("resourceType") if isinstance(payload, dict) else type(payload)
        raise FhirImportError(f"{source}: resourceType: expected 'Bundle', found {found!r}")
    raw_entries = payload.get("entry")
    raw_entries = raw_entries if isinstance(raw_entries, list) else []
    for i, entry in enumerate(raw_entries):
        raw = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(raw, dict) and not _is_resource_type(raw.get("resourceType")):
            raise FhirImportError(
                f"{source}: entry[{i}] {_label(raw)}: resourceType: "
                f"{raw.get('resourceType')!r} is not an R4 resource type"
            )
    try:
        bundle = Bundle.model_validate(payload)
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_url=False):
            loc = err["loc"]
            if (
                len(loc) >= 3
                and loc[0] == "entry"
                and isinstance(loc[1], int)
                and loc[2] == "resource"
                and loc[1] < len(raw_entries)
            ):
                raw = raw_entries[loc[1]].get("resource")
                where = f"entry[{loc[1]}] {_label(raw)}: {_loc(loc[3:]) or 'resource'}"
            else:
                where = _loc(loc) or "Bundle"
            lines.append(f"{source}: {where}: {err['msg']}")
        raise FhirImportError("\n".join(lines)) from None
    return case_from_bundle(bundle, catalog, source=source)


def _is_resource_type(name: Any) -> bool:
    if not isinstance(name, str):
        return False
    try:
        model = get_fhir_model_class(name)
    except (ValueError, KeyError):
        return False
    return isinstance(model, type) and issubclass(model, Resource)


def case_from_bundle(
    bundle: Bundle, catalog: Catalog | None = None, *, source: str = "<bundle>"
) -> Case:
    """The Case in a casebook-shaped Bundle, validated as a whole (nothing is written)."""
    return _Importer(bundle, catalog or default_catalog(), source).run()


def _rid(value: str | None, field: str = "id") -> str:
    try:
        return uuid.UUID(str(value)).hex
    except ValueError:
        raise _Bad(field, "is not a UUID (casebook ids are UUIDs)") from None


def _version(res: Any) -> int:
    version = res.meta.versionId if res.meta is not None else None
    if version is None:
        return 0
    if not str(version).isdigit():
        raise _Bad("meta.versionId", f"{version!r} is not a casebook version number")
    return int(version)


class _Importer:
    def __init__(self, bundle: Bundle, catalog: Catalog, source: str) -> None:
        self.catalog, self.source = catalog, source
        self.entries = [
            (i, e.resource) for i, e in enumerate(bundle.entry or ()) if e.resource is not None
        ]
        self.urls: dict[str, tuple[str, str | None]] = {}
        for e in bundle.entry or ():
            if e.resource is None:
                continue
            rtype, rid = e.resource.get_resource_type(), e.resource.id
            if e.fullUrl:
                self.urls[str(e.fullUrl)] = (rtype, rid)
            if rid:
                self.urls[f"{rtype}/{rid}"] = (rtype, rid)
        self.patient_ref: set[str] = set()
        self.pid = ""
        self.handlers: dict[str, Callable[[Any], tuple[str, dict[str, Any]] | None]] = {
            **dict.fromkeys(HISTORY_TYPES, self.history),
            "Encounter": self.encounter,
            "Observation": self.observation,
            "QuestionnaireResponse": self.questionnaire,
            "ServiceRequest": self.order,
            "Communication": self.communication,
            "DocumentReference": self.letter,
        }

    def error(self, i: int | None, res: Any, message: str) -> FhirImportError:
        where = "" if i is None else f"entry[{i}] {res.get_resource_type()}/{res.id}: "
        return FhirImportError(f"{self.source}: {where}{message}")

    # --- references ----------------------------------------------------------------
    def target(self, ref: Any, kind: str, field: str) -> str:
        """The record id of the `kind` resource that `ref` points to inside the bundle."""
        found = self.urls.get(str(getattr(ref, "reference", None) or ""))
        if found is None or found[0] != kind:
            raise _Bad(
                field,
                f"{getattr(ref, 'reference', None)!r} is not the fullUrl of a "
                f"{kind} entry of this bundle",
            )
        return _rid(found[1], field)

    def subject(self, ref: Any, field: str = "subject") -> None:
        if str(getattr(ref, "reference", None) or "") not in self.patient_ref:
            raise _Bad(field, "does not refer to the bundle's Patient")

    def visit_of(self, res: Any, required: bool = False) -> str | None:
        if res.encounter is None:
            if required:
                raise _Bad("encounter", "missing (casebook ties this to a visit)")
            return None
        return self.target(res.encounter, "Encounter", "encounter.reference")

    def test_key(self, concept: Any, field: str = "code") -> str:
        key = c.coding_code(concept, c.TEST)
        if key is not None:
            if key not in self.catalog.tests:
                raise _Bad(field, f"unknown test {key!r} (not in the catalog)")
            return key
        loinc = c.coding_code(concept, c.LOINC)
        for test in self.catalog.tests.values():
            if loinc is not None and test.loinc == loinc:
                return test.key
        raise _Bad(field, f"unknown test (no {c.TEST} code, LOINC {loinc!r} not in the catalog)")

    def base(self, res: Any) -> dict[str, Any]:
        return {"id": _rid(res.id), "patient_id": self.pid, "version": _version(res)}

    # --- resources -----------------------------------------------------------------
    def patient(self, res: Any) -> Patient:
        pid = next(
            (str(x.value) for x in res.identifier or () if x.system == c.PATIENT_ID and x.value),
            None,
        )
        if pid is None:
            raise _Bad("identifier", f"no identifier with system {c.PATIENT_ID!r}")
        name = res.name[0] if res.name else None
        text = (
            name.text or " ".join([*(name.given or ()), name.family or ""]).strip() if name else ""
        )
        return Patient.model_validate(
            {
                "id": pid,
                "name": text,
                "birth_date": res.birthDate,
                "sex": res.gender or "unknown",
                "version": _version(res),
                "record_version": c.ext_value(res, "record-version", "valueUnsignedInt", 0),
            }
        )

    def encounter(self, res: Any) -> tuple[str, dict[str, Any]]:
        self.subject(res.subject)
        kind = next(
            (k for t in res.type or () if (k := c.coding_code(t, c.VISIT_KIND))), "follow-up"
        )
        when = c.as_date(res.period.start if res.period else None)
        if when is None:
            raise _Bad("period.start", "missing (the visit date)")
        screen: dict[str, Any] = {}
        for item in getattr(c.find_ext(res, "alarm-screen"), "extension", None) or ():
            if item.url not in AlarmScreen.model_fields:
                raise _Bad("extension.alarm-screen", f"unknown screen question {item.url!r}")
            screen[item.url] = item.valueDate if item.valueDate is not None else item.valueBoolean
        return "visits", {
            **self.base(res),
            "kind": kind,
            "visit_date": when,
            "screen": screen,
            "summary": c.ext_value(res, "summary", "valueString", ""),
        }

    def history(self, res: Any) -> tuple[str, dict[str, Any]] | None:
        if res.get_resource_type() in ("AllergyIntolerance", "FamilyMemberHistory"):
            self.subject(res.patient, "patient")
        else:
            self.subject(res.subject)
        if any(
            self.urls.get(str(r.reference or ""), ("",))[0] == "CarePlan"
            for r in getattr(res, "basedOn", None) or ()
        ):
            return None  # a supplement of the plan: the CarePlan activity is the record
        try:
            data = history_data(res)
        except HistoryError as exc:
            raise _Bad(*exc.args) from None
        return "history", {**self.base(res), "data": data, "notes": c.notes_text(res.note)}

    def observation(self, res: Any) -> tuple[str, dict[str, Any]] | None:
        self.subject(res.subject)
        if c.coding_code(res.code, c.INSTRUMENT_TOTAL) is not None:
            return None  # derived from the QuestionnaireResponse
        if (key := c.coding_code(res.code, c.SYMPTOM)) is not None:
            freq = next(
                (
                    c.coding_code(x.valueCodeableConcept, c.FREQUENCY)
                    for x in res.component or ()
                    if c.coding_code(x.code, c.SYMPTOM_ATTRIBUTE) == "frequency"
                ),
                None,
            )
            return "symptoms", {
                **self.base(res),
                "visit_id": self.visit_of(res, True),
                "symptom": key,
                "severity": res.valueInteger,
                "frequency": freq or "never",
            }
        if c.coding_code(res.code, c.HISTORY_CATEGORY) is not None:
            return self.history(res)
        return self.result(res)

    def result(self, res: Any) -> tuple[str, dict[str, Any]]:
        key = self.test_key(res.code)
        q, refs = res.valueQuantity, res.referenceRange[0] if res.referenceRange else None
        if q is not None and q.value is None:
            raise _Bad("valueQuantity.value", "missing")
        orders = [
            self.target(r, "ServiceRequest", f"basedOn[{k}].reference")
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
            **self.base(res),
            "test": key,
            "collected_on": c.as_date(res.effectiveDateTime),
            "value": None if q is None else float(q.value),
            "value_text": res.valueString or c.ext_value(res, "value-text", "valueString"),
            "unit": (q.unit or "")
            if q is not None
            else c.ext_value(res, "unit", "valueString", ""),
            "ref_low": float(refs.low.value) if refs and refs.low else None,
            "ref_high": float(refs.high.value) if refs and refs.high else None,
            "flag": flag,
            "order_id": orders[0] if orders else None,
        }

    def questionnaire(self, res: Any) -> tuple[str, dict[str, Any]]:
        self.subject(res.subject)
        canonical = str(res.questionnaire or "")
        key = canonical.removeprefix(c.INSTRUMENT)
        if not canonical.startswith(c.INSTRUMENT) or key not in self.catalog.instruments:
            raise _Bad(
                "questionnaire",
                f"unknown instrument {canonical!r} (expected "
                f"{c.INSTRUMENT}<key> of a catalog instrument)",
            )
        answers: dict[str, int] = {}
        for k, item in enumerate(res.item or ()):
            values = [a.valueInteger for a in item.answer or ()]
            if len(values) != 1 or values[0] is None:
                raise _Bad(f"item[{k}].answer", "needs exactly one valueInteger")
            answers[str(item.linkId)] = int(values[0])
        return "instruments", {
            **self.base(res),
            "visit_id": self.visit_of(res, True),
            "instrument": key,
            "answers": answers,
        }

    def order(self, res: Any) -> tuple[str, dict[str, Any]]:
        self.subject(res.subject)
        status = c.ext_value(res, "order-status", "valueCode") or _ORDER_STATUS.get(
            str(res.status), "ordered"
        )
        return "orders", {
            **self.base(res),
            "test": self.test_key(res.code),
            "status": status,
            "ordered_on": c.as_date(res.authoredOn),
            "collected_on": c.ext_value(res, "collected-on", "valueDate"),
            "resulted_on": c.ext_value(res, "resulted-on", "valueDate"),
            "visit_id": self.visit_of(res),
            "reason": c.text_of(res.reasonCode[0]) if res.reasonCode else "",
        }

    def communication(self, res: Any) -> tuple[str, dict[str, Any]]:
        self.subject(res.subject)
        labels = {
            x.code
            for x in (res.meta.security if res.meta else None) or ()
            if x.system == c.CONFIDENTIALITY
        }
        text = "\n\n".join(p.contentString for p in res.payload or () if p.contentString)
        return "notes", {
            **self.base(res),
            "written_on": c.as_date(res.sent),
            "text": text,
            # Anything not explicitly normal stays with the practitioner.
            "visibility": "shared" if labels and labels <= {"N", "L", "U"} else "practitioner",
            "author": res.sender.display or "" if res.sender else "",
            "visit_id": self.visit_of(res),
        }

    def letter(self, res: Any) -> tuple[str, dict[str, Any]]:
        self.subject(res.subject)
        kinds = [
            x.code
            for x in (res.type.coding if res.type else None) or ()
            if x.system == c.LETTER_KIND
        ]
        if len(res.content or ()) != 1 or res.content[0].attachment.data is None:
            raise _Bad("content", "a casebook letter has exactly one attachment, with its data")
        attachment = res.content[0].attachment
        if str(attachment.contentType) != "application/pdf":
            raise _Bad("content[0].attachment.contentType", "expected application/pdf")
        pdf = attachment.data
        pdf = pdf if isinstance(pdf, bytes) else base64.b64decode(pdf)
        if attachment.hash is not None:
            given = (
                attachment.hash
                if isinstance(attachment.hash, bytes)
                else base64.b64decode(attachment.hash)
            )
            if given != hashlib.sha1(pdf, usedforsecurity=False).digest():
                raise _Bad("content[0].attachment.hash", "does not match the attached data")
        return "letters", {
            **self.base(res),
            "kind": kinds[0] if kinds else "",
            "recipient": c.ext_value(res, "recipient", "valueString", ""),
            "letter_date": c.ext_value(res, "letter-date", "valueDate"),
            "title": res.description or "",
            "content_hash": c.ext_value(res, "content-hash", "valueString", ""),
            "record_version": c.ext_value(res, "record-version", "valueUnsignedInt", 0),
            "pdf": pdf,
            "created_by": res.author[0].display or "" if res.author else "",
            "created_at": res.date,
        }

    def careplan(self, res: Any) -> list[dict[str, Any]]:
        self.subject(res.subject)
        items = []
        for k, act in enumerate(res.activity or ()):
            at = f"activity[{k}]"
            d = act.detail
            if d is None:
                raise _Bad(f"{at}.detail", "missing (casebook keeps plan items inline)")
            category = c.coding_code(d.code, c.PLAN_CATEGORY)
            if category is None:
                raise _Bad(f"{at}.detail.code", f"needs a {c.PLAN_CATEGORY} coding")
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
                    "id": _rid(act.id, f"{at}.id"),
                    "patient_id": self.pid,
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
                    "caution_confirmations": [
                        json.loads(x.valueString)
                        for x in d.extension or ()
                        if x.url == c.EXT + "caution-confirmation"
                    ],
                }
            )
        return items

    # --- the whole bundle ------------------------------------------------------------
    def run(self) -> Case:
        patients = [(i, r) for i, r in self.entries if r.get_resource_type() == "Patient"]
        if len(patients) != 1:
            raise self.error(
                None,
                None,
                f"a casebook bundle holds exactly one Patient, this one has {len(patients)}",
            )
        i, res = patients[0]
        try:
            patient = self.patient(res)
        except (_Bad, ValidationError) as exc:
            raise self.error(i, res, _why(exc)) from None
        self.pid = patient.id
        self.patient_ref = {
            url for url, (t, rid) in self.urls.items() if t == "Patient" and rid == res.id
        }
        models: dict[str, type[Record]] = {
            "visits": Visit,
            "history": HistoryEntry,
            "symptoms": SymptomRating,
            "instruments": InstrumentResponse,
            "orders": TestOrder,
            "results": TestResult,
            "plan": PlanItem,
            "notes": Note,
            "letters": LetterRecord,
        }
        found: dict[str, list[tuple[int, Any, Record]]] = {k: [] for k in models}
        for i, res in self.entries:
            rtype = res.get_resource_type()
            if rtype == "Patient" or rtype in DERIVED:
                continue
            try:
                if rtype == "CarePlan":
                    rows = [("plan", row) for row in self.careplan(res)]
                elif rtype in self.handlers:
                    one = self.handlers[rtype](res)
                    rows = [] if one is None else [one]
                else:
                    raise _Bad(
                        "resourceType",
                        f"casebook does not import {rtype} resources "
                        f"(it imports {', '.join(IMPORTED)})",
                    )
                for collection, row in rows:
                    record = models[collection].model_validate(row)
                    found[collection].append((i, res, prepare(record, self.catalog, patient)))
            except RecordError as exc:
                field = exc.field
                if field.startswith("answers["):  # answers['9'] -> the item with linkId '9'
                    field = f"item(linkId={field[8:-1]}).answer.valueInteger"
                raise self.error(i, res, f"{field}: {exc.reason}") from None
            except (_Bad, ValidationError) as exc:
                raise self.error(i, res, _why(exc)) from None
        try:
            return Case.model_validate(
                {
                    "patient": patient,
                    **{k: [rec for _, _, rec in rows] for k, rows in found.items()},
                }
            )
        except ValidationError as exc:
            raise self.error(
                None, None, f"the case does not hold together, nothing was imported: {_why(exc)}"
            ) from None


def _why(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            (f"{_loc(e['loc'])}: " if e["loc"] else "") + e["msg"].removeprefix("Value error, ")
            for e in exc.errors(include_url=False)
        )
    return str(exc)
