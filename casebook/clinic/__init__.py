"""The clinic view: a practitioner's worklist and outcomes across patients.

Pure functions over loaded cases (or the frames built from them) and the catalog:

    frames = clinic_frames(cases, catalog)             # one pass over the records
    worklist(frames, catalog, today=date.today())      # what needs action, most urgent first
    outcomes_by_patient(frames, catalog)               # baseline, latest, change per patient
    outcomes_by_group(frames, catalog, by="template")  # medians, IQR, MID shares per group
    deidentify(df)                                     # for sharing with researchers
    format_table(df), to_csv(df), to_json(df)

From the store (one bulk read; reviewed results and red-flag states as stored):

    store_worklist(store, clinic_filter=ClinicFilter(practitioner="dr-a"))
    sign_off_in_range(store, patient_id=None)      # every in-range result, one audited step

The worklist as a to-do list (the default view: what needs a decision, one row a patient):

    by_patient(shown_items(items, kinds=None, everything=False))
    store_outcomes(store, by="template", deidentified=True)

The clinic notebook (`templates/clinic.ipynb`, written by `clinic_notebook`) calls
`open_clinic`, then `filters_section`, `worklist_section`, `outcomes_section` and
`export_section`, one per cell.

Outcome frames carry their caveats in `df.attrs["caveats"]`; the formatters print them.
"""

from casebook.clinic._deid import DEIDENTIFICATION_NOTE, deidentify
from casebook.clinic._format import format_table, format_todo, to_csv, to_json
from casebook.clinic._kinds import KIND_TABLE, KINDS, Kind, check_kinds
from casebook.clinic._mids import Mid, load_mids
from casebook.clinic._outcomes import (
    CAVEATS,
    NO_PLAN,
    outcome_measures,
    outcomes_by_group,
    outcomes_by_patient,
)
from casebook.clinic._store import (
    ClinicFilter,
    load_clinic_frames,
    sign_off_in_range,
    store_outcomes,
    store_worklist,
    stored_flag_states,
)
from casebook.clinic._todo import PATIENT_COLUMNS, by_patient, shown_items
from casebook.clinic._worklist import (
    FLAG_STATES,
    URGENCIES,
    WORKLIST_COLUMNS,
    worklist,
)
from casebook.clinic.sections import (
    ClinicSession,
    clinic_notebook,
    export_section,
    filters_section,
    open_clinic,
    outcomes_section,
    worklist_section,
)
from casebook.errors import ClinicError
from casebook.interop.frames import ClinicFrames, clinic_frames

__all__ = [
    "CAVEATS",
    "DEIDENTIFICATION_NOTE",
    "FLAG_STATES",
    "KINDS",
    "KIND_TABLE",
    "NO_PLAN",
    "PATIENT_COLUMNS",
    "URGENCIES",
    "WORKLIST_COLUMNS",
    "ClinicError",
    "ClinicFilter",
    "ClinicFrames",
    "ClinicSession",
    "Kind",
    "Mid",
    "by_patient",
    "check_kinds",
    "clinic_frames",
    "clinic_notebook",
    "deidentify",
    "export_section",
    "filters_section",
    "format_table",
    "format_todo",
    "load_clinic_frames",
    "load_mids",
    "open_clinic",
    "outcome_measures",
    "outcomes_by_group",
    "outcomes_by_patient",
    "outcomes_section",
    "shown_items",
    "sign_off_in_range",
    "store_outcomes",
    "store_worklist",
    "stored_flag_states",
    "to_csv",
    "to_json",
    "worklist",
    "worklist_section",
]
