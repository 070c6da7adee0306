"""The clinic view read from the store: the frames, the worklist and the outcomes.

The pure computations (`_worklist`, `_outcomes`) take everything as arguments; this module
is where the store supplies them: the cases in one bulk read, the reviewed results (on the
records), and the red-flag states (`stored_flag_states`, from the stored flag steps).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Literal

import pandas as pd

from casebook.clinic._deid import deidentify
from casebook.clinic._outcomes import outcomes_by_group, outcomes_by_patient
from casebook.clinic._todo import sign_off_choice
from casebook.clinic._worklist import worklist
from casebook.errors import ClinicError
from casebook.interop.frames import ClinicFrames, clinic_frames

if TYPE_CHECKING:
    from casebook.store import CaseStore

__all__ = [
    "ClinicFilter",
    "OutcomesBy",
    "checkins_to_review",
    "load_clinic_frames",
    "sign_off_in_range",
    "store_outcomes",
    "store_worklist",
    "stored_flag_states",
]

OutcomesBy = Literal["patient", "category", "template"]


def stored_flag_states(store: CaseStore) -> Mapping[tuple[str, str], str]:
    """(patient_id, rule key) -> state of every red flag that has a recorded step.

    The state is `clinical.flag_lifecycle`'s: newer evidence re-opens a flag, so only patients
    with steps need their flags computed here; every other flag is open."""
    from casebook.clinical.flag_lifecycle import case_flag_statuses

    reviews = store.flag_reviews()
    if not reviews:
        return {}
    return {
        (case.patient.id, status.flag.key): status.state
        for case in store.load_cases(sorted(reviews))
        for status in case_flag_statuses(case, store.catalog)
    }


def checkins_to_review(store: CaseStore, patient_ids: set[str]) -> pd.DataFrame:
    """Worklist rows of the submitted check-ins of `patient_ids` (kind check-in-to-review)."""
    from casebook.clinical.vocabulary import Urgency

    found = [c for c in store.checkins(status="submitted") if c.patient_id in patient_ids]
    return pd.DataFrame(
        {
            "patient_id": [c.patient_id for c in found],
            "kind": "check-in-to-review",
            "urgency": Urgency.SOON,
            "detail": [f"Check-in sent by the patient ({', '.join(c.instruments)})" for c in found],
            "since": [
                pd.Timestamp(c.submitted_at or c.created_at).tz_localize(None) for c in found
            ],
            "ref": [c.id for c in found],
        },
        columns=["patient_id", "kind", "urgency", "detail", "since", "ref"],
    )


@dataclass(frozen=True)
class ClinicFilter:
    """Which patients and dates the clinic view shows.

    `practitioner`: only patients whose record that practitioner changed (audit log).
    `date_from`/`date_to`: worklist rows whose `since` falls in the range; outcomes of
    patients whose baseline visit falls in it. None: no bound."""

    practitioner: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    def __post_init__(self) -> None:
        if self.practitioner is not None and not self.practitioner.strip():
            raise ClinicError("practitioner: must not be empty (omit it for everyone)")
        for name in ("date_from", "date_to"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, date):
                raise ClinicError(f"{name}: must be a date (got {type(value).__name__})")
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ClinicError(f"date_to: {self.date_to} is before date_from {self.date_from}")

    def in_range(self, dates: pd.Series) -> pd.Series:
        keep = pd.Series(True, index=dates.index)
        if self.date_from is not None:
            keep &= dates >= pd.Timestamp(self.date_from)
        if self.date_to is not None:
            keep &= dates <= pd.Timestamp(self.date_to)
        return keep


def load_clinic_frames(store: CaseStore, clinic_filter: ClinicFilter | None = None) -> ClinicFrames:
    """The clinic frames of every live patient (or the practitioner's), in one bulk read."""
    f = clinic_filter or ClinicFilter()
    ids = None if f.practitioner is None else store.patients_changed_by(f.practitioner)
    return clinic_frames(store.load_cases(ids), store.catalog)


def _narrowed(store: CaseStore, frames: ClinicFrames, f: ClinicFilter) -> ClinicFrames:
    """The frames of the practitioner's patients only (all of them without a practitioner)."""
    if f.practitioner is None:
        return frames
    ids = store.patients_changed_by(f.practitioner)
    if set(frames.patients["patient_id"]) <= ids and all(
        u.patient_id in ids for u in frames.unreadable
    ):
        return frames
    keep = {
        name: getattr(frames, name)
        for name in ("patients", "visits", "scores", "plan", "orders", "results")
    }
    return ClinicFrames(
        **{
            name: df[df["patient_id"].isin(ids)].reset_index(drop=True) for name, df in keep.items()
        },
        cases=tuple(c for c in frames.cases if c.patient.id in ids),
        unreadable=tuple(u for u in frames.unreadable if u.patient_id in ids),
    )


def store_worklist(
    store: CaseStore,
    *,
    today: date | None = None,
    clinic_filter: ClinicFilter | None = None,
    overdue_days: int = 30,
    frames: ClinicFrames | None = None,
) -> pd.DataFrame:
    """`worklist` over the store: reviewed results and red-flag states as the store keeps them."""
    f = clinic_filter or ClinicFilter()
    frames = frames if frames is not None else load_clinic_frames(store, f)
    frames = _narrowed(store, frames, f)
    rows = worklist(
        frames,
        store.catalog,
        today=today or date.today(),
        flag_states=stored_flag_states(store),
        overdue_days=overdue_days,
        checkins=checkins_to_review(store, set(frames.patients["patient_id"].astype(str))),
    )
    out = rows[f.in_range(rows["since"])].reset_index(drop=True)
    out.attrs.update(rows.attrs)
    return out


def sign_off_in_range(
    store: CaseStore,
    *,
    patient_id: str | None = None,
    today: date | None = None,
    clinic_filter: ClinicFilter | None = None,
    frames: ClinicFrames | None = None,
) -> dict[str, int]:
    """Sign off every in-range result on the worklist (the filter's, or one patient's) in
    one audited transaction; patient id -> how many were signed off. A result stored again
    since the list was read is left on it."""
    frames = frames if frames is not None else load_clinic_frames(store, clinic_filter)
    items = store_worklist(store, today=today, clinic_filter=clinic_filter, frames=frames)
    chosen = sign_off_choice(items, frames, patient_id=patient_id)
    if not chosen:
        return {}
    return {pid: len(done) for pid, done in store.sign_off_results(chosen).items()}


def store_outcomes(
    store: CaseStore,
    *,
    by: OutcomesBy = "patient",
    min_patients: int = 5,
    clinic_filter: ClinicFilter | None = None,
    deidentified: bool = False,
    frames: ClinicFrames | None = None,
) -> pd.DataFrame:
    """Outcomes per patient (no names), or per plan category / protocol template.

    `deidentified=True` pseudonymises ids, shuffles the rows and keeps only rows shared by
    at least `min_patients` patients (`deidentify`)."""
    if by not in ("patient", "category", "template"):
        raise ClinicError(f"by: must be 'patient', 'category' or 'template' (got {by!r})")
    f = clinic_filter or ClinicFilter()
    frames = frames if frames is not None else load_clinic_frames(store, f)
    frames = _narrowed(store, frames, f)
    per_patient = outcomes_by_patient(frames, store.catalog)
    kept = per_patient[f.in_range(per_patient["baseline_visit"])].reset_index(drop=True)
    kept.attrs.update(per_patient.attrs)
    if by == "patient":
        out = kept
    else:
        out = outcomes_by_group(
            kept,
            store.catalog,
            by=by,
            min_patients=min_patients,
            plan=frames.plan[frames.plan["patient_id"].isin(kept["patient_id"])],
        )
    if deidentified:
        out = deidentify(out, min_group=min_patients)
    left_out = frames.unreadable  # the practitioner's only, once narrowed
    if left_out:
        named = (
            ""
            if deidentified
            else ": " + "; ".join(f"{u.patient_id} ({u.reason})" for u in left_out)
        )
        out.attrs["left_out"] = (
            f"{len(left_out)} patient(s) left out because a stored record cannot be read "
            f"(the worklist lists them){named}"
        )
        out.attrs["caveats"] = [*out.attrs.get("caveats", []), out.attrs["left_out"]]
    return out
