"""FHIR R4 export and import: round trips, bundle shape, and errors that name the entry."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

import casebook.interop.fhir as fhir_module
from casebook.catalog import Catalog, default_catalog
from casebook.cli import main
from casebook.demo.synthetic import generate_cases
from casebook.interop.fhir import (
    FhirImportError,
    bundle_from_json,
    bundle_to_json,
    case_from_bundle,
    case_to_bundle,
)
from casebook.interop.fhir_export import canonical_case
from casebook.models import (
    Case,
    FoodSensitivity,
    HistoryEntry,
    InflammatoryCondition,
    Note,
    Patient,
    PlanItem,
    SafetyFacts,
    TestResult,
)
from casebook.store import CaseStore, import_case

DEMO = generate_cases(12)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return default_catalog()


def _store(path: Path, name: str = "s.db") -> CaseStore:
    return CaseStore(f"sqlite:///{path}/{name}", create=True, actor="test")


def _content(text: str) -> dict[str, Any]:
    """The bundle without what changes on every export (timestamp, Provenance.recorded)."""
    data = json.loads(text)
    data.pop("timestamp", None)
    for entry in data["entry"]:
        if entry["resource"]["resourceType"] == "Provenance":
            entry["resource"].pop("recorded", None)
    return data


def _by_id(case: Case) -> Case:
    """The case with each list sorted by id (the store loads in its own order)."""
    data = {
        name: sorted(getattr(case, name), key=lambda r: r.id)
        for name in (
            "visits",
            "history",
            "symptoms",
            "instruments",
            "orders",
            "results",
            "plan",
            "notes",
        )
    }
    return Case(patient=case.patient, **data)


def _resources(text: str, resource_type: str) -> list[dict[str, Any]]:
    return [
        e["resource"]
        for e in json.loads(text)["entry"]
        if e["resource"]["resourceType"] == resource_type
    ]


def _codes(concept: dict[str, Any], system: str) -> list[str]:
    return [c["code"] for c in concept.get("coding", []) if c.get("system") == system]


# --- round trips -------------------------------------------------------------------------


@pytest.mark.parametrize("case", DEMO, ids=[c.patient.id for c in DEMO])
def test_round_trip_through_an_empty_store(case: Case, catalog: Catalog, tmp_path: Path) -> None:
    first = bundle_to_json(case, catalog)
    imported = bundle_from_json(first, "first.json")
    store = _store(tmp_path)
    try:
        assert import_case(store, imported) == "created"
        loaded = store.load_case(case.patient.id)
    finally:
        store.close()
    second = bundle_to_json(loaded, catalog)
    assert _content(second) == _content(first)
    # the record survives exactly, versions included (modulo the store's list order)
    assert imported == canonical_case(case, catalog)
    assert _by_id(case_from_bundle(case_to_bundle(loaded, catalog))) == _by_id(loaded)


def test_export_does_not_depend_on_record_order(catalog: Catalog) -> None:
    case = DEMO[3]
    shuffled = case.model_copy(
        update={
            name: list(reversed(getattr(case, name)))
            for name in ("history", "symptoms", "results", "plan")
        }
    )
    assert _content(bundle_to_json(shuffled, catalog)) == _content(bundle_to_json(case, catalog))


def test_importing_the_same_bundle_twice_is_unchanged(catalog: Catalog, tmp_path: Path) -> None:
    text = bundle_to_json(DEMO[0], catalog)
    store = _store(tmp_path)
    try:
        assert import_case(store, bundle_from_json(text, "a.json")) == "created"
        assert import_case(store, bundle_from_json(text, "a.json")) == "unchanged"
        again = bundle_to_json(store.load_case(DEMO[0].patient.id), catalog)
        assert import_case(store, bundle_from_json(again, "b.json")) == "unchanged"
    finally:
        store.close()


def test_cli_export_then_import(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    url, url2 = f"sqlite:///{tmp_path}/one.db", f"sqlite:///{tmp_path}/two.db"
    store = CaseStore(url, create=True, actor="test")
    try:
        import_case(store, DEMO[1])
        original = store.load_case(DEMO[1].patient.id)
    finally:
        store.close()
    _store(tmp_path, "two.db").close()
    capsys.readouterr()
    assert main(["--db", url, "export", DEMO[1].patient.id, "--format", "fhir"]) == 0
    file = tmp_path / "case.fhir.json"
    file.write_text(capsys.readouterr().out, encoding="utf-8")
    assert main(["--db", url2, "import", "fhir", str(file)]) == 0
    assert "created" in capsys.readouterr().out
    store = CaseStore(url2, actor="test")
    try:
        assert store.load_case(DEMO[1].patient.id) == original
    finally:
        store.close()
    assert main(["--db", url2, "import", "fhir", str(file)]) == 0
    assert "unchanged" in capsys.readouterr().out


def test_cli_reports_a_bad_bundle(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    _store(tmp_path).close()
    file = tmp_path / "bad.json"
    file.write_text('{"resourceType": "Patient"}', encoding="utf-8")
    assert main(["--db", url, "import", "fhir", str(file)]) == 1
    assert "resourceType: expected 'Bundle'" in capsys.readouterr().err


# --- the bundle ------------------------------------------------------------------------------


def test_bundle_revalidates_as_r4b_and_every_resource_is_r4b(catalog: Catalog) -> None:
    text = bundle_to_json(DEMO[0], catalog)
    bundle = Bundle.model_validate(json.loads(text))
    assert bundle.type == "transaction"
    assert bundle.entry
    for entry in bundle.entry:
        resource = entry.resource
        assert type(resource).__module__.startswith("fhir.resources.R4B."), type(resource)
        assert entry.fullUrl == f"urn:uuid:{resource.id}"
        assert entry.request.method == "PUT"
        assert entry.request.url == f"{resource.get_resource_type()}/{resource.id}"
    built = case_to_bundle(DEMO[0], catalog)
    assert all(type(e.resource).__module__.startswith("fhir.resources.R4B.") for e in built.entry)


def test_ids_are_deterministic_and_the_patient_id_keeps_leading_zeros(catalog: Catalog) -> None:
    case = DEMO[2]
    pid = "00123"
    renamed = Case.model_validate(
        {
            **case.model_dump(),
            "patient": {**case.patient.model_dump(), "id": pid},
            **{
                name: [{**r.model_dump(), "patient_id": pid} for r in getattr(case, name)]
                for name in (
                    "visits",
                    "history",
                    "symptoms",
                    "instruments",
                    "orders",
                    "results",
                    "plan",
                    "notes",
                )
            },
        }
    )
    text = bundle_to_json(renamed, catalog)
    (patient,) = _resources(text, "Patient")
    assert patient["identifier"] == [{"system": "urn:casebook:patient-id", "value": "00123"}]
    assert bundle_from_json(text, "x.json").patient.id == "00123"
    ids = [e["fullUrl"] for e in json.loads(text)["entry"]]
    assert ids == [e["fullUrl"] for e in json.loads(bundle_to_json(renamed, catalog))["entry"]]
    assert len(ids) == len(set(ids))


def test_results_carry_loinc_ranges_and_interpretation(catalog: Catalog) -> None:
    case = canonical_case(DEMO[0], catalog)
    text = bundle_to_json(case, catalog)
    observations = {o["id"].replace("-", ""): o for o in _resources(text, "Observation")}
    flagged = 0
    for result in case.results:
        obs = observations[result.id]
        test = catalog.tests[result.test]
        assert obs["category"][0]["coding"][0]["code"] == "laboratory"
        assert _codes(obs["code"], "urn:casebook:test") == [result.test]
        if test.loinc:
            assert _codes(obs["code"], "http://loinc.org") == [test.loinc]
        assert obs["valueQuantity"]["unit"] == test.unit
        assert ("referenceRange" in obs) == (
            result.ref_low is not None or result.ref_high is not None
        )
        if result.ref_high is not None:
            assert obs["referenceRange"][0]["high"]["value"] == result.ref_high
        interpretation = [c for i in obs.get("interpretation", []) for c in i["coding"]]
        if result.flag:
            flagged += 1
            assert interpretation == [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                    "code": result.flag,
                    "display": {"H": "High", "L": "Low"}[result.flag],
                }
            ]
        else:
            assert interpretation == []
    assert flagged  # patient 0 has a low hemoglobin
    report_results = {
        r["reference"] for d in _resources(text, "DiagnosticReport") for r in d["result"]
    }
    assert len(report_results) == len(case.results)


def test_instrument_totals_are_observations_derived_from_the_response(catalog: Catalog) -> None:
    case = canonical_case(DEMO[2], catalog)
    text = bundle_to_json(case, catalog)
    responses = {q["id"]: q for q in _resources(text, "QuestionnaireResponse")}
    totals = [
        o
        for o in _resources(text, "Observation")
        if _codes(o["code"], "urn:casebook:instrument-total")
    ]
    scored = {r.id: r for r in case.instruments if r.total is not None}
    assert len(totals) == len(scored)
    for obs in totals:
        qr = responses[obs["derivedFrom"][0]["reference"].removeprefix("urn:uuid:")]
        response = scored[qr["id"].replace("-", "")]
        loinc = catalog.instruments[response.instrument].loinc_total
        assert _codes(obs["code"], "http://loinc.org") == ([loinc] if loinc else [])
        assert obs["valueInteger"] == response.total
        assert obs["interpretation"] == [{"text": response.band}]
        assert {i["linkId"]: i["answer"][0]["valueInteger"] for i in qr["item"]} == (
            response.answers
        )


def test_notes_are_labelled_by_visibility(catalog: Catalog) -> None:
    text = bundle_to_json(DEMO[0], catalog)
    labels = {
        c["payload"][0]["contentString"]: c["meta"]["security"]
        for c in _resources(text, "Communication")
    }
    confidentiality = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
    for note in DEMO[0].notes:
        expected = "R" if note.visibility == "practitioner" else "N"
        assert labels[note.text] == [{"system": confidentiality, "code": expected}]
    assert any(n.visibility == "practitioner" for n in DEMO[0].notes)


def test_red_flags_become_flags_and_provenance_targets_everything(catalog: Catalog) -> None:
    text = bundle_to_json(DEMO[0], catalog)
    flags = _resources(text, "Flag")
    assert flags and all(f["status"] == "active" for f in flags)
    (provenance,) = _resources(text, "Provenance")
    targets = {t["reference"] for t in provenance["target"]}
    others = {
        e["fullUrl"]
        for e in json.loads(text)["entry"]
        if e["resource"]["resourceType"] != "Provenance"
    }
    assert targets == others


def test_plan_is_a_careplan_without_nutrition_orders(catalog: Catalog) -> None:
    case = canonical_case(DEMO[0], catalog)
    text = bundle_to_json(case, catalog)
    assert _resources(text, "NutritionOrder") == []
    (careplan,) = _resources(text, "CarePlan")
    assert careplan["intent"] == "plan"
    assert len(careplan["activity"]) == len(case.plan)
    categories = [
        _codes(a["detail"]["code"], "urn:casebook:plan-category")[0] for a in careplan["activity"]
    ]
    assert "eliminate_triggers" in categories
    assert len(_resources(text, "Goal")) == 1


def _edge_case() -> Case:
    """Hand-built records that the demo does not produce."""
    base = DEMO[4]
    pid = base.patient.id

    def hist(data: Any, notes: str = "") -> HistoryEntry:
        return HistoryEntry(patient_id=pid, version=2, data=data, notes=notes)

    history = [
        hist(InflammatoryCondition(condition="celiac_disease", status="suspected")),
        hist(
            InflammatoryCondition(
                condition="crohns_disease",
                status="confirmed",
                diagnosed_on=date(2019, 3, 1),
                name="ileal",
            )
        ),
        hist(InflammatoryCondition(condition="ulcerative_colitis", status="in_remission")),
        hist(
            InflammatoryCondition(condition="other", status="ruled_out", name="microscopic"),
            notes="biopsy normal",
        ),
        hist(FoodSensitivity(food="dairy", reaction="sensitivity", severity="moderate")),
        # a pregnancy dated by its due date (the anaemia thresholds read it): issue 19
        hist(SafetyFacts(recorded_on=date(2024, 4, 1), pregnant=True, due_date=date(2024, 11, 2))),
        hist(
            FoodSensitivity(
                food="peanuts", reaction="allergy", severity="severe", confirmed_by="clinical_test"
            )
        ),
    ]
    results = [
        TestResult(
            patient_id=pid,
            test="giardia_antigen",
            collected_on=date(2024, 5, 2),
            value_text="detected",
        ),
        TestResult(
            patient_id=pid,
            test="crp",
            collected_on=date(2024, 5, 2),
            value=12.5,
            value_text="haemolysed sample",
            unit="mg/L",
            ref_low=0.0,
            ref_high=5.0,
        ),
    ]
    plan = [
        PlanItem(
            patient_id=pid,
            category="herbal",
            name="Peppermint oil",
            dose="1 capsule",
            frequency="twice daily",
            status="active",
            start=date(2024, 5, 1),
        )
    ]
    notes = [
        Note(
            patient_id=pid,
            written_on=date(2024, 5, 3),
            text="Private thoughts.",
            visibility="practitioner",
        )
    ]
    return base.model_copy(
        update={
            "history": history,
            "results": results,
            "plan": plan,
            "notes": notes,
            "orders": [],
            "patient": Patient(
                id=pid,
                name="Edge Case",
                birth_date=date(1980, 1, 2),
                sex="other",
                version=3,
                record_version=9,
            ),
        }
    )


def test_edge_records_round_trip(catalog: Catalog) -> None:
    case = _edge_case()
    text = bundle_to_json(case, catalog)
    assert bundle_from_json(text, "edge.json") == canonical_case(case, catalog)
    conditions = {c["id"].replace("-", ""): c for c in _resources(text, "Condition")}
    ver = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
    seen = [_codes(conditions[h.id]["verificationStatus"], ver)[0] for h in case.history[:4]]
    assert seen == ["provisional", "confirmed", "confirmed", "refuted"]
    allergies = _resources(text, "AllergyIntolerance")
    assert sorted(a["type"] for a in allergies) == ["allergy", "intolerance"]
    # the active herb with a dose is also a MedicationStatement based on the CarePlan,
    # which import ignores (the CarePlan activity is the record)
    (statement,) = [m for m in _resources(text, "MedicationStatement") if "basedOn" in m]
    assert statement["basedOn"][0]["reference"].endswith(_resources(text, "CarePlan")[0]["id"])
    giardia = next(
        o
        for o in _resources(text, "Observation")
        if _codes(o["code"], "urn:casebook:test") == ["giardia_antigen"]
    )
    assert giardia["valueString"] == "detected"
    assert giardia["interpretation"][0]["coding"][0]["code"] == "A"


def test_a_checkin_is_a_virtual_encounter_and_comes_back_a_checkin(catalog: Catalog) -> None:
    from casebook.models import Visit

    case = DEMO[0]
    sent = Visit(patient_id=case.patient.id, kind="check-in", visit_date=date(2026, 10, 2))
    case = case.model_copy(update={"visits": [*case.visits, sent]})
    text = bundle_to_json(case, catalog)
    classes = {e["id"].replace("-", ""): e["class"]["code"] for e in _resources(text, "Encounter")}
    assert classes == {v.id: "VR" if v.is_checkin else "AMB" for v in case.visits}
    back = bundle_from_json(text, "checkin.json")
    assert [v.kind for v in back.sorted_visits()] == [v.kind for v in case.sorted_visits()]


# --- errors -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def good(catalog: Catalog) -> dict[str, Any]:
    return json.loads(bundle_to_json(DEMO[0], catalog))


def _entry_index(bundle: dict[str, Any], resource_type: str, system: str | None = None) -> int:
    for i, entry in enumerate(bundle["entry"]):
        res = entry["resource"]
        if res["resourceType"] == resource_type and (
            system is None or _codes(res.get("code", {}), system)
        ):
            return i
    raise AssertionError(f"no {resource_type}")


def _fails(bundle: Any) -> str:
    text = bundle if isinstance(bundle, str) else json.dumps(bundle)
    with pytest.raises(FhirImportError) as info:
        bundle_from_json(text, "bundle.json")
    return str(info.value)


def test_bad_field_type_in_entry_3_names_entry_and_field(good: dict[str, Any]) -> None:
    bad = json.loads(json.dumps(good))
    res = bad["entry"][3]["resource"]
    res["meta"] = {"versionId": "1", "lastUpdated": "yesterday"}
    message = _fails(bad)
    assert message.startswith(
        f"bundle.json: entry[3] {res['resourceType']}/{res['id']}: meta.lastUpdated: "
    )


def test_bad_quantity_names_entry_and_field(good: dict[str, Any]) -> None:
    bad = json.loads(json.dumps(good))
    i = _entry_index(bad, "Observation", "urn:casebook:test")
    bad["entry"][i]["resource"]["valueQuantity"]["value"] = "abc"
    oid = bad["entry"][i]["resource"]["id"]
    assert f"bundle.json: entry[{i}] Observation/{oid}: valueQuantity.value: " in _fails(bad)


def test_unknown_test_code_names_the_entry(good: dict[str, Any]) -> None:
    bad = json.loads(json.dumps(good))
    i = _entry_index(bad, "Observation", "urn:casebook:test")
    for coding in bad["entry"][i]["resource"]["code"]["coding"]:
        if coding["system"] == "urn:casebook:test":
            coding["code"] = "unobtanium"
    message = _fails(bad)
    assert f"entry[{i}] Observation/" in message
    assert "code: unknown test 'unobtanium'" in message


def test_unknown_instrument_names_the_entry(good: dict[str, Any]) -> None:
    bad = json.loads(json.dumps(good))
    i = _entry_index(bad, "QuestionnaireResponse")
    bad["entry"][i]["resource"]["questionnaire"] = "urn:casebook:instrument:msq"
    message = _fails(bad)
    assert f"entry[{i}] QuestionnaireResponse/" in message and "questionnaire: unknown" in message


def test_wrong_resource_types(good: dict[str, Any]) -> None:
    assert "resourceType: expected 'Bundle', found 'Patient'" in _fails({"resourceType": "Patient"})
    bad = json.loads(json.dumps(good))
    bad["entry"][5]["resource"]["resourceType"] = "Foo"
    assert "entry[5] Foo/" in _fails(bad) and "not an R4 resource type" in _fails(bad)
    bad = json.loads(json.dumps(good))
    bad["entry"].append(
        {
            "fullUrl": "urn:uuid:0d5c1c1e-0000-4000-8000-000000000001",
            "resource": {
                "resourceType": "Appointment",
                "status": "booked",
                "participant": [{"status": "accepted"}],
            },
        }
    )
    assert f"entry[{len(bad['entry']) - 1}] Appointment/" in _fails(bad)


def test_not_json() -> None:
    assert _fails("{not json").startswith("bundle.json: not JSON (line 1")


def test_r5_only_fields_are_refused(good: dict[str, Any]) -> None:
    bad = json.loads(json.dumps(good))
    i = _entry_index(bad, "Observation", "urn:casebook:test")
    bad["entry"][i]["resource"]["triggeredBy"] = [
        {"observation": {"reference": "x"}, "type": "reflex"}
    ]
    assert f"entry[{i}] Observation/" in (message := _fails(bad))
    assert "triggeredBy: Extra inputs are not permitted" in message
    bad = json.loads(json.dumps(good))
    i = _entry_index(bad, "Encounter")
    bad["entry"][i]["resource"]["class"] = [{"coding": [{"code": "AMB"}]}]  # R5: 0..* concept
    assert f"entry[{i}] Encounter/" in _fails(bad) and ": class" in _fails(bad)


def test_dangling_reference_names_the_field(good: dict[str, Any]) -> None:
    bad = json.loads(json.dumps(good))
    i = _entry_index(bad, "Observation", "urn:casebook:symptom")
    bad["entry"][i]["resource"]["encounter"]["reference"] = "urn:uuid:nowhere"
    message = _fails(bad)
    assert f"entry[{i}] Observation/" in message
    assert "encounter.reference: 'urn:uuid:nowhere' is not the fullUrl of a" in message


def test_a_bad_entry_writes_nothing(good: dict[str, Any], tmp_path: Path) -> None:
    bad = json.loads(json.dumps(good))
    i = _entry_index(bad, "QuestionnaireResponse")
    bad["entry"][i]["resource"]["item"][0]["answer"][0]["valueInteger"] = 99
    message = _fails(bad)
    assert f"entry[{i}] QuestionnaireResponse/" in message
    link = bad["entry"][i]["resource"]["item"][0]["linkId"]
    assert f"item(linkId={link!r}).answer.valueInteger: 99 is not one of" in message
    store = _store(tmp_path)
    try:
        assert store.patients() == []
    finally:
        store.close()


def test_public_api_matches_all() -> None:
    assert sorted(fhir_module.__all__) == [
        "FhirImportError",
        "bundle_from_json",
        "bundle_to_json",
        "case_from_bundle",
        "case_to_bundle",
    ]
    assert all(hasattr(fhir_module, name) for name in fhir_module.__all__)
    assert issubclass(FhirImportError, ValueError)
