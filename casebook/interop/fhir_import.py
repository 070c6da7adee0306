"""FHIR R4 Bundle -> Case. See `casebook.interop.fhir` for the mapping and what is checked."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.resource import Resource
from pydantic import ValidationError

from casebook.catalog import Catalog, default_catalog
from casebook.clinical.derive import RecordError, prepare
from casebook.errors import CasebookError
from casebook.interop import fhir_common as c
from casebook.interop._fhir_documents import letter_row, note_row
from casebook.interop._fhir_orders import order_row, result_row
from casebook.interop._fhir_plan import careplan_rows
from casebook.interop._fhir_read import BadField, BundleRefs, version
from casebook.interop._fhir_visits import encounter_row, questionnaire_row, symptom_row
from casebook.interop.fhir_history import HISTORY_TYPES, HistoryError, history_data
from casebook.models import (
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

_Row = tuple[str, dict[str, Any]]  # (Case field, the record's fields)


class FhirImportError(CasebookError, ValueError):
    """A bundle casebook cannot import; the message names the entry and the field."""


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


class _Importer:
    """Reads a bundle entry by entry; the area modules read the resources."""

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

    def error(self, i: int | None, res: Any, message: str) -> FhirImportError:
        where = "" if i is None else f"entry[{i}] {res.get_resource_type()}/{res.id}: "
        return FhirImportError(f"{self.source}: {where}{message}")

    # --- resources -----------------------------------------------------------------
    def patient(self, res: Any) -> Patient:
        pid = next(
            (str(x.value) for x in res.identifier or () if x.system == c.PATIENT_ID and x.value),
            None,
        )
        if pid is None:
            raise BadField("identifier", f"no identifier with system {c.PATIENT_ID!r}")
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
                "version": version(res),
                "record_version": c.ext_value(res, "record-version", "valueUnsignedInt", 0),
            }
        )

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
        except (BadField, ValidationError) as exc:
            raise self.error(i, res, _why(exc)) from None
        refs = BundleRefs(
            self.catalog,
            self.urls,
            frozenset(
                url for url, (t, rid) in self.urls.items() if t == "Patient" and rid == res.id
            ),
            patient.id,
        )
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
                    rows = [("plan", row) for row in careplan_rows(refs, res)]
                elif rtype in _HANDLERS:
                    one = _HANDLERS[rtype](refs, res)
                    rows = [] if one is None else [one]
                else:
                    raise BadField(
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
            except (BadField, ValidationError) as exc:
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


def _history_row(refs: BundleRefs, res: Any) -> _Row | None:
    """A history entry (fhir_history reads its data); None for a supplement of the plan."""
    if res.get_resource_type() in ("AllergyIntolerance", "FamilyMemberHistory"):
        refs.subject(res.patient, "patient")
    else:
        refs.subject(res.subject)
    if any(
        refs.urls.get(str(r.reference or ""), ("",))[0] == "CarePlan"
        for r in getattr(res, "basedOn", None) or ()
    ):
        return None  # a supplement of the plan: the CarePlan activity is the record
    try:
        data = history_data(res)
    except HistoryError as exc:
        raise BadField(*exc.args) from None
    return "history", {**refs.base(res), "data": data, "notes": c.notes_text(res.note)}


def _observation_row(refs: BundleRefs, res: Any) -> _Row | None:
    """An Observation by its code: a symptom, a history entry or a result (None for a total)."""
    refs.subject(res.subject)
    if c.coding_code(res.code, c.INSTRUMENT_TOTAL) is not None:
        return None  # derived from the QuestionnaireResponse
    if (key := c.coding_code(res.code, c.SYMPTOM)) is not None:
        return symptom_row(refs, res, key)
    if c.coding_code(res.code, c.HISTORY_CATEGORY) is not None:
        return _history_row(refs, res)
    return result_row(refs, res)


_HANDLERS: dict[str, Callable[[BundleRefs, Any], _Row | None]] = {
    **dict.fromkeys(HISTORY_TYPES, _history_row),
    "Encounter": encounter_row,
    "Observation": _observation_row,
    "QuestionnaireResponse": questionnaire_row,
    "ServiceRequest": order_row,
    "Communication": note_row,
    "DocumentReference": letter_row,
}


def _why(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            (f"{_loc(e['loc'])}: " if e["loc"] else "") + e["msg"].removeprefix("Value error, ")
            for e in exc.errors(include_url=False)
        )
    return str(exc)
