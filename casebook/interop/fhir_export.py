"""Case -> FHIR R4 transaction Bundle (built with `fhir.resources.R4B` models only).

See `casebook.interop.fhir` for the mapping, the request method and what is derived.
"""

from __future__ import annotations

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
from casebook.interop import fhir_common as c
from casebook.interop._fhir_documents import letter_resource, note_resource
from casebook.interop._fhir_orders import order_resource, report_resources, result_resource
from casebook.interop._fhir_plan import flag_resources, plan_resources
from casebook.interop._fhir_visits import (
    encounter_resource,
    instrument_resources,
    symptom_resource,
)
from casebook.interop.fhir_history import history_resource
from casebook.models import Case, HistoryEntry, LetterRecord

__all__ = ["bundle_to_json", "canonical_case", "case_to_bundle"]

_Json = dict[str, Any]


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


class _Exporter:
    """Collects the case's resources in bundle order; the area modules build them."""

    def __init__(self, case: Case, catalog: Catalog) -> None:
        self.case, self.catalog = case, catalog
        self.patient_uuid = c.derived_uuid("patient", case.patient.id)
        self.subject = {"reference": c.urn(self.patient_uuid)}
        self.entries: list[tuple[str, _Json]] = []  # (resource uuid, resource as dict)

    def add(self, *resources: _Json) -> None:
        self.entries += [(r["id"], r) for r in resources]

    def patient(self) -> _Json:
        p = self.case.patient
        return c.resource(
            "Patient",
            self.patient_uuid,
            {
                **c.meta(p.version),
                "extension": [c.ext("record-version", valueUnsignedInt=p.record_version)],
                "identifier": [{"system": c.PATIENT_ID, "value": p.id}],
                "name": [{"text": p.name}],
                "gender": p.sex,
                "birthDate": p.birth_date,
            },
        )

    def history(self, h: HistoryEntry) -> _Json:
        resource_type, body = history_resource(h.data, self.subject)
        return c.resource(
            resource_type, c.record_uuid(h.id), {**c.meta(h.version), **body, **c.note(h.notes)}
        )

    def provenance(self, now: datetime) -> _Json:
        return c.resource(
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
        case, catalog, subject, pid = self.case, self.catalog, self.subject, self.case.patient.id
        when = {v.id: v.visit_date for v in case.visits}
        self.add(self.patient())
        self.add(*(encounter_resource(v, subject) for v in case.visits))
        self.add(*(self.history(h) for h in case.history))
        self.add(*(symptom_resource(s, when[s.visit_id], subject, catalog) for s in case.symptoms))
        for r in case.instruments:
            self.add(*instrument_resources(r, when[r.visit_id], subject, catalog))
        self.add(*(order_resource(o, subject, catalog) for o in case.orders))
        self.add(*(result_resource(r, subject, catalog) for r in case.results))
        self.add(*report_resources(case.results, pid, subject))
        self.add(*plan_resources(case.plan, pid, subject))
        self.add(*(note_resource(n, subject) for n in case.notes))
        self.add(*(letter_resource(x, subject) for x in case.letters))
        self.add(*flag_resources(case, catalog, subject))
        self.add(self.provenance(now))
        return iter(self.entries)


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
