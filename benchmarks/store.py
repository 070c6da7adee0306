"""Store benchmark: case load time at 10,000 patients against a raw SQL read of the same
rows, and validated CSV import of 100,000 result rows against a raw
`pandas.read_csv` + `DataFrame.to_sql` of the same rows.

    python benchmarks/store.py [--patients 10000] [--rows 100000] [--rounds 5] [--db URL]
                               [--plan-items 2000,8000,32000]

Both sides are measured in the same run on the same database (SQLite in a temporary
folder by default; pass --db postgresql+psycopg://... for PostgreSQL, which must be
an empty database or schema). Each side is warmed once untimed, then the sides alternate
(which goes first flips every round) and the medians over the rounds are compared; each
import round gets its own file of new rows, so every round really inserts. Aims: a case
loads in under 20 ms; the validated, audited import stays within 2x of the raw insert.

Last, one whole case per size in `--plan-items` is imported (`import_case`, as `casebook
import case` does): the time per plan item should stay roughly constant as the plan grows
(every caution check works from one index per case), so the last line prints the ratio of
the largest size's time per item to the smallest's (aim: < 2x; quadratic would be ~16x).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from casebook.catalog import default_catalog
from casebook.demo.synthetic import generate_case
from casebook.interop import import_results_csv
from casebook.models import Case, CautionConfirmation, PlanItem
from casebook.store import CaseStore, import_case, import_cases

TESTS = [
    "crp",
    "ferritin",
    "vitamin_d",
    "vitamin_b12",
    "albumin",
    "hemoglobin",
    "calprotectin",
    "total_iga",
    "ttg_iga",
    "hs_crp",
]


def _populate(store: CaseStore, n: int, today: date) -> list[str]:
    catalog = store.catalog
    ids: list[str] = []
    batch = []
    for i in range(n):
        case = generate_case(i, seed=11, today=today, catalog=catalog)
        batch.append(case)
        ids.append(case.patient.id)
        if len(batch) == 500:
            import_cases(store, batch)
            batch = []
    if batch:
        import_cases(store, batch)
    return ids


def _results_csv(path: Path, ids: list[str], rows: int, today: date, shift: int = 0) -> None:
    """`rows` results spread over the patients; `shift` moves every date so that files with
    different shifts hold only new rows."""
    rng = random.Random(5 + shift)
    catalog = default_catalog()
    per_patient = max(1, rows // len(ids))
    written = 0
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["patient_id", "collected_on", "test", "value", "unit", "ref_low", "ref_high"])
        for pid in ids:
            for k in range(per_patient):
                if written == rows:
                    return
                test = catalog.tests[TESTS[k % len(TESTS)]]
                # Far in the past so they never collide with the synthetic cases' results,
                # and one day apart per shift so that rounds never collide with each other.
                day = today - timedelta(days=3000 + shift + 7 * (k // len(TESTS)) * 64)
                by_loinc = k % 3 == 0 and test.loinc
                out.writerow(
                    [
                        pid,
                        day.isoformat(),
                        test.loinc if by_loinc else test.key,
                        round(rng.uniform(1, 100), 1),
                        test.unit,
                        "" if k % 2 else 1,
                        "" if k % 2 else 90,
                    ]
                )
                written += 1


def _big_case(index: int, items: int, today: date) -> Case:
    """A synthetic case with `items` plan items cycling through every protocol template and
    status, each confirming its template's cautions (so every check runs and passes)."""
    catalog = default_catalog()
    case = generate_case(index, seed=23, today=today, catalog=catalog)
    templates = list(catalog.protocols)
    statuses = ("active", "proposed", "stopped", "completed")
    plan = []
    for k in range(items):
        tpl = templates[k % len(templates)]
        confirmations = [
            CautionConfirmation(key=c.key, reason="discussed", on=today) for c in tpl.cautions
        ]
        plan.append(
            PlanItem(
                id=f"{index:08x}{k:024x}",
                patient_id=case.patient.id,
                category=tpl.category,
                name=f"{tpl.name} {k}",
                template=tpl.key,
                status=statuses[k % len(statuses)],
                caution_confirmations=confirmations,
            )
        )
    return case.model_copy(update={"plan": plan})


def _plan_scaling(store: CaseStore, sizes: list[int], today: date) -> None:
    """Import one case per size, print seconds and microseconds per plan item."""
    import_case(store, _big_case(90_000_000, 200, today))  # warm: catalog, statements
    per_item = []
    for n, size in enumerate(sizes):
        case = _big_case(90_000_001 + n, size, today)
        took = _timed(lambda case=case: import_case(store, case))
        per_item.append(took / size)
        print(
            f"import one case of {size:,} plan items: {took:.2f} s, {took / size * 1e6:.0f} us/item"
        )
    if len(per_item) > 1:
        print(
            f"time per plan item, {sizes[-1]:,} against {sizes[0]:,} items: "
            f"{per_item[-1] / per_item[0]:.2f}x (aim: < 2x; linear is 1x, quadratic "
            f"{sizes[-1] / sizes[0]:.0f}x)"
        )


