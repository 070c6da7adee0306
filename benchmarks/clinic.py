"""Clinic benchmark: the worklist and the per-template outcomes for 10,000 synthetic patients
(1 to 6 visits each), against the same answers written by hand in plain pandas over the
tidy frames of `casebook.interop.frames`, as a clinic's data person would.

    python benchmarks/clinic.py [--patients 10000] [--base 400] [--rounds 5]

`--base` cases come from `generate_cases` (instrument totals filled in as the store does on
save); their frames are replicated with new patient and record ids up to `--patients`.
Both sides get the same red flags (computed once per base case: the store keeps flags once
the lifecycle lands) and the same reviewed results; both run warm, alternately, and the
medians are compared. Aim: worklist under 1 s, outcomes under 2 s.

Then (skip with `--notebook-rounds 0`) the clinic notebook executed by Papermill against the
case notebook of one patient, on a store of `--notebook-patients` synthetic patients,
alternately, medians compared. Aim: the clinic notebook within 1.5x of the case notebook.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from casebook.catalog import Catalog, default_catalog
from casebook.clinic import ClinicFrames, clinic_frames, outcomes_by_group, worklist
from casebook.clinical.red_flags import RedFlag, red_flags
from casebook.clinical.scoring import ScoringError, score_instrument
from casebook.demo.synthetic import generate_cases
from casebook.interop.frames import instruments_frame, plan_frame, results_frame, symptoms_frame
from casebook.models import Case

TODAY = date(2024, 6, 1)
ID_COLUMNS = ("visit_id", "item_id", "order_id", "result_id")


def _scored(cases: list[Case], catalog: Catalog) -> None:
    for case in cases:
        for r in case.instruments:
            try:
                r.total = score_instrument(catalog.instruments[r.instrument], r.answers).total
            except ScoringError:
                r.total = None


def _replicate(df: pd.DataFrame, copies: int) -> pd.DataFrame:
    parts = []
    for k in range(copies):
        part = df.copy()
        for col in ("patient_id", *ID_COLUMNS):
            if col in part.columns:  # the clinic frames' ids are categorical: as text first
                part[col] = part[col].astype(str) + f"-r{k}"
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def _tidy(cases: list[Case], catalog: Catalog) -> dict[str, pd.DataFrame]:
    """The data person's inputs: casebook.interop.frames, plus orders (it has no orders
    frame)."""
    orders = pd.DataFrame(
        [(c.patient.id, o.test, o.status, o.ordered_on, o.id) for c in cases for o in c.orders],
        columns=["patient_id", "test", "status", "ordered_on", "order_id"],
    )
    orders["ordered_on"] = pd.to_datetime(orders["ordered_on"])
    done = {r.order_id for c in cases for r in c.results if r.order_id}
    orders["resulted"] = orders["order_id"].isin(done) | (orders["status"] == "resulted")
    return {
        "symptoms": symptoms_frame(cases),
        "instruments": instruments_frame(cases),
        "plan": plan_frame(cases),
        "results": results_frame(cases, catalog),
        "orders": orders,
    }


def by_hand_worklist(
    t: dict[str, pd.DataFrame], flags: pd.DataFrame, reviewed: pd.MultiIndex
) -> pd.DataFrame:
    today = pd.Timestamp(TODAY)
    res = t["results"]
    res = res[res["collected_on"] <= today]
    key = pd.MultiIndex.from_frame(res[["patient_id", "test", "collected_on"]])
    res = res[~key.isin(reviewed)].assign(
        kind=res["flag"].notna().map({True: "result-to-review", False: "result-in-range"}),
        since=res["collected_on"],
        urgency=res["flag"].notna().map({True: 2, False: 3}),
    )
    o = t["orders"]
    o = o[
        o["status"].isin(["ordered", "collected"])
        & ~o["resulted"]
        & (o["ordered_on"] < today - pd.Timedelta(days=30))
    ]
    o = o.assign(kind="test-overdue", since=o["ordered_on"], urgency=2)
    p = t["plan"]
    p = p[(p["status"] == "active") & (p["end"] <= today + pd.Timedelta(days=14))]
    p = p.assign(kind="follow-up-due", since=p["end"], urgency=3)
    burden = t["symptoms"].groupby(["patient_id", "visit_date"], as_index=False)["severity"].sum()
    burden = burden.sort_values(["patient_id", "visit_date"])
    burden["prev"] = burden.groupby("patient_id")["severity"].shift()
    last = burden.groupby("patient_id").tail(1)
    worse = last[last["severity"] > last["prev"]].assign(
        kind="worsening", since=last["visit_date"], urgency=2
    )
    inst = t["instruments"].dropna(subset=["total"]).sort_values(["patient_id", "visit_date"])
    inst["prev"] = inst.groupby(["patient_id", "instrument"])["total"].shift()
    latest = inst.groupby("patient_id")["visit_date"].transform("max")
    iw = inst[
        (inst["visit_date"] == latest)
        & (inst["total"] > inst["prev"])
        & (inst["instrument"] != "bristol")
    ]
    iw = iw.drop_duplicates("patient_id").assign(
        kind="worsening", since=iw["visit_date"], urgency=2
    )
    cols = ["patient_id", "kind", "urgency", "since"]
    out = pd.concat([flags[cols], res[cols], o[cols], p[cols], worse[cols], iw[cols]])
    return out.sort_values(["urgency", "since"], ignore_index=True)


def by_hand_outcomes(t: dict[str, pd.DataFrame]) -> pd.DataFrame:
    burden = t["symptoms"].groupby(["patient_id", "visit_date"])["severity"].sum().reset_index()
    g = burden.sort_values("visit_date").groupby("patient_id")["severity"]
    change = pd.DataFrame({"burden": g.last() - g.first(), "n": g.size()})
    change.loc[change["n"] < 2, "burden"] = float("nan")
    inst = t["instruments"].dropna(subset=["total"]).sort_values("visit_date")
    gi = inst.groupby(["patient_id", "instrument"])["total"]
    ic = (gi.last() - gi.first()).astype("float64").unstack()
    change = change.join(ic)
    used = t["plan"][t["plan"]["status"] != "proposed"][["patient_id", "template"]]
    long = used.drop_duplicates().merge(change.reset_index(), on="patient_id")
    grp = long.groupby("template")
    out = grp.agg(n=("patient_id", "size"), followed=("burden", "count"))
    for m in ("burden", "phq9", "gad7", "pss10", "fas"):
        out[f"{m}_median"] = grp[m].median()
        out[f"{m}_q1"] = grp[m].quantile(0.25)
        out[f"{m}_q3"] = grp[m].quantile(0.75)
    out["phq9_share"] = (long["phq9"] <= -5).groupby(long["template"]).mean()
    out["gad7_share"] = (long["gad7"] <= -4).groupby(long["template"]).mean()
    return out


def _median_time(fn: Callable[[], object], times: list[float]) -> None:
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)


def notebooks(patients: int, rounds: int) -> None:
    """The clinic notebook against one patient's case notebook, both executed by Papermill."""
    import tempfile

    from casebook.clinic import clinic_notebook
    from casebook.store import CaseStore, import_cases
    from casebook.workbook import case_notebook

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["CASEBOOK_AUDIT_KEYS"] = str(Path(tmp) / "audit-keys")  # go with the stores
        url = f"sqlite:///{tmp}/clinic.db"
        with CaseStore(url, create=True) as store:
            import_cases(store, generate_cases(patients, seed=3))
            first = store.patients()[0].id
        out = Path(tmp) / "notebooks"
        sides: dict[str, Callable[[], object]] = {
            f"case notebook ({first})": lambda: case_notebook(
                first, url, out, execute=True, force=True
            ),
            f"clinic notebook ({patients} patients)": lambda: clinic_notebook(
                url, out, execute=True
            ),
        }
        times: dict[str, list[float]] = {name: [] for name in sides}
        for fn in sides.values():  # warm the disk cache and the kernelspec lookup
            fn()
        for _ in range(rounds):
            for name, fn in sides.items():
                _median_time(fn, times[name])
    med = {name: statistics.median(ts) for name, ts in times.items()}
    for name, value in med.items():
        print(f"{name:42s} median {value:6.2f} s over {rounds} rounds")
    case, clinic = med.values()
    print(f"clinic / case notebook: {clinic / case:.2f}x  (aim <= 1.5x)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--patients", type=int, default=10_000)
    ap.add_argument("--base", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--notebook-patients", type=int, default=50)
    ap.add_argument("--notebook-rounds", type=int, default=3)
    args = ap.parse_args()
    catalog = default_catalog()
    copies = max(1, args.patients // args.base)
    start = time.perf_counter()
    base = generate_cases(args.base, seed=7, today=TODAY, catalog=catalog)
    _scored(base, catalog)
    print(
        f"generated {args.base} base cases in {time.perf_counter() - start:.1f} s; "
        f"replicating x{copies} = {args.base * copies} patients"
    )

    start = time.perf_counter()
    bf = clinic_frames(base, catalog)
    build_ours = time.perf_counter() - start
    start = time.perf_counter()
    base_flags = {
        c.patient.id: red_flags(
            c, catalog.red_flags, catalog.instruments, catalog.tests, today=TODAY
        )
        for c in base
    }
    flag_cost = time.perf_counter() - start
    start = time.perf_counter()
    bt = _tidy(base, catalog)
    build_hand = time.perf_counter() - start

    frames = ClinicFrames(
        **{
            name: _replicate(getattr(bf, name), copies)
            for name in ("patients", "visits", "scores", "plan", "orders", "results")
        }
    )
    tidy = {name: _replicate(df, copies) for name, df in bt.items()}
    flags: dict[str, list[RedFlag]] = {
        f"{pid}-r{k}": found for k in range(copies) for pid, found in base_flags.items()
    }
    flag_rows = pd.DataFrame(
        [
            (pid, "red-flag", 0 if f.urgency == "same_day" else 1, f.on)
            for pid, found in flags.items()
            for f in found
        ],
        columns=["patient_id", "kind", "urgency", "since"],
    )
    flag_rows["since"] = pd.to_datetime(flag_rows["since"])
    cutoff = pd.Timestamp(TODAY - timedelta(days=30))
    reviewed_ids = set(frames.results.loc[frames.results["collected_on"] < cutoff, "result_id"])
    old = tidy["results"][tidy["results"]["collected_on"] < cutoff]
    reviewed_keys = pd.MultiIndex.from_frame(old[["patient_id", "test", "collected_on"]])
    print(
        f"{frames.visits['patient_id'].nunique()} patients, {len(frames.visits)} visits, "
        f"{len(frames.results)} results, {len(frames.orders)} orders"
    )

    sides: dict[str, Callable[[], object]] = {
        "worklist (casebook.clinic)": lambda: worklist(
            frames, catalog, today=TODAY, flags=flags, reviewed_results=reviewed_ids
        ),
        "worklist (by hand)": lambda: by_hand_worklist(tidy, flag_rows, reviewed_keys),
        "outcomes by template (casebook.clinic)": lambda: outcomes_by_group(
            frames, catalog, by="template"
        ),
        "outcomes by template (by hand)": lambda: by_hand_outcomes(tidy),
    }
    times: dict[str, list[float]] = {name: [] for name in sides}
    for fn in sides.values():  # warm both sides
        fn()
    for _ in range(args.rounds):
        for name, fn in sides.items():
            _median_time(fn, times[name])
    med = {name: statistics.median(ts) for name, ts in times.items()}
    for name, value in med.items():
        print(f"{name:42s} median {value:6.3f} s over {args.rounds} rounds")
    print(
        f"worklist ratio (clinic / by hand): "
        f"{med['worklist (casebook.clinic)'] / med['worklist (by hand)']:.2f}x  (aim < 1 s)"
    )
    ours = med["outcomes by template (casebook.clinic)"]
    hand = med["outcomes by template (by hand)"]
    print(f"outcomes ratio (clinic / by hand): {ours / hand:.2f}x  (aim < 2 s)")
    scale = args.base * copies / args.base
    print(
        f"not in the timings above, measured on the {args.base} base cases and scaled "
        f"x{scale:.0f}: clinic_frames from cases {build_ours * scale:.1f} s, "
        f"casebook.interop.frames {build_hand * scale:.1f} s, "
        f"red_flags for every patient {flag_cost * scale:.1f} s"
    )
    if args.notebook_rounds > 0:
        notebooks(args.notebook_patients, args.notebook_rounds)


if __name__ == "__main__":
    main()
