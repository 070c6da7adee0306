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
per symptom), the alarm screen `urn:casebook:instrument:alarms` (yes or no per question);
free text travels as the one item of `urn:casebook:instrument:checkin-note`.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, get_args

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from pydantic import ValidationError

from casebook.catalog import Catalog
from casebook.catalog.schema import Instrument
from casebook.clinical.vocabulary import SCREEN_PATIENT_QUESTIONS, severity_words
from casebook.errors import CasebookError
from casebook.interop.fhir_common import INSTRUMENT, LOINC, PATIENT_ID, derived_uuid, urn
from casebook.models import PATIENT_SCREEN_QUESTIONS, SymptomRating
from casebook.store.checkins import StoredCheckin

__all__ = [
    "ALARMS",
    "CHECKIN_ID",
    "NOTE",
    "SYMPTOMS",
    "BundledCheckin",
    "CheckinFhirError",
    "checkin_from_bundle",
    "checkin_to_bundle",
    "submitted_from_bundle",
]

SYMPTOMS = "symptoms"
ALARMS = "alarms"
CHECKIN_ID = "urn:casebook:checkin"
"""The identifier system of a response's check-in id."""
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
    if key == ALARMS:
        yes_no = [("yes", "Yes"), ("no", "No")]
        items = [_choice(n, SCREEN_PATIENT_QUESTIONS[n], yes_no) for n in PATIENT_SCREEN_QUESTIONS]
        body.update(title="Alarm screen", item=items)
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
        "identifier": {"system": CHECKIN_ID, "value": checkin.id},
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


@dataclass(frozen=True)
class BundledCheckin:
    """A submitted check-in as a bundle holds it: its id (the responses' `urn:casebook:
    checkin` identifier, else one derived from the responses, so a re-import finds it),
    the patient, the instruments in order, the form's (name, value) pairs and when the
    patient sent it."""

    checkin_id: str
    patient_id: str
    instruments: tuple[str, ...]
    fields: list[tuple[str, str]]
    authored: datetime


def checkin_from_bundle(
    bundle: dict[str, Any], catalog: Catalog
) -> tuple[str, list[tuple[str, str]]]:
    """(patient id, the form's (name, value) pairs) from a bundle `checkin_to_bundle` made
    (or any with such QuestionnaireResponses); CheckinFhirError naming what is wrong."""
    read = _read(bundle, catalog)
    return read.patient_id, read.fields


def submitted_from_bundle(bundle: Any, catalog: Catalog) -> BundledCheckin:
    """The submitted check-in in a bundle, for an import: as `checkin_from_bundle`, and
    every response `completed` (a draft cannot be imported), with its `authored` time and
    one check-in identifier; CheckinFhirError naming the entry and field otherwise."""
    read = _read(bundle, catalog, submitted=True)
    if not read.instruments:
        raise CheckinFhirError("bundle: holds no instrument's answers")
    return read


_CHECKIN_ID = re.compile(r"[0-9A-Za-z-]{1,32}")


def _read(bundle: Any, catalog: Catalog, *, submitted: bool = False) -> BundledCheckin:
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise CheckinFhirError("bundle: resourceType: not a FHIR Bundle")
    try:
        parsed = Bundle.model_validate(bundle)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CheckinFhirError(f"bundle: {where}: {first['msg']}") from None
    patients: set[str] = set()
    ids: set[str] = set()
    stamps: list[datetime] = []
    instruments: list[str] = []
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
        if key not in (*catalog.instruments, SYMPTOMS, ALARMS, NOTE):
            raise CheckinFhirError(f"{where}: questionnaire: unknown instrument {key[:64]!r}")
        subject = res.subject.identifier if res.subject is not None else None
        if subject is None or subject.system != PATIENT_ID or not subject.value:
            raise CheckinFhirError(f"{where}: subject: needs the casebook patient identifier")
        patients.add(str(subject.value))
        if submitted:
            _submitted(res, where, ids, stamps)
        if key != NOTE:
            instruments.append(key)
        fields += _answers(res, key, where)
    if len(patients) != 1:
        raise CheckinFhirError("bundle: needs responses of exactly one patient")
    if len(ids) > 1:
        raise CheckinFhirError("bundle: identifier: the responses name more than one check-in")
    patient_id = patients.pop()
    derived = hashlib.sha256(json.dumps([patient_id, fields]).encode()).hexdigest()[:32]
    return BundledCheckin(
        ids.pop() if ids else derived,
        patient_id,
        tuple(dict.fromkeys(instruments)),
        fields,
        max(stamps) if stamps else datetime.now(UTC),
    )


def _answers(res: QuestionnaireResponse, key: str, where: str) -> list[tuple[str, str]]:
    """One response's answers as the form's (name, value) pairs."""
    fields = []
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
    return fields


def _submitted(
    res: QuestionnaireResponse, where: str, ids: set[str], stamps: list[datetime]
) -> None:
    """Check one response of a submitted check-in; note its check-in id and time."""
    if res.status != "completed":
        raise CheckinFhirError(
            f"{where}: status: {str(res.status)[:32]!r}: only a submitted check-in "
            "(completed) can be imported"
        )
    if res.authored is None:
        raise CheckinFhirError(f"{where}: authored: needs the time the patient sent it")
    authored = res.authored
    if not isinstance(authored, datetime) or authored.tzinfo is None:
        raise CheckinFhirError(f"{where}: authored: needs a date, time and time zone")
    stamps.append(authored.astimezone(UTC))
    marked = res.identifier
    if marked is not None and marked.system == CHECKIN_ID and marked.value:
        value = str(marked.value)
        if not _CHECKIN_ID.fullmatch(value):
            raise CheckinFhirError(f"{where}: identifier: not a casebook check-in id")
        ids.add(value)
