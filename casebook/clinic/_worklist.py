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
from casebook.clinic._outcomes import outcome_measures
from casebook.clinical.flag_lifecycle import flag_statuses
from casebook.clinical.red_flags import RedFlag, red_flags
from casebook.clinical.vocabulary import RESULT_FLAG_WORDS, Urgency
from casebook.errors import ClinicError
from casebook.interop.frames import ClinicFrames, as_frames, join_per_patient
from casebook.models import Case

__all__ = ["FLAG_STATES", "KINDS", "URGENCIES", "WORKLIST_COLUMNS", "worklist"]

URGENCIES: tuple[Urgency, ...] = tuple(Urgency)  # the ranking, most urgent first
KINDS: tuple[str, ...] = (
    "red-flag",
    "record-unreadable",
    "result-to-review",
    "check-in-to-review",
    "test-overdue",
    "worsening",
    "follow-up-due",
)
FLAG_STATES: tuple[str, ...] = ("open", "acknowledged", "referred", "resolved")
WORKLIST_COLUMNS = ["patient_id", "name", "kind", "urgency", "detail", "since", "ref"]
_PART = ["patient_id", "kind", "urgency", "detail", "since", "ref"]


def _day(s: pd.Series) -> pd.Series:
    """YYYY-MM-DD text of a datetime column, vectorised in numpy (`dt.strftime` formats
    each value in Python); missing dates give "NaT"."""
    text = s.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(str)
    return pd.Series(text, index=s.index, dtype=object)


def _whole(s: pd.Series) -> pd.Series:
    """Whole-number text of a float column without a Python format call per value."""
    return pd.Series(s.round().astype("int64").astype(str).to_numpy(), index=s.index, dtype=object)


def _part(
    kind: str,
    df: pd.DataFrame,
    urgency: str | pd.Series,
    detail: pd.Series,
    since: pd.Series,
    ref: pd.Series,
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "patient_id": df["patient_id"],
            "kind": kind,
            "urgency": urgency,
            "detail": detail,
            "since": since,
            "ref": ref,
        }
    )[_PART]


def _flag_rows(
    frames: ClinicFrames,
    catalog: Catalog,
    today: date,
    flags: Mapping[str, Sequence[RedFlag]] | None,
    states: Mapping[tuple[str, str], str],
) -> pd.DataFrame:
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
        for pid, found in flags.items()
        for s in flag_statuses(found, (), today=today)
        if states.get((pid, s.flag.key), "open") == "open"
    ]
    df = pd.DataFrame.from_records(rows, columns=_PART)
    df["since"] = pd.to_datetime(df["since"]).astype("datetime64[ns]")
    return df


def _flag_words(flag: pd.Series) -> pd.Series:
    """'high', 'low', 'abnormal' or missing, as text, for a (categorical) flag column."""
    return flag.astype(object).map(RESULT_FLAG_WORDS)


def _result_rows(
    frames: ClinicFrames, today: pd.Timestamp, reviewed: Collection[str]
) -> pd.DataFrame:
    r = frames.results
    done = r["result_id"].isin(list(reviewed))
    if "reviewed" in r.columns:  # marked reviewed in the store
        done |= r["reviewed"].astype(bool)
    r = r[(r["collected_on"] <= today) & ~done]
    flag = _flag_words(r["flag"])
    shown_flag = (" (" + flag + ")").fillna("")
    detail = r["test_name"] + " " + r["shown"] + shown_flag + " on " + _day(r["collected_on"])
    urgency = np.where(flag.notna(), Urgency.SOON, Urgency.ROUTINE)
    return _part(
        "result-to-review",
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
        + _day(o["ordered_on"])
        + ", no result after "
        + days
        + " days"
    )
    return _part("test-overdue", o, Urgency.SOON, detail, o["ordered_on"], o["order_id"])