def _raw_load(engine: sa.Engine, pid: str) -> int:
    """The floor for a case load: every live row of the patient's tables, no validation."""
    names = [
        "patients",
        "visits",
        "history_entries",
        "symptom_ratings",
        "instrument_responses",
        "test_orders",
        "test_results",
        "plan_items",
        "notes",
    ]
    count = 0
    with engine.connect() as conn:
        for name in names:
            key = "id" if name == "patients" else "patient_id"
            count += len(
                conn.execute(
                    sa.text(f"SELECT * FROM {name} WHERE {key} = :pid AND deleted_at IS NULL"),
                    {"pid": pid},
                ).all()
            )
    return count


def _alternate(
    rounds: int, ours: Callable[[int], float], raw: Callable[[int], float]
) -> tuple[float, float]:
    """Medians of `ours(round)` and `raw(round)` over `rounds`, the order flipped each round."""
    mine: list[float] = []
    floor: list[float] = []
    for r in range(rounds):
        if r % 2:
            floor.append(raw(r))
            mine.append(ours(r))
        else:
            mine.append(ours(r))
            floor.append(raw(r))
    return statistics.median(mine), statistics.median(floor)


def _timed(action: Callable[[], object]) -> float:
    t = time.perf_counter()
    action()
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--loads", type=int, default=300, help="cases to time loading")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds per side")
    parser.add_argument("--db", help="database URL (default: SQLite in a temporary folder)")
    parser.add_argument(
        "--plan-items",
        default="2000,8000,32000",
        help="plan-item counts of the whole-case imports, comma-separated ('' skips them)",
    )
    args = parser.parse_args()
    today = date.today()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["CASEBOOK_AUDIT_KEYS"] = str(Path(tmp) / "audit-keys")  # go with the stores
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        store = CaseStore(url, create=True, actor="benchmark")
        t0 = time.perf_counter()
        ids = _populate(store, args.patients, today)
        print(f"populated {len(ids)} synthetic patients in {time.perf_counter() - t0:.1f} s")

        rng = random.Random(1)
        sample = [rng.choice(ids) for _ in range(args.loads)]
        store.load_case(sample[0])  # warm both sides: catalog, pool, page cache
        _raw_load(store.engine, sample[0])

        def load_ours(_r: int) -> float:
            return statistics.median(_timed(lambda p=p: store.load_case(p)) for p in sample)

        def load_raw(_r: int) -> float:
            return statistics.median(_timed(lambda p=p: _raw_load(store.engine, p)) for p in sample)

        ours_ms, raw_ms = (x * 1000 for x in _alternate(args.rounds, load_ours, load_raw))
        print(
            f"load one full case: median {ours_ms:.2f} ms (aim: < 20 ms); raw SQL read of "
            f"the same rows {raw_ms:.2f} ms; ratio {ours_ms / raw_ms:.2f}x "
            f"({args.rounds} rounds of {len(sample)} loads)"
        )

        files = []
        for shift in range(args.rounds + 1):  # file 0 warms both sides
            path = Path(tmp) / f"results-{shift}.csv"
            _results_csv(path, ids, args.rows if shift else min(args.rows, 1000), today, shift)
            files.append(path)

        def import_ours(r: int) -> float:
            summary = None

            def run() -> None:
                nonlocal summary
                summary = import_results_csv(store, files[r])

            took = _timed(run)
            assert summary is not None and summary.created > 0 and summary.updated == 0, summary
            return took

        def import_raw(r: int) -> float:
            def run() -> None:
                frame = pd.read_csv(files[r], dtype={"patient_id": str})
                frame.to_sql("raw_results_bench", store.engine, if_exists="replace", index=False)

            return _timed(run)

        import_ours(0)
        import_raw(0)
        ours_s, raw_s = _alternate(
            args.rounds, lambda r: import_ours(r + 1), lambda r: import_raw(r + 1)
        )
        print(
            f"import {args.rows:,} result rows: raw read_csv+to_sql median {raw_s:.2f} s; "
            f"casebook validated+audited import median {ours_s:.2f} s; "
            f"ratio {ours_s / raw_s:.2f}x (aim: <= 2x; {args.rounds} rounds)"
        )
        t = time.perf_counter()
        again = import_results_csv(store, files[-1])
        print(f"re-import of the same file: {again} in {time.perf_counter() - t:.2f} s")
        with store.engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE raw_results_bench"))
        sizes = [int(x) for x in args.plan_items.split(",") if x.strip()]
        if sizes:
            _plan_scaling(store, sorted(sizes), today)
        store.close()


if __name__ == "__main__":
    main()
