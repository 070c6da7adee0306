"""FHIR R4 export and import of a whole case (`casebook export --format fhir`, `import fhir`).

Built with `fhir.resources.R4B` models only: `fhir.resources` 8 defaults to R5, so nothing
here imports `fhir.resources.<resource>` directly. (R4B is FHIR 4.3, which keeps R4's
shape for every resource used here.)

The bundle
----------
A `transaction` Bundle. Every entry has `fullUrl` `urn:uuid:<uuid>` and a request
`PUT <Type>/<uuid>`. A record's uuid is its casebook id (32 hex digits are a uuid); the
resources derived from the record (Patient, the instrument-total Observations, the
DiagnosticReports, CarePlan, Goal, the plan's MedicationStatements, Flags, Provenance)
get uuid5 ids from the patient or record id. PUT rather than POST + `ifNoneExist`
because the ids are ours and stable: posting the same bundle twice updates the same
resources instead of creating duplicates, and a changed record updates in place. (PUT
does not delete: a record removed in casebook, or a red flag that no longer fires,
stays on the server until removed there.) References between entries use the
`urn:uuid:` full URLs, which a server rewrites when it processes the transaction.
`meta.versionId` carries the record's optimistic-lock version (a server replaces it
with its own on write).

The mapping
-----------
Patient (identifier `urn:casebook:patient-id`, leading zeros kept); Encounter per visit
(class AMB, VR for a check-in the patient sent; status finished, the alarm screen as the
`alarm-screen` extension); Condition
for inflammatory conditions (suspected -> provisional, confirmed -> confirmed, in remission
-> confirmed + clinicalStatus remission, ruled out -> refuted) and for past infections;
MedicationStatement for medication history and for active supplement/herb plan items that
have a dose (`basedOn` the CarePlan); AllergyIntolerance for food reactions (a
"sensitivity" is type intolerance plus the `reaction-kind` extension); FamilyMemberHistory;
Observations (category social-history, one component per field) for diet, stress and
environmental exposure; Observation (survey, `urn:casebook:symptom`) per symptom rating;
QuestionnaireResponse per instrument response (`urn:casebook:instrument:<key>`) plus an
Observation for its total (`derivedFrom` it, LOINC where the catalog has one, the band as
interpretation text); ServiceRequest per order (the casebook status in an extension);
Observation (laboratory, LOINC plus `urn:casebook:test`) per result, with
`referenceRange` and an H/L/A interpretation; DiagnosticReport per collection date;
CarePlan with one activity per plan item (inline detail: an elimination diet is an
activity, not a NutritionOrder, which R4 scopes to in-patient care) and a Goal;
Communication per note, labelled in `meta.security` with v3-Confidentiality `R`
(restricted) for practitioner-only notes and `N` for shared ones; Flag per current red
flag (`inactive` once resolved; its lifecycle state in a `review-state` extension; the
review steps themselves travel only in the JSON case format, and a FHIR import starts
with none); Provenance for the whole bundle (agent: this casebook version).

Export writes the case as the store keeps it (`casebook.clinical.derive.prepare`: totals, bands,
units, ranges and flags derived from the catalog). Import rebuilds the Case from the
record-bearing resources, derives again with `prepare`, and validates the Case as a whole
before returning it, so `import_case` writes all of it in one transaction or nothing.
Flags, Provenance, Goal, DiagnosticReports, instrument totals and the plan's
MedicationStatements are derived on export and ignored on import (the record is the
source). Errors raise `FhirImportError` naming the entry, the resource and the field, e.g.
`bundle.json: entry[12] Observation/<id>: valueQuantity.value: ...`.

What model validation does not check
------------------------------------
`fhir.resources` checks structure: element names (an R5-only element is refused), types,
cardinality, required elements, primitive formats and the enumerated codes built into the
models. It does not check profiles (US Core, IPS or any other StructureDefinition: a
bundle valid here may fail a profile's must-support or slicing rules); terminology
bindings (codes are not checked against LOINC, SNOMED CT, UCUM or any value set, so
a wrong LOINC code or a non-UCUM unit passes; casebook's own `urn:casebook:` code systems
are not published); that references resolve inside the bundle (the importer checks the
references it uses: subject, encounter, basedOn); or invariants beyond what
fhir.resources enforces (FHIRPath constraints such as con-3 or obs-6 are not evaluated).
The `urn:casebook:extension:` extensions have no published StructureDefinitions.
"""

from __future__ import annotations

from casebook.interop.fhir_export import bundle_to_json, case_to_bundle
from casebook.interop.fhir_import import FhirImportError, bundle_from_json, case_from_bundle

__all__ = [
    "FhirImportError",
    "bundle_from_json",
    "bundle_to_json",
    "case_from_bundle",
    "case_to_bundle",
]
