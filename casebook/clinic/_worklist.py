"""The practitioner's worklist: one row per thing to do across all patients, most urgent first.

Pure: red-flag states and reviewed results are passed in (the store keeps them). Every
`detail` is built from the one patient's own record and never names another patient. A red
flag and the results it cites are one item: the result's own rows (to review, re-test due)
are folded into the flag's while it is open. The kinds, their order and words are
`_kinds.KIND_TABLE`; `_todo` folds the items by patient.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date

import numpy as np
import pandas as pd

from casebook.catalog import Catalog
from casebook.clinic._cautions import caution_rows
from casebook.clinic._kinds import KINDS, kind_of
from casebook.clinic._rows import (
    PART,
    day_text,
    flag_words,
    part,
    retest_rows,
    worsening_rows,
)
from casebook.clinical.flag_lifecycle import FlagStatus, flag_statuses
from casebook.clinical.red_flags import RedFlag, red_flags
from casebook.clinical.vocabulary import Urgency
from casebook.errors import ClinicError
from casebook.interop.frames import ClinicFrames, as_frames
from casebook.models import CHECKIN, Case

__all__ = ["FLAG_STATES", "URGENCIES", "WORKLIST_COLUMNS", "worklist"]

URGENCIES: tuple[Urgency, ...] = tuple(Urgency)  # the ranking, most urgent first
FLAG_STATES: tuple[str, ...] = ("open", "acknowledged", "referred", "resolved")
WORKLIST_COLUMNS = ["patient_id", "name", "kind", "urgency", "detail", "since", "ref"]


def _raised(
    frames: ClinicFrames,
    catalog: Catalog,
    today: date,
    flags: Mapping[str, Sequence[RedFlag]] | None,
    states: Mapping[tuple[str, str], str],
) -> list[tuple[str, FlagStatus]]:
    """(patient id, status) of every open red flag."""
    for (pid, key), state in states.items():
        if state not in FLAG_STATES:
            raise ClinicError(
                f"flag_states[({pid!r}, {key!r})]: unknown state {state!r} "
                f"(one of {', '.join(FLAG_STATES)})"
            )
    if flags is None:
        if not frames.cases and len(frames.patients):
            raise ClinicError("flags: needed when the clinic frames carry no cases")
        flags = {
            c.patient.id: red_flags(
                c, catalog.red_flags, catalog.instruments, catalog.tests, today=today
            )
            for c in frames.cases
        }
    return [
        (pid, s)
        for pid, found in flags.items()
        for s in flag_statuses(found, (), today=today)
        if states.get((pid, s.flag.key), "open") == "open"
    ]


def _flag_rows(raised: Sequence[tuple[str, FlagStatus]]) -> pd.DataFrame:
    # the lifecycle's urgency (an old same-day answer is urgent, to review), as every view
    rows = [
        (
            pid,
            "red-flag",
            s.urgency,
            f"{s.flag.reason} ({s.age_note})" if s.aged else s.flag.reason,
            s.flag.on,
            s.flag.key,
        )
        for pid, s in raised
    ]
    df = pd.DataFrame.from_records(rows, columns=PART)
    df["since"] = pd.to_datetime(df["since"]).astype("datetime64[ns]")
    return df


_FOLDED = ("result-to-review", "result-in-range", "follow-up-due")  # rows about one result


def _fold_into_flags(rows: pd.DataFrame, raised: Sequence[tuple[str, FlagStatus]]) -> pd.DataFrame:
    """A red flag and its own result are one item: rows about a result an open flag cites
    (to review, re-test due) leave the list and the flag's detail says what they were."""
    cites = {(pid, rid): s.flag.key for pid, s in raised for rid in s.flag.results}
    if not cites:
        return rows
    key = pd.Series(list(zip(rows["patient_id"], rows["ref"], strict=True)), index=rows.index)
    folded = rows["kind"].isin(_FOLDED) & key.isin(list(cites))
    if not folded.any():
        return rows
    also: dict[tuple[str, str], list[str]] = {}
    for k, kind in zip(key[folded], rows.loc[folded, "kind"], strict=True):
        label = kind_of(kind).label.lower()
        if label not in also.setdefault((k[0], cites[k]), []):
            also[(k[0], cites[k])].append(label)
    extra = key.map({k: " · also: " + ", ".join(v) for k, v in also.items()})
    extra = extra.where(rows["kind"] == "red-flag").fillna("")
    out = rows.assign(detail=rows["detail"] + extra)
    return out[~folded]


