"""Visits <-> FHIR: Encounter, symptom Observation, QuestionnaireResponse and its total.

Private to `casebook.interop.fhir`: plain functions that the exporter and the importer call.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from casebook.catalog import Catalog
from casebook.interop import fhir_common as c
from casebook.interop._fhir_read import BadField, BundleRefs
from casebook.models import (
    SCREEN_RENAMED,
    AlarmScreen,
    InstrumentResponse,
    SymptomRating,
    Visit,
)

__all__ = [
    "encounter_resource",
    "encounter_row",
    "instrument_resources",
    "questionnaire_row",
    "symptom_resource",
    "symptom_row",
]

_Json = dict[str, Any]


_AMBULATORY = {"system": c.HL7 + "v3-ActCode", "code": "AMB", "display": "ambulatory"}
# a check-in the patient sent through their link: not a visit at the clinic, an exchange
# at a distance (v3 "VR": the patient and the practitioner not in the same place)
_VIRTUAL = {"system": c.HL7 + "v3-ActCode", "code": "VR", "display": "virtual"}


def encounter_resource(v: Visit, subject: _Json) -> _Json:
    """A visit as an Encounter (the alarm screen and the summary as extensions); a visit the
    practitioner held is ambulatory (AMB), a check-in the patient sent virtual (VR)."""
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
    return c.resource(
        "Encounter",
        c.record_uuid(v.id),
        {
            **c.meta(v.version),
            **({"extension": extensions} if extensions else {}),
            "status": "finished",
            "class": _VIRTUAL if v.is_checkin else _AMBULATORY,
            "type": [c.cc(c.VISIT_KIND, v.kind)],
            "subject": subject,
            "period": {"start": v.visit_date, "end": v.visit_date},
        },
    )


def symptom_resource(s: SymptomRating, when: date, subject: _Json, catalog: Catalog) -> _Json:
    """A symptom rating as a survey Observation (severity, frequency as a component)."""
    label = catalog.symptom(s.symptom).label
    return c.resource(
        "Observation",
        c.record_uuid(s.id),
        {
            **c.meta(s.version),
            "status": "final",
            "category": c.observation_category("survey"),
            "code": c.cc(c.SYMPTOM, s.symptom, display=label),
            "subject": subject,
            **c.visit_ref(s.visit_id),
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


def instrument_resources(
    r: InstrumentResponse, when: date, subject: _Json, catalog: Catalog
) -> list[_Json]:
    """A QuestionnaireResponse, then (when scored) an Observation of its total derived from it."""
    inst = catalog.instruments[r.instrument]
    rid = c.record_uuid(r.id)
    order = [i.id for i in inst.items if i.id in r.answers]
    order += [k for k in r.answers if k not in order]
    out = [
        c.resource(
            "QuestionnaireResponse",
            rid,
            {
                **c.meta(r.version),
                "questionnaire": c.INSTRUMENT + r.instrument,
                "status": "completed" if len(order) == len(inst.items) else "in-progress",
                "subject": subject,
                **c.visit_ref(r.visit_id),
                "authored": when,
                "item": [{"linkId": k, "answer": [{"valueInteger": r.answers[k]}]} for k in order]
                or None,
            },
        )
    ]
    if r.total is None:
        return out
    codings = [{"system": c.LOINC, "code": inst.loinc_total}] if inst.loinc_total else []
    codings.append(
        {
            "system": c.INSTRUMENT_TOTAL,
            "code": r.instrument,
            "display": f"{inst.short_name} total",
        }
    )
    out.append(
        c.resource(
            "Observation",
            c.derived_uuid("instrument-total", r.id),
            {
                "status": "final",
                "category": c.observation_category("survey"),
                "code": {"coding": codings, "text": f"{inst.name} total score"},
                "subject": subject,
                **c.visit_ref(r.visit_id),
                "effectiveDateTime": when,
                "valueInteger": r.total,
                **({"interpretation": [{"text": r.band}]} if r.band else {}),
                "derivedFrom": [{"reference": c.urn(rid)}],
            },
        )
    )
    return out


def encounter_row(refs: BundleRefs, res: Any) -> tuple[str, _Json]:
    refs.subject(res.subject)
    kind = next((k for t in res.type or () if (k := c.coding_code(t, c.VISIT_KIND))), "follow-up")
    when = c.as_date(res.period.start if res.period else None)
    if when is None:
        raise BadField("period.start", "missing (the visit date)")
    screen: dict[str, Any] = {}
    for item in getattr(c.find_ext(res, "alarm-screen"), "extension", None) or ():
        if item.url not in AlarmScreen.model_fields and item.url not in SCREEN_RENAMED:
            raise BadField("extension.alarm-screen", f"unknown screen question {item.url!r}")
        screen[item.url] = item.valueDate if item.valueDate is not None else item.valueBoolean
    return "visits", {
        **refs.base(res),
        "kind": kind,
        "visit_date": when,
        "screen": screen,
        "summary": c.ext_value(res, "summary", "valueString", ""),
    }


def symptom_row(refs: BundleRefs, res: Any, key: str) -> tuple[str, _Json]:
    """A survey Observation coded `key` in urn:casebook:symptom (its subject already checked)."""
    freq = next(
        (
            c.coding_code(x.valueCodeableConcept, c.FREQUENCY)
            for x in res.component or ()
            if c.coding_code(x.code, c.SYMPTOM_ATTRIBUTE) == "frequency"
        ),
        None,
    )
    return "symptoms", {
        **refs.base(res),
        "visit_id": refs.visit_of(res, True),
        "symptom": key,
        "severity": res.valueInteger,
        "frequency": freq or "never",
    }


def questionnaire_row(refs: BundleRefs, res: Any) -> tuple[str, _Json]:
    refs.subject(res.subject)
    canonical = str(res.questionnaire or "")
    key = canonical.removeprefix(c.INSTRUMENT)
    if not canonical.startswith(c.INSTRUMENT) or key not in refs.catalog.instruments:
        raise BadField(
            "questionnaire",
            f"unknown instrument {canonical!r} (expected "
            f"{c.INSTRUMENT}<key> of a catalog instrument)",
        )
    answers: dict[str, int] = {}
    for k, item in enumerate(res.item or ()):
        values = [a.valueInteger for a in item.answer or ()]
        if len(values) != 1 or values[0] is None:
            raise BadField(f"item[{k}].answer", "needs exactly one valueInteger")
        answers[str(item.linkId)] = int(values[0])
    return "instruments", {
        **refs.base(res),
        "visit_id": refs.visit_of(res, True),
        "instrument": key,
        "answers": answers,
    }
