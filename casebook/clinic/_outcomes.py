"""Outcomes across patients: per patient, and per plan category or protocol template.

Observational figures with their caveats attached (`df.attrs["caveats"]`); loss to
follow-up is shown, never dropped; no figure from fewer than `min_patients` is shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import numpy as np
import pandas as pd

from casebook.catalog import Catalog
from casebook.clinic._mids import load_mids
from casebook.errors import ClinicError
from casebook.interop.frames import ClinicFrames, as_frames, join_per_patient
from casebook.models import Case

__all__ = ["CAVEATS", "NO_PLAN", "outcome_measures", "outcomes_by_group", "outcomes_by_patient"]

CAVEATS: tuple[str, ...] = (
    "These are observational records from routine care, not a trial.",
    "There is no control group: a change cannot be credited to the plan.",
    "Patients often come when symptoms are at their worst, so scores tend to fall "
    "afterwards anyway (regression to the mean).",
    "Numbers are small; figures from fewer than the minimum number of patients are "
    "not shown, and medians from small groups still vary a lot.",
    "Patients without a follow-up visit are counted as lost to follow-up; those who "
    "return may differ from those who do not.",
)
NO_PLAN = "(no plan item)"
_USED = ("active", "completed", "stopped")  # a proposed item was never used
_BURDEN = "burden"


def outcome_measures(catalog: Catalog) -> dict[str, str]:
    """measure key -> display name: the symptom burden, then every summed instrument.

    Category-scored instruments (the Bristol type) have no direction of improvement and
    are left out.
    """
    measures = {_BURDEN: "Symptom burden"}
    for key, inst in catalog.instruments.items():
        if inst.scoring == "sum":
            measures[key] = inst.short_name
    return measures


def _first_last(rows: pd.DataFrame, value: str, prefix: str) -> pd.DataFrame:
    """Per patient: the value at the first and at the last row (rows sorted by seq)."""
    g = rows.groupby("patient_id", sort=False)
    first, last = g.head(1).set_index("patient_id"), g.tail(1).set_index("patient_id")
    later = last["seq"] > first["seq"].reindex(last.index)
    out = pd.DataFrame({f"{prefix}_baseline": first[value]})
    out[f"{prefix}_latest"] = last[value].where(later)
    out[f"{prefix}_change"] = out[f"{prefix}_latest"] - out[f"{prefix}_baseline"]
    return out


def _joined(plan: pd.DataFrame, column: str) -> pd.Series:
    used = plan.loc[plan["status"].isin(_USED) & plan[column].notna(), ["patient_id", column]]
    return join_per_patient(used.drop_duplicates().sort_values(["patient_id", column]), column)


def outcomes_by_patient(source: Iterable[Case] | ClinicFrames, catalog: Catalog) -> pd.DataFrame:
    """One row per patient: baseline and latest visit, burden and instrument scores from
    where each starts (`casebook.clinical.baseline`: a check-in the patient sent counts) to
    their latest, and their change, time in care, plan categories and templates used.

    A patient with no visit after the baseline has `followed_up=False` and empty latest
    values and changes: shown, never dropped.
    """
    f = as_frames(source, catalog)
    v = f.visits
    base = v.loc[v["is_baseline"], ["patient_id", "seq", "visit_date"]]
    last = v.loc[
        v.groupby("patient_id", sort=False)["seq"].idxmax(), ["patient_id", "seq", "visit_date"]
    ]
    out = (
        f.patients[["patient_id"]]
        .merge(base, on="patient_id", how="left")
        .merge(last, on="patient_id", how="left", suffixes=("_b", "_l"))
    )
    followed = (out["seq_l"] > out["seq_b"]).fillna(False).astype(bool)
    out = pd.DataFrame(
        {
            "patient_id": out["patient_id"],
            "baseline_visit": out["visit_date_b"],
            "latest_visit": out["visit_date_l"].where(followed),
            "followed_up": followed,
            "time_in_care_days": (out["visit_date_l"] - out["visit_date_b"])
            .dt.days.where(followed, 0)
            .astype("Int64"),
        }
    ).set_index("patient_id")
    # each measure from where it starts (clinical.baseline): its first value from the
    # baseline visit on, to its last value after that
    base_seq = base[["patient_id", "seq"]].rename(columns={"seq": "base_seq"})
    rated = v.loc[v["burden"].notna(), ["patient_id", "seq", "burden"]].merge(
        base_seq, on="patient_id"
    )
    rated = rated[rated["seq"] >= rated["base_seq"]].sort_values(["patient_id", "seq"])
    burden = _first_last(rated, "burden", "burden")
    out["baseline_burden"] = burden["burden_baseline"].reindex(out.index)
    out["latest_burden"] = burden["burden_latest"].reindex(out.index).where(out["followed_up"])
    out["burden_change"] = out["latest_burden"] - out["baseline_burden"]
    scores = f.scores.merge(v[["visit_id", "seq"]], on="visit_id").merge(base_seq, on="patient_id")
    scores = scores[scores["seq"] >= scores["base_seq"]].sort_values(["patient_id", "seq"])
    scores = scores.drop_duplicates(["visit_id", "instrument"], keep="last")
    for key in outcome_measures(catalog):
        if key == _BURDEN:
            continue
        cols = [f"{key}_baseline", f"{key}_latest", f"{key}_change"]
        rows = scores[scores["instrument"] == key]
        out = (
            out.join(_first_last(rows, "total", key))
            if len(rows)
            else out.assign(**{c: np.nan for c in cols})
        )
    out["plan_categories"] = _joined(f.plan, "category").reindex(out.index).fillna("")
    out["templates"] = _joined(f.plan, "template").reindex(out.index).fillna("")
    out = out.reset_index()
    out["patient_id"] = out["patient_id"].astype(str)  # the frames' categorical, as text
    out.attrs["caveats"] = list(CAVEATS)
    return out


def _membership(plan: pd.DataFrame, column: str, patients: pd.Series) -> pd.DataFrame:
    used = plan.loc[plan["status"].isin(_USED) & plan[column].notna(), ["patient_id", column]]
    used = used.drop_duplicates().rename(columns={column: "group"})
    missing = patients[~patients.isin(used["patient_id"])]
    none = pd.DataFrame({"patient_id": missing, "group": NO_PLAN})
    return pd.concat([used, none], ignore_index=True)


def _group_names(by: str, catalog: Catalog) -> dict[str, str]:
    if by == "template":
        return {p.key: p.name for p in catalog.protocols}
    return {c: c.replace("_", " ").capitalize() for c in {p.category for p in catalog.protocols}}


def outcomes_by_group(
    source: Iterable[Case] | ClinicFrames | pd.DataFrame,
    catalog: Catalog,
    *,
    by: Literal["category", "template"] = "template",
    min_patients: int = 5,
    plan: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per (group, measure): patients, follow-up and loss to follow-up, the median
    change with its interquartile range, and the share improved by at least the MID.

    `source` may be the cases, their clinic frames, or an `outcomes_by_patient` frame
    (then pass the clinic frames' `plan` as `plan`). A patient with no plan item is in the
    group "(no plan item)". Figures from fewer than `min_patients` patients are NaN, with
    the reason in `note`.
    """
    if by not in ("category", "template"):
        raise ClinicError(f"by: must be 'category' or 'template' (got {by!r})")
    if isinstance(min_patients, bool) or not isinstance(min_patients, int) or min_patients < 1:
        raise ClinicError(
            f"min_patients: must be a whole number of at least 1 (got {min_patients!r})"
        )
    if isinstance(source, pd.DataFrame):
        if plan is None:
            raise ClinicError("plan: needed with a per-patient frame (the clinic frames' plan)")
        per_patient = source
    else:
        frames = as_frames(source, catalog)
        per_patient, plan = outcomes_by_patient(frames, catalog), frames.plan
    members = _membership(plan, by, per_patient["patient_id"])
    measures = outcome_measures(catalog)
    mids = load_mids()
    changes = per_patient.melt(
        id_vars=["patient_id", "followed_up"],
        value_vars=[f"{m}_change" for m in measures],
        var_name="measure",
        value_name="change",
    )
    changes["measure"] = changes["measure"].str.removesuffix("_change")
    changes["change"] = changes["change"].astype("float64")
    mid_points = (
        changes["measure"]
        .map({k: m.points for k, m in mids.items() if m.points is not None})
        .astype("float64")
    )
    better = changes["measure"].map(
        {
            k: (catalog.instruments[k].higher_is_worse if k in catalog.instruments else True)
            for k in measures
        }
    )
    improved = np.where(better, changes["change"] <= -mid_points, changes["change"] >= mid_points)
    changes["improved"] = pd.Series(improved, index=changes.index, dtype="float64").where(
        changes["change"].notna() & mid_points.notna()
    )
    long = members.merge(changes, on="patient_id")
    g = long.groupby(["group", "measure"], sort=False)
    out = g.agg(
        n_patients=("patient_id", "size"),
        n_followed_up=("followed_up", "sum"),
        n_measured=("change", "count"),
        median_change=("change", "median"),
        improved_share=("improved", "mean"),
    )
    out["q1_change"] = g["change"].quantile(0.25)
    out["q3_change"] = g["change"].quantile(0.75)
    out = out.reset_index()
    out["n_lost_to_follow_up"] = out["n_patients"] - out["n_followed_up"]
    small = out["n_measured"] < min_patients
    figures = ["median_change", "q1_change", "q3_change", "improved_share"]
    out.loc[small, figures] = np.nan
    out["mid"] = out["measure"].map({k: m.points for k, m in mids.items()}).astype("float64")
    out["mid_source"] = out["measure"].map({k: m.source for k, m in mids.items()}).fillna("")
    out["note"] = np.where(
        small,
        f"not shown: fewer than {min_patients} patients with baseline and follow-up",
        np.where(out["mid"].isna(), "no established MID: no share shown", ""),
    )
    names = _group_names(by, catalog)
    out.insert(0, "by", by)
    out.insert(2, "group_name", out["group"].map(lambda k: names.get(k, k)))
    out.insert(4, "measure_name", out["measure"].map(measures))
    order = {m: i for i, m in enumerate(measures)}
    out = out.sort_values(
        ["group", "measure"],
        key=lambda s: s.map(order) if s.name == "measure" else s,
        ignore_index=True,
    )
    out = out[
        [
            "by",
            "group",
            "group_name",
            "measure",
            "measure_name",
            "n_patients",
            "n_followed_up",
            "n_lost_to_follow_up",
            "n_measured",
            "median_change",
            "q1_change",
            "q3_change",
            "mid",
            "improved_share",
            "note",
            "mid_source",
        ]
    ]
    out.attrs["caveats"] = list(CAVEATS)
    out.attrs["min_patients"] = min_patients
    return out