def _result_rows(
    frames: ClinicFrames, today: pd.Timestamp, reviewed: Collection[str]
) -> pd.DataFrame:
    r = frames.results
    done = r["result_id"].isin(list(reviewed))
    if "reviewed" in r.columns:  # marked reviewed in the store
        done |= r["reviewed"].astype(bool)
    r = r[(r["collected_on"] <= today) & ~done]
    flag = flag_words(r["flag"])
    shown_flag = (" (" + flag + ")").fillna("")
    detail = r["test_name"] + " " + r["shown"] + shown_flag + " on " + day_text(r["collected_on"])
    urgency = np.where(flag.notna(), Urgency.SOON, Urgency.ROUTINE)
    kind = np.where(flag.notna(), "result-to-review", "result-in-range")
    return part(
        pd.Series(kind, index=r.index, dtype=object),
        r,
        pd.Series(urgency, index=r.index),
        detail,
        r["collected_on"],
        r["result_id"],
    )


def _test_names(catalog: Catalog, tests: pd.Series) -> pd.Series:
    """The catalog name of each test key (the key itself when the catalog has none)."""
    keys = tests.astype(object)
    return keys.map({k: t.name for k, t in catalog.tests.items()}).fillna(keys).astype(str)


def _overdue_rows(
    frames: ClinicFrames, catalog: Catalog, today: pd.Timestamp, overdue_days: int
) -> pd.DataFrame:
    o = frames.orders
    o = o[
        o["status"].isin(("ordered", "collected"))
        & ~o["resulted"]
        & (o["ordered_on"] < today - pd.Timedelta(days=overdue_days))
    ]
    days = (today - o["ordered_on"]).dt.days.astype(str)
    detail = (
        _test_names(catalog, o["test"])
        + " ordered "
        + day_text(o["ordered_on"])
        + ", no result after "
        + days
        + " days"
    )
    return part("test-overdue", o, Urgency.SOON, detail, o["ordered_on"], o["order_id"])


def _plan_rows(frames: ClinicFrames, today: pd.Timestamp, within: int) -> pd.DataFrame:
    p = frames.plan
    p = p[
        (p["status"] == "active")
        & p["end"].notna()
        & (p["end"] <= today + pd.Timedelta(days=within))
    ]
    verb = np.where(p["end"] < today, ": ended ", ": ends ")
    detail = p["name"] + pd.Series(verb, index=p.index) + day_text(p["end"]) + ", review the plan"
    return part("follow-up-due", p, Urgency.ROUTINE, detail, p["end"], p["item_id"])


def _no_visit_rows(frames: ClinicFrames, today: pd.Timestamp, interval: int) -> pd.DataFrame:
    """A patient on an active plan not seen for `interval` days: a check-in the patient sent
    is not a visit (it asks for one all the more)."""
    visits = frames.visits
    v = visits[(visits["visit_date"] <= today) & (visits["kind"] != CHECKIN)]
    last = v.groupby("patient_id", as_index=False, observed=True)["visit_date"].max()
    active = frames.plan.loc[frames.plan["status"] == "active", "patient_id"].unique()
    last = last[
        last["patient_id"].isin(active) & (last["visit_date"] < today - pd.Timedelta(days=interval))
    ]
    days = (today - last["visit_date"]).dt.days.astype(str)
    detail = "No visit since " + day_text(last["visit_date"]) + " (" + days + " days); plan active"
    return part(
        "follow-up-due",
        last,
        Urgency.ROUTINE,
        detail,
        last["visit_date"],
        pd.Series("", index=last.index),
    )


def _unreadable_rows(frames: ClinicFrames) -> pd.DataFrame:
    """One row per patient whose stored record does not validate: they are left out of
    every other row, so their flags and results go unseen until the record is fixed."""
    ids = pd.Series([u.patient_id for u in frames.unreadable], dtype=object)
    detail = pd.Series(
        [
            f"Record cannot be read ({u.reason}); this patient's flags and results are not "
            "shown until it is fixed"
            for u in frames.unreadable
        ],
        dtype=object,
    )
    return part(
        "record-unreadable",
        pd.DataFrame({"patient_id": ids}),
        Urgency.URGENT,
        detail,
        pd.Series(pd.NaT, index=ids.index, dtype="datetime64[ns]"),
        pd.Series("", index=ids.index, dtype=object),
    )


