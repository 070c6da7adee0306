"""Row builders of the worklist shared by its parts, and its two longer parts: re-tests due
and worsening scores. Pure, like `_worklist` (which assembles them)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from casebook.catalog import Catalog
from casebook.clinic._outcomes import outcome_measures
from casebook.clinical.vocabulary import RESULT_FLAG_WORDS, Urgency
from casebook.interop.frames import ClinicFrames, join_per_patient

__all__ = [
    "PART",
    "day_text",
    "flag_words",
    "id_codes",
    "part",
    "retest_rows",
    "whole_text",
    "worsening_rows",
]

PART = ["patient_id", "kind", "urgency", "detail", "since", "ref"]


def day_text(s: pd.Series) -> pd.Series:
    """YYYY-MM-DD text of a datetime column, vectorised in numpy (`dt.strftime` formats
    each value in Python); missing dates give "NaT"."""
    text = s.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(str)
    return pd.Series(text, index=s.index, dtype=object)


def whole_text(s: pd.Series) -> pd.Series:
    """Whole-number text of a float column without a Python format call per value."""
    return pd.Series(s.round().astype("int64").astype(str).to_numpy(), index=s.index, dtype=object)


def part(
    kind: str | pd.Series,
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
    )[PART]


def flag_words(flag: pd.Series) -> pd.Series:
    """'high', 'low', 'abnormal' or missing, as text, for a (categorical) flag column."""
    return flag.astype(object).map(RESULT_FLAG_WORDS)


def id_codes(s: pd.Series) -> np.ndarray:
    """The integer codes of a categorical id column (shared across the clinic frames)."""
    return np.asarray(s.cat.codes, dtype=np.int64)


def retest_rows(
    frames: ClinicFrames, catalog: Catalog, today: pd.Timestamp, retest_days: int
) -> pd.DataFrame:
    r = frames.results[frames.results["collected_on"] <= today]
    tests = len(r["test"].cat.categories) + 1
    key = pd.Series(id_codes(r["patient_id"]) * tests + id_codes(r["test"]), index=r.index)
    last = r.loc[
        key.loc[r["collected_on"].sort_values(kind="stable").index]
        .drop_duplicates(keep="last")
        .index
    ]
    o = frames.orders
    o = o[o["status"].isin(("ordered", "collected")) & ~o["resulted"]]
    pending = id_codes(o["patient_id"]) * tests + id_codes(o["test"])
    due = last[
        last["flag"].notna()
        & ~np.isin(id_codes(last["patient_id"]) * tests + id_codes(last["test"]), pending)
        & (last["collected_on"] <= today - pd.Timedelta(days=retest_days))
    ]
    due = due.sort_values(["patient_id", "collected_on"], kind="stable")
    detail = (
        "Re-test due: "
        + due["test_name"]
        + " was "
        + due["shown"]
        + " ("
        + flag_words(due["flag"])
        + ") on "
        + day_text(due["collected_on"])
        + ", no repeat since"
    )
    return part(
        "follow-up-due", due, Urgency.ROUTINE, detail, due["collected_on"], due["result_id"]
    )


def worsening_rows(
    frames: ClinicFrames, catalog: Catalog, today: pd.Timestamp, min_change: float
) -> pd.DataFrame:
    """Each measure at the latest visit against its previous value, in numpy over the id
    codes: one stable sort by (patient, measure, visit), then neighbours compared."""
    v = frames.visits[frames.visits["visit_date"] <= today]
    measures = outcome_measures(catalog)
    keys = sorted(measures)  # a patient's changes are told in this order
    visit_seq = np.full(len(v["visit_id"].cat.categories), -1, dtype=np.int64)
    visit_seq[id_codes(v["visit_id"])] = v["seq"].to_numpy()
    rated = v[v["burden"].notna()]
    s = frames.scores[frames.scores["instrument"].isin(keys)]
    s_seq = visit_seq[id_codes(s["visit_id"])]
    s = s[s_seq >= 0]  # a visit after today is not used
    code = {k: i for i, k in enumerate(keys)}
    pid = np.concatenate([id_codes(rated["patient_id"]), id_codes(s["patient_id"])])
    measure = np.concatenate(
        [np.full(len(rated), code["burden"]), s["instrument"].map(code).to_numpy(dtype=np.int64)]
    )
    seq = np.concatenate([rated["seq"].to_numpy(), s_seq[s_seq >= 0]])
    value = np.concatenate(
        [rated["burden"].to_numpy(dtype="float64"), s["total"].to_numpy(dtype="float64")]
    )
    when = np.concatenate([rated["visit_date"].to_numpy(), s["visit_date"].to_numpy()])
    visit = np.concatenate([id_codes(rated["visit_id"]), id_codes(s["visit_id"])])
    if not len(pid):
        return pd.DataFrame(columns=PART)
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
    np.maximum.at(latest, id_codes(v["patient_id"]), v["seq"].to_numpy())
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
        return pd.DataFrame(columns=PART)
    patient_ids = v["patient_id"].cat.categories.to_numpy()
    m = pd.DataFrame(
        {
            "patient_id": patient_ids[pid[at]],
            "visit_date": when[at],
            "visit_id": v["visit_id"].cat.categories.to_numpy()[visit[at]],
            "text": (
                pd.Series(np.array([measures[k] for k in keys])[measure[at]], dtype=str)
                + " "
                + whole_text(pd.Series(value[at - 1]))
                + " → "
                + whole_text(pd.Series(value[at]))
                + " (since "
                + day_text(pd.Series(when[at - 1]))
                + ")"
            ),
        }
    )
    per = m.drop_duplicates("patient_id")[["patient_id", "visit_date", "visit_id"]]
    per = per.rename(columns={"visit_date": "since", "visit_id": "ref"})
    per["text"] = per["patient_id"].map(join_per_patient(m, "text"))
    return part(
        "worsening",
        per,
        Urgency.SOON,
        "Worse at the latest visit: " + per["text"],
        per["since"],
        per["ref"],
    )
