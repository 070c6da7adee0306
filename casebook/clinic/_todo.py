"""The worklist as a to-do list: the items a view shows, folded into one row per patient.

Pure, over `worklist()`'s items. The default view shows only what needs a decision (each
kind says whether it does, `_kinds.KIND_TABLE`); in-range results are counted apart and
signed off in bulk (`sign_off_choice` picks them, the store writes it).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import pandas as pd

from casebook.clinic._kinds import KIND_TABLE, KINDS, check_kinds
from casebook.clinical.vocabulary import Urgency
from casebook.errors import ClinicError
from casebook.interop.frames import ClinicFrames

__all__ = ["PATIENT_COLUMNS", "by_patient", "shown_items", "sign_off_choice"]

PATIENT_COLUMNS = ["patient_id", "name", "urgency", "todo", "items", "since"]
_DECISIONS = tuple(k.key for k in KIND_TABLE if k.decision)
_BULK = tuple(k.key for k in KIND_TABLE if k.bulk_sign_off)


def shown_items(
    items: pd.DataFrame, *, kinds: Collection[str] | None = None, everything: bool = False
) -> pd.DataFrame:
    """The items a view shows, in the worklist's order: those of `kinds` (all kinds when
    None), and of those only what needs a decision unless `everything` (or the kinds asked
    for by name include one that does not)."""
    chosen = check_kinds(kinds)
    keep = items["kind"].isin(list(KINDS if chosen is None else chosen))
    if not everything and chosen is None:
        keep &= items["kind"].isin(list(_DECISIONS))
    out = items[keep].reset_index(drop=True)
    out.attrs.update(items.attrs)
    return out


def by_patient(items: pd.DataFrame) -> pd.DataFrame:
    """One row per patient of `items` (as `shown_items` gives them), most urgent first:
    patient_id, name, urgency (their most urgent item's), todo (how many of each kind, in
    the kinds' order: "3 red flags · 1 overdue test"), items (how many), since (their
    oldest item's date). Patients tie on urgency by their most pressing kind, then by how
    many items they have (more first), then by id."""
    if items.empty:
        return pd.DataFrame(columns=PATIENT_COLUMNS)
    rank = {u.value: u.rank for u in Urgency}
    kind_rank = {k: i for i, k in enumerate(KINDS)}
    df = items.assign(_u=items["urgency"].map(rank), _k=items["kind"].map(kind_rank))
    counts = df.groupby(["patient_id", "_k"], sort=True).size()
    todo = {
        pid: " · ".join(KIND_TABLE[k].count(int(n)) for (_, k), n in group.items())
        for pid, group in counts.groupby(level=0)
    }
    per = df.groupby("patient_id", sort=False).agg(
        name=("name", "first"),
        _u=("_u", "min"),
        _k=("_k", "min"),
        items=("kind", "size"),
        since=("since", "min"),
    )
    per = per.reset_index()
    per["todo"] = per["patient_id"].map(todo)
    per["urgency"] = per["_u"].map({u.rank: u.value for u in Urgency})
    per = per.sort_values(
        ["_u", "_k", "items", "patient_id"], ascending=[True, True, False, True], kind="stable"
    )
    out = per[PATIENT_COLUMNS].reset_index(drop=True)
    out.attrs.update(items.attrs)
    return out


def sign_off_choice(
    items: pd.DataFrame, frames: ClinicFrames, *, patient_id: str | None = None
) -> dict[str, dict[str, int]]:
    """patient id -> {result id: stored version} of the in-range results on the list (one
    patient's with `patient_id`): what a bulk sign-off marks reviewed, each only if still
    at that version when it is written."""
    rows = items[items["kind"].isin(list(_BULK))]
    if patient_id is not None:
        if patient_id not in set(items["patient_id"]) | set(frames.patients["patient_id"]):
            raise ClinicError(f"patient: {patient_id!r} is not on the worklist")
        rows = rows[rows["patient_id"] == patient_id]
    results = frames.results
    version: Mapping[str, int] = dict(
        zip(results["result_id"].astype(str), results["version"].astype(int), strict=True)
    )
    out: dict[str, dict[str, int]] = {}
    for pid, ref in zip(rows["patient_id"], rows["ref"], strict=True):
        if ref in version:
            out.setdefault(str(pid), {})[str(ref)] = version[ref]
    return out