def _plan_rows(frames: ClinicFrames, today: pd.Timestamp, within: int) -> pd.DataFrame:
    p = frames.plan
    p = p[
        (p["status"] == "active")
        & p["end"].notna()
        & (p["end"] <= today + pd.Timedelta(days=within))
    ]
    verb = np.where(p["end"] < today, ": ended ", ": ends ")
    detail = p["name"] + pd.Series(verb, index=p.index) + _day(p["end"]) + ", review the plan"
    return _part("follow-up-due", p, Urgency.ROUTINE, detail, p["end"], p["item_id"])


def _codes(s: pd.Series) -> np.ndarray:
    """The integer codes of a categorical id column (shared across the clinic frames)."""
    return np.asarray(s.cat.codes, dtype=np.int64)


def _retest_rows(
    frames: ClinicFrames, catalog: Catalog, today: pd.Timestamp, retest_days: int
) -> pd.DataFrame:
    r = frames.results[frames.results["collected_on"] <= today]
    tests = len(r["test"].cat.categories) + 1
    key = pd.Series(_codes(r["patient_id"]) * tests + _codes(r["test"]), index=r.index)
    last = r.loc[
        key.loc[r["collected_on"].sort_values(kind="stable").index]
        .drop_duplicates(keep="last")
        .index
    ]
    o = frames.orders
    o = o[o["status"].isin(("ordered", "collected")) & ~o["resulted"]]
    pending = _codes(o["patient_id"]) * tests + _codes(o["test"])
    due = last[
        last["flag"].notna()
        & ~np.isin(_codes(last["patient_id"]) * tests + _codes(last["test"]), pending)
        & (last["collected_on"] <= today - pd.Timedelta(days=retest_days))
    ]
    due = due.sort_values(["patient_id", "collected_on"], kind="stable")
    detail = (
        "Re-test due: "
        + due["test_name"]
        + " was "
        + due["shown"]
        + " ("
        + _flag_words(due["flag"])
        + ") on "
        + _day(due["collected_on"])
        + ", no repeat since"
    )
    return _part(
        "follow-up-due", due, Urgency.ROUTINE, detail, due["collected_on"], due["result_id"]
    )