def _non_negative(**values: int) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ClinicError(f"{name}: must be a whole number of days, 0 or more (got {value!r})")


def worklist(
    source: Iterable[Case] | ClinicFrames,
    catalog: Catalog,
    *,
    today: date,
    flag_states: Mapping[tuple[str, str], str] | None = None,
    reviewed_results: Collection[str] | None = None,
    flags: Mapping[str, Sequence[RedFlag]] | None = None,
    overdue_days: int = 30,
    due_within_days: int = 14,
    retest_days: int = 90,
    visit_interval_days: int = 60,
    min_worsening: float = 1,
    checkins: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Everything to act on, most urgent first: patient_id, name, kind, urgency, detail,
    since, ref (the rule key, result, order, plan item or visit the row is about).

    - red-flag: red flags (computed now, or `flags` by patient id) whose state in
      `flag_states[(patient_id, rule_key)]` is open (absent = open); the rows about a
      result the flag cites are folded into it (" · also: result out of range");
    - record-unreadable (urgent): a patient the store's bulk read left out because a stored
      record of theirs does not validate, with the reason (record kind, id and field);
    - caution-review: plan items in force with a caution not validly confirmed (a safety
      fact, medicine, allergy or age recorded after the item, or an imported item);
    - result-to-review (soon) / result-in-range (routine, not a decision: signed off in
      bulk): results outside / inside their range, not marked reviewed in the store and
      not in `reviewed_results` (result ids);
    - check-in-to-review: `checkins` rows (patient_id, kind, urgency, detail, since, ref)
      of check-ins the patients submitted and no practitioner accepted or reviewed yet;
    - test-overdue: ordered or collected more than `overdue_days` ago and not resulted;
    - follow-up-due: active plan items ending within `due_within_days` (or ended), flagged
      results not repeated for `retest_days`, and no visit for `visit_interval_days` while
      a plan is active;
    - worsening: symptom burden or an instrument score worse (by `min_worsening`, in the
      instrument's own direction) at the latest visit than at the previous one.
    Nothing dated after `today` is used.
    """
    _non_negative(
        overdue_days=overdue_days,
        due_within_days=due_within_days,
        retest_days=retest_days,
        visit_interval_days=visit_interval_days,
    )
    if not isinstance(today, date):
        raise ClinicError(f"today: must be a date (got {type(today).__name__})")
    frames = as_frames(source, catalog)
    now = pd.Timestamp(today)
    raised = _raised(frames, catalog, today, flags, flag_states or {})
    parts = [
        _flag_rows(raised),
        _unreadable_rows(frames),
        caution_rows(frames, catalog, today),
        _result_rows(frames, now, reviewed_results or ()),
        _overdue_rows(frames, catalog, now, overdue_days),
        worsening_rows(frames, catalog, now, min_worsening),
        _plan_rows(frames, now, due_within_days),
        retest_rows(frames, catalog, now, retest_days),
        _no_visit_rows(frames, now, visit_interval_days),
        pd.DataFrame(columns=PART) if checkins is None else checkins[PART],
    ]
    rows = (
        pd.concat([p for p in parts if len(p)], ignore_index=True)
        if any(len(p) for p in parts)
        else pd.DataFrame(columns=PART)
    )
    rows["since"] = pd.to_datetime(rows["since"]).astype("datetime64[ns]")
    rows["patient_id"] = rows["patient_id"].astype(str)
    rows["ref"] = rows["ref"].astype(str)
    rows = _fold_into_flags(rows, raised)
    names = frames.patients.set_index(frames.patients["patient_id"].astype(str))["name"]
    unreadable = pd.Series({u.patient_id: u.name for u in frames.unreadable}, dtype=object)
    rows["name"] = rows["patient_id"].map(pd.concat([names.astype(object), unreadable]))
    # plain text in the frame (the stored spelling), whatever the parts held
    rows["urgency"] = rows["urgency"].map({u: u.value for u in URGENCIES})
    rows["_u"] = rows["urgency"].map({u: u.rank for u in URGENCIES})
    rows["_k"] = rows["kind"].map({k: i for i, k in enumerate(KINDS)})
    rows = rows.sort_values(
        ["_u", "_k", "since", "patient_id"], na_position="last", kind="stable", ignore_index=True
    )
    out = rows[WORKLIST_COLUMNS]
    out.attrs["today"] = today.isoformat()
    return out
