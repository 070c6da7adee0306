"""Patient check-ins <-> FHIR R4 (R4B models): a `collection` Bundle holding one
Questionnaire per instrument asked (from the catalog: items, answer options, the LOINC panel
code where the catalog has one, e.g. PHQ-9 44249-1, GAD-7 69737-5) and one
QuestionnaireResponse per instrument, `completed` once submitted, `in-progress` while a
draft, whose `author` and `source` are the patient (reported through their link).

    bundle = checkin_to_bundle(checkin, catalog)        # a dict, valid R4B
    patient_id, fields = checkin_from_bundle(bundle, catalog)

`checkin_from_bundle` gives the answers back as the form's (name, value) pairs, which
`casebook.checkins.parse_answers` checks exactly as it checks a posted form. The symptom
inventory is the Questionnaire `urn:casebook:instrument:symptoms` (a severity and a frequency
per symptom); free text travels as the one item of `urn:casebook:instrument:checkin-note`.
"""

from __future__ import annotations

from typing import Any, get_args

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from pydantic import ValidationError

from casebook.catalog import Catalog
from casebook.catalog.schema import Instrument
from casebook.clinical.vocabulary import severity_words
from casebook.errors import CasebookError
from casebook.interop.fhir_common import INSTRUMENT, LOINC, PATIENT_ID, derived_uuid, urn
from casebook.models import SymptomRating
from casebook.store.checkins import StoredCheckin

__all__ = ["NOTE", "SYMPTOMS", "CheckinFhirError", "checkin_from_bundle", "checkin_to_bundle"]

SYMPTOMS = "symptoms"
NOTE = "checkin-note"
_FREQUENCIES: tuple[str, ...] = get_args(SymptomRating.model_fields["frequency"].annotation)


class CheckinFhirError(CasebookError, ValueError):
    """A check-in bundle that cannot be read; the message names the entry and field."""


def _choice(link_id: str, text: str, options: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "linkId": link_id,
        "text": text,
        "type": "choice",
        "required": True,
        "answerOption": [{"valueCoding": {"code": c, "display": d}} for c, d in options],
    }


def _questionnaire(catalog: Catalog, key: str) -> dict[str, Any]:
    url = f"{INSTRUMENT}{key}"
    body: dict[str, Any] = {"resourceType": "Questionnaire", "id": derived_uuid("q", key)}
    body.update(url=url, status="active", subjectType=["Patient"])
    if key == NOTE:
        body.update(title="Anything else", item=[{"linkId": "free_text", "type": "text"}])
        return body
    if key == SYMPTOMS:
        severity = [(str(i), w) for i, w in enumerate(severity_words(patient=True))]
        frequency = [(f, f.replace("_", " ")) for f in _FREQUENCIES]
        items = []
        for s in catalog.symptoms:
            items.append(_choice(f"{s.key}.severity", s.patient_label, severity))
            items.append(_choice(f"{s.key}.frequency", f"How often: {s.patient_label}", frequency))
        body.update(title="Symptom inventory", item=items)
        return body
    ins: Instrument = catalog.instruments[key]
    options = [(str(o.value), o.label) for o in ins.options]
    body.update(
        title=ins.name,
        copyright=ins.licence,
        item=[_choice(i.id, i.text, options) for i in ins.items],
    )
    if ins.loinc_panel:
        body["code"] = [{"system": LOINC, "code": ins.loinc_panel, "display": ins.name}]
    return body


def _response(
    checkin: StoredCheckin, key: str, given: dict[str, Any], questionnaire: dict[str, Any]
) -> dict[str, Any]:
    texts = {i["linkId"]: i.get("text") for i in questionnaire["item"]}
    patient = {"identifier": {"system": PATIENT_ID, "value": checkin.patient_id}}
    items = []
    for link_id, value in given.items():
        answer = {"valueString": value} if key == NOTE else {"valueCoding": {"code": str(value)}}
        item: dict[str, Any] = {"linkId": link_id, "answer": [answer]}
        if texts.get(link_id):
            item["text"] = texts[link_id]
        items.append(item)
    body: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": derived_uuid("qr", f"{checkin.id}:{key}"),
        "identifier": {"system": "urn:casebook:checkin", "value": checkin.id},
        "questionnaire": questionnaire["url"],
        "status": "completed" if checkin.submitted_at else "in-progress",
        "subject": patient,
        "author": patient,
        "source": patient,
        "item": items,
    }
    when = checkin.submitted_at or checkin.saved_at
    if when is not None:
        body["authored"] = when.isoformat()
    return body


def checkin_to_bundle(checkin: StoredCheckin, catalog: Catalog) -> dict[str, Any]:
    """The check-in as a FHIR `collection` Bundle (see the module)."""
    keys = list(checkin.instruments) + ([NOTE] if checkin.free_text else [])
    entries = []
    for key in keys:
        questionnaire = _questionnaire(catalog, key)
        given = {"free_text": checkin.free_text} if key == NOTE else checkin.answers.get(key, {})
        response = _response(checkin, key, given, questionnaire)
        for res in (questionnaire, response):
            entries.append({"fullUrl": urn(res["id"]), "resource": res})
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    Bundle.model_validate(bundle)  # R4B structure, before anyone reads it
    return bundle


def checkin_from_bundle(
    bundle: dict[str, Any], catalog: Catalog
) -> tuple[str, list[tuple[str, str]]]:
    """(patient id, the form's (name, value) pairs) from a bundle `checkin_to_bundle` made
    (or any with such QuestionnaireResponses); CheckinFhirError naming what is wrong."""
    try:
        parsed = Bundle.model_validate(bundle)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CheckinFhirError(f"bundle: {where}: {first['msg']}") from None
    patients: set[str] = set()
    fields: list[tuple[str, str]] = []
    for n, entry in enumerate(parsed.entry or ()):
        res = entry.resource
        if not isinstance(res, QuestionnaireResponse):
            continue
        where = f"entry[{n}] QuestionnaireResponse"
        url = str(res.questionnaire or "")
        if not url.startswith(INSTRUMENT):
            raise CheckinFhirError(f"{where}: questionnaire: not a casebook instrument")
        key = url[len(INSTRUMENT) :]
        if key not in (*catalog.instruments, SYMPTOMS, NOTE):
            raise CheckinFhirError(f"{where}: questionnaire: unknown instrument {key[:64]!r}")
        subject = res.subject.identifier if res.subject is not None else None
        if subject is None or subject.system != PATIENT_ID or not subject.value:
            raise CheckinFhirError(f"{where}: subject: needs the casebook patient identifier")
        patients.add(str(subject.value))
        for item in res.item or ():
            answers = item.answer or []
            if len(answers) != 1:
                raise CheckinFhirError(f"{where}: item {item.linkId}: needs exactly one answer")
            answer = answers[0]
            if key == NOTE:
                fields.append(("free_text", str(answer.valueString or "")))
            elif answer.valueCoding is None or answer.valueCoding.code is None:
                raise CheckinFhirError(f"{where}: item {item.linkId}: answer needs a valueCoding")
            else:
                fields.append((f"{key}.{item.linkId}", str(answer.valueCoding.code)))
    if len(patients) != 1:
        raise CheckinFhirError("bundle: needs responses of exactly one patient")
    return patients.pop(), fields