def _no_visit_rows(frames: ClinicFrames, today: pd.Timestamp, interval: int) -> pd.DataFrame:
    v = frames.visits[frames.visits["visit_date"] <= today]
    last = v.groupby("patient_id", as_index=False, observed=True)["visit_date"].max()
    active = frames.plan.loc[frames.plan["status"] == "active", "patient_id"].unique()
    last = last[
        last["patient_id"].isin(active) & (last["visit_date"] < today - pd.Timedelta(days=interval))
    ]
    days = (today - last["visit_date"]).dt.days.astype(str)
    detail = "No visit since " + _day(last["visit_date"]) + " (" + days + " days); plan active"
    return _part(
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
    return _part(
        "record-unreadable",
        pd.DataFrame({"patient_id": ids}),
        Urgency.URGENT,
        detail,
        pd.Series(pd.NaT, index=ids.index, dtype="datetime64[ns]"),
        pd.Series("", index=ids.index, dtype=object),
    )


def _worsening_rows(
    frames: ClinicFrames, catalog: Catalog, today: pd.Timestamp, min_change: float
) -> pd.DataFrame:
    """Each measure at the latest visit against its previous value, in numpy over the id
    codes: one stable sort by (patient, measure, visit), then neighbours compared."""
    v = frames.visits[frames.visits["visit_date"] <= today]
    measures = outcome_measures(catalog)
    keys = sorted(measures)  # a patient's changes are told in this order
    visit_seq = np.full(len(v["visit_id"].cat.categories), -1, dtype=np.int64)
    visit_seq[_codes(v["visit_id"])] = v["seq"].to_numpy()
    rated = v[v["burden"].notna()]
    s = frames.scores[frames.scores["instrument"].isin(keys)]
    s_seq = visit_seq[_codes(s["visit_id"])]
    s = s[s_seq >= 0]  # a visit after today is not used
    code = {k: i for i, k in enumerate(keys)}
    pid = np.concatenate([_codes(rated["patient_id"]), _codes(s["patient_id"])])
    measure = np.concatenate(
        [np.full(len(rated), code["burden"]), s["instrument"].map(code).to_numpy(dtype=np.int64)]
    )
    seq = np.concatenate([rated["seq"].to_numpy(), s_seq[s_seq >= 0]])
    value = np.concatenate(
        [rated["burden"].to_numpy(dtype="float64"), s["total"].to_numpy(dtype="float64")]
    )
    when = np.concatenate([rated["visit_date"].to_numpy(), s["visit_date"].to_numpy()])
    visit = np.concatenate([_codes(rated["visit_id"]), _codes(s["visit_id"])])
    if not len(pid):
        return pd.DataFrame(columns=_PART)
    order = np.lexsort((seq, measure, pid))  # stable: of two answers at a visit, the later
    pid, measure, seq, value, when, visit = (
        a[order] for a in (pid, measure, seq, value, when, visit)
    )
    same = (pid[1:] == pid[:-1]) & (measure[1:] == measure[:-1])
    last_at_visit = np.append(~(same & (seq[1:] == seq[:-1])), True)
    pid, measure, seq, value, when, visit = (
        a[last_at_visit] for a in (pid, measure, seq, value, when, visit)
    )
    latest = np.full(len(v["patient_id"].cat.categories), -1, dtype=np.int64)
    np.maximum.at(latest, _codes(v["patient_id"]), v["seq"].to_numpy())
    has_prev = np.append(False, (pid[1:] == pid[:-1]) & (measure[1:] == measure[:-1]))
    delta = value - np.append(np.nan, value[:-1])
    up = np.array(
        [catalog.instruments[k].higher_is_worse if k in catalog.instruments else True for k in keys]
    )[measure]
    worse = (
        has_prev & (seq == latest[pid]) & np.where(up, delta >= min_change, delta <= -min_change)
    )
    at = np.flatnonzero(worse)
    if not len(at):
        return pd.DataFrame(columns=_PART)
    patient_ids = v["patient_id"].cat.categories.to_numpy()
    m = pd.DataFrame(
        {
            "patient_id": patient_ids[pid[at]],
            "visit_date": when[at],
            "visit_id": v["visit_id"].cat.categories.to_numpy()[visit[at]],
            "text": (
                pd.Series(np.array([measures[k] for k in keys])[measure[at]], dtype=str)
                + " "
                + _whole(pd.Series(value[at - 1]))
                + " → "
                + _whole(pd.Series(value[at]))
                + " (since "
                + _day(pd.Series(when[at - 1]))
                + ")"
            ),
        }
    )
    per = m.drop_duplicates("patient_id")[["patient_id", "visit_date", "visit_id"]]
    per = per.rename(columns={"visit_date": "since", "visit_id": "ref"})
    per["text"] = per["patient_id"].map(join_per_patient(m, "text"))
    return _part(
        "worsening",
        per,
        Urgency.SOON,
        "Worse at the latest visit: " + per["text"],
        per["since"],
        per["ref"],
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
      `flag_states[(patient_id, rule_key)]` is open (absent = open);
    - record-unreadable (urgent): a patient the store's bulk read left out because a stored
      record of theirs does not validate, with the reason (record kind, id and field);
    - result-to-review: results not marked reviewed in the store and not in
      `reviewed_results` (result ids), flagged ones first;
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
    parts = [
        _flag_rows(frames, catalog, today, flags, flag_states or {}),
        _unreadable_rows(frames),
        _result_rows(frames, now, reviewed_results or ()),
        _overdue_rows(frames, catalog, now, overdue_days),
        _worsening_rows(frames, catalog, now, min_worsening),
        _plan_rows(frames, now, due_within_days),
        _retest_rows(frames, catalog, now, retest_days),
        _no_visit_rows(frames, now, visit_interval_days),
        pd.DataFrame(columns=_PART) if checkins is None else checkins[_PART],
    ]
    rows = (
        pd.concat([p for p in parts if len(p)], ignore_index=True)
        if any(len(p) for p in parts)
        else pd.DataFrame(columns=_PART)
    )
    rows["since"] = pd.to_datetime(rows["since"]).astype("datetime64[ns]")
    rows["patient_id"] = rows["patient_id"].astype(str)
    rows["ref"] = rows["ref"].astype(str)
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
