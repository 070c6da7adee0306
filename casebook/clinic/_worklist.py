"""The practitioner's worklist: one row per thing to do across all patients, most urgent first.

Pure: red-flag states and reviewed results are passed in (the store keeps them). Every
`detail` is built from the one patient's own record and never names another patient.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date

import numpy as np
import pandas as pd

from casebook.catalog import Catalog
from casebook.clinic._data import ClinicError, ClinicFrames, as_frames, join_per_patient
from casebook.clinic._outcomes import outcome_measures
from casebook.models import Case
from casebook.redflags import RedFlag, red_flags

__all__ = ["FLAG_STATES", "KINDS", "URGENCIES", "WORKLIST_COLUMNS", "worklist"]

URGENCIES: tuple[str, ...] = ("same-day", "urgent", "soon", "routine")
KINDS: tuple[str, ...] = ("red-flag", "result-to-review", "test-overdue", "worsening",
                          "follow-up-due")
FLAG_STATES: tuple[str, ...] = ("open", "acknowledged", "referred", "resolved")
WORKLIST_COLUMNS = ["patient_id", "name", "kind", "urgency", "detail", "since", "ref"]
_RULE_URGENCY = {"same_day": "same-day", "urgent": "urgent", "routine": "routine"}
_FLAG_WORDS = {"H": "high", "L": "low", "A": "abnormal"}
_PART = ["patient_id", "kind", "urgency", "detail", "since", "ref"]


def _day(s: pd.Series) -> pd.Series:
    """YYYY-MM-DD text of a datetime column, vectorised in numpy (`dt.strftime` formats
    each value in Python); missing dates give "NaT"."""
    text = s.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(str)
    return pd.Series(text, index=s.index, dtype=object)


def _whole(s: pd.Series) -> pd.Series:
    """Whole-number text of a float column without a Python format call per value."""
    return pd.Series(s.round().astype("int64").astype(str).to_numpy(), index=s.index,
                     dtype=object)


def _part(kind: str, df: pd.DataFrame, urgency: str | pd.Series, detail: pd.Series,
          since: pd.Series, ref: pd.Series) -> pd.DataFrame:
    return pd.DataFrame({"patient_id": df["patient_id"], "kind": kind, "urgency": urgency,
                         "detail": detail, "since": since, "ref": ref})[_PART]


def _flag_rows(frames: ClinicFrames, catalog: Catalog, today: date,
               flags: Mapping[str, Sequence[RedFlag]] | None,
               states: Mapping[tuple[str, str], str]) -> pd.DataFrame:
    for (pid, key), state in states.items():
        if state not in FLAG_STATES:
            raise ClinicError(f"flag_states[({pid!r}, {key!r})]: unknown state {state!r} "
                              f"(one of {', '.join(FLAG_STATES)})")
    if flags is None:
        if not frames.cases and len(frames.patients):
            raise ClinicError("flags: needed when the clinic frames carry no cases")
        flags = {c.patient.id: red_flags(c, catalog.red_flags, catalog.instruments,
                                         catalog.tests, today=today) for c in frames.cases}
    rows = [(pid, "red-flag", _RULE_URGENCY.get(f.urgency, "urgent"), f.reason, f.on, f.key)
            for pid, found in flags.items() for f in found
            if states.get((pid, f.key), "open") == "open"]
    df = pd.DataFrame.from_records(rows, columns=_PART)
    df["since"] = pd.to_datetime(df["since"]).astype("datetime64[ns]")
    return df


def _result_rows(frames: ClinicFrames, today: pd.Timestamp,
                 reviewed: Collection[str]) -> pd.DataFrame:
    r = frames.results
    done = r["result_id"].isin(list(reviewed))
    if "reviewed" in r.columns:  # marked reviewed in the store
        done |= r["reviewed"].astype(bool)
    r = r[(r["collected_on"] <= today) & ~done]
    flag = r["flag"].map(_FLAG_WORDS)
    detail = (r["test_name"] + " " + r["shown"] + flag.map(" ({})".format).fillna("")
              + " on " + _day(r["collected_on"]))
    urgency = np.where(flag.notna(), "soon", "routine")
    return _part("result-to-review", r, pd.Series(urgency, index=r.index), detail,
                 r["collected_on"], r["result_id"])


def _test_names(catalog: Catalog) -> dict[str, str]:
    return {k: t.name for k, t in catalog.tests.items()}


def _overdue_rows(frames: ClinicFrames, catalog: Catalog, today: pd.Timestamp,
                  overdue_days: int) -> pd.DataFrame:
    o = frames.orders
    o = o[o["status"].isin(("ordered", "collected")) & ~o["resulted"]
          & (o["ordered_on"] < today - pd.Timedelta(days=overdue_days))]
    days = (today - o["ordered_on"]).dt.days.astype(str)
    detail = (o["test"].map(_test_names(catalog)).fillna(o["test"]) + " ordered "
              + _day(o["ordered_on"]) + ", no result after " + days + " days")
    return _part("test-overdue", o, "soon", detail, o["ordered_on"], o["order_id"])


def _plan_rows(frames: ClinicFrames, today: pd.Timestamp, within: int) -> pd.DataFrame:
    p = frames.plan
    p = p[(p["status"] == "active") & p["end"].notna()
          & (p["end"] <= today + pd.Timedelta(days=within))]
    verb = np.where(p["end"] < today, ": ended ", ": ends ")
    detail = p["name"] + pd.Series(verb, index=p.index) + _day(p["end"]) + ", review the plan"
    return _part("follow-up-due", p, "routine", detail, p["end"], p["item_id"])


def _retest_rows(frames: ClinicFrames, catalog: Catalog, today: pd.Timestamp,
                 retest_days: int) -> pd.DataFrame:
    r = frames.results[frames.results["collected_on"] <= today]
    last = r.sort_values("collected_on").drop_duplicates(["patient_id", "test"], keep="last")
    o = frames.orders
    pending = o.loc[o["status"].isin(("ordered", "collected")) & ~o["resulted"],
                    ["patient_id", "test"]].drop_duplicates()
    last = last.merge(pending, on=["patient_id", "test"], how="left", indicator=True)
    due = last[last["flag"].notna() & (last["_merge"] == "left_only")
               & (last["collected_on"] <= today - pd.Timedelta(days=retest_days))]
    detail = ("Re-test due: " + due["test_name"] + " was " + due["shown"] + " ("
              + due["flag"].map(_FLAG_WORDS) + ") on " + _day(due["collected_on"])
              + ", no repeat since")
    return _part("follow-up-due", due, "routine", detail, due["collected_on"], due["result_id"])


def _no_visit_rows(frames: ClinicFrames, today: pd.Timestamp, interval: int) -> pd.DataFrame:
    v = frames.visits[frames.visits["visit_date"] <= today]
    last = v.groupby("patient_id", as_index=False)["visit_date"].max()
    active = frames.plan.loc[frames.plan["status"] == "active", "patient_id"].unique()
    last = last[last["patient_id"].isin(active)
                & (last["visit_date"] < today - pd.Timedelta(days=interval))]
    days = (today - last["visit_date"]).dt.days.astype(str)
    detail = "No visit since " + _day(last["visit_date"]) + " (" + days + " days); plan active"
    return _part("follow-up-due", last, "routine", detail, last["visit_date"],
                 pd.Series("", index=last.index))


def _worsening_rows(frames: ClinicFrames, catalog: Catalog, today: pd.Timestamp,
                    min_change: float) -> pd.DataFrame:
    v = frames.visits[frames.visits["visit_date"] <= today]
    measures = outcome_measures(catalog)
    burden = v.loc[v["burden"].notna(), ["patient_id", "visit_id", "visit_date", "seq"]].assign(
        measure="burden", value=v["burden"])
    s = frames.scores[frames.scores["instrument"].isin(list(measures))].merge(
        v[["visit_id", "seq"]], on="visit_id")
    s = s.rename(columns={"instrument": "measure", "total": "value"})
    m = pd.concat([burden, s[burden.columns]], ignore_index=True).sort_values(
        ["patient_id", "measure", "seq"]).drop_duplicates(["visit_id", "measure"], keep="last")
    g = m.groupby(["patient_id", "measure"], sort=False)
    m["prev"], m["prev_date"] = g["value"].shift(), g["visit_date"].shift()
    latest = v.groupby("patient_id")["seq"].max()
    m = m[m["prev"].notna() & (m["seq"] == m["patient_id"].map(latest))]
    worse_up = m["measure"].map({k: (catalog.instruments[k].higher_is_worse
                                     if k in catalog.instruments else True) for k in measures})
    delta = m["value"] - m["prev"]
    m = m[np.where(worse_up, delta >= min_change, delta <= -min_change)]
    if m.empty:
        return pd.DataFrame(columns=_PART)
    m = m.assign(text=m["measure"].map(measures) + " " + _whole(m["prev"]) + " → "
                 + _whole(m["value"]) + " (since " + _day(m["prev_date"]) + ")")
    per = m.drop_duplicates("patient_id")[["patient_id", "visit_date", "visit_id"]]
    per = per.rename(columns={"visit_date": "since", "visit_id": "ref"})
    per["text"] = per["patient_id"].map(join_per_patient(m, "text"))
    return _part("worsening", per, "soon", "Worse at the latest visit: " + per["text"],
                 per["since"], per["ref"])


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
) -> pd.DataFrame:
    """Everything to act on, most urgent first: patient_id, name, kind, urgency, detail,
    since, ref (the rule key, result, order, plan item or visit the row is about).

    - red-flag: red flags (computed now, or `flags` by patient id) whose state in
      `flag_states[(patient_id, rule_key)]` is open (absent = open);
    - result-to-review: results not marked reviewed in the store and not in
      `reviewed_results` (result ids), flagged ones first;
    - test-overdue: ordered or collected more than `overdue_days` ago and not resulted;
    - follow-up-due: active plan items ending within `due_within_days` (or ended), flagged
      results not repeated for `retest_days`, and no visit for `visit_interval_days` while
      a plan is active;
    - worsening: symptom burden or an instrument score worse (by `min_worsening`, in the
      instrument's own direction) at the latest visit than at the previous one.
    Nothing dated after `today` is used.
    """
    _non_negative(overdue_days=overdue_days, due_within_days=due_within_days,
                  retest_days=retest_days, visit_interval_days=visit_interval_days)
    if not isinstance(today, date):
        raise ClinicError(f"today: must be a date (got {type(today).__name__})")
    frames = as_frames(source, catalog)
    now = pd.Timestamp(today)
    parts = [
        _flag_rows(frames, catalog, today, flags, flag_states or {}),
        _result_rows(frames, now, reviewed_results or ()),
        _overdue_rows(frames, catalog, now, overdue_days),
        _worsening_rows(frames, catalog, now, min_worsening),
        _plan_rows(frames, now, due_within_days),
        _retest_rows(frames, catalog, now, retest_days),
        _no_visit_rows(frames, now, visit_interval_days),
    ]
    rows = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(
        len(p) for p in parts) else pd.DataFrame(columns=_PART)
    rows["since"] = pd.to_datetime(rows["since"]).astype("datetime64[ns]")
    rows = rows.merge(frames.patients, on="patient_id", how="left")
    rows["_u"] = rows["urgency"].map({u: i for i, u in enumerate(URGENCIES)})
    rows["_k"] = rows["kind"].map({k: i for i, k in enumerate(KINDS)})
    rows = rows.sort_values(["_u", "_k", "since", "patient_id"], na_position="last",
                            kind="stable", ignore_index=True)
    out = rows[WORKLIST_COLUMNS]
    out.attrs["today"] = today.isoformat()
    return out

