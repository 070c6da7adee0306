"""Store benchmark: case load time at 10,000 patients, and validated CSV import of
100,000 result rows against a raw `pandas.DataFrame.to_sql` of the same rows.

    python benchmarks/store.py [--patients 10000] [--rows 100000] [--db URL]

Both sides are measured in the same run on the same database (SQLite in a temporary
folder by default; pass --db postgresql+psycopg://... for PostgreSQL, which must be
an empty database or schema). Aims: a case loads in under 20 ms; the validated,
audited import stays within 2x of the raw insert.
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from casebook.catalog import default_catalog
from casebook.interop import import_results_csv
from casebook.store import CaseStore, import_cases
from casebook.synthetic import generate_case

TESTS = ["crp", "ferritin", "vitamin_d", "vitamin_b12", "albumin", "hemoglobin",
         "calprotectin", "total_iga", "ttg_iga", "hs_crp"]


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


def _results_csv(path: Path, ids: list[str], rows: int, today: date) -> None:
    rng = random.Random(5)
    catalog = default_catalog()
    per_patient = max(1, rows // len(ids))
    written = 0
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["patient_id", "collected_on", "test", "value", "unit", "ref_low",
                      "ref_high"])
        for pid in ids:
            for k in range(per_patient):
                if written == rows:
                    return
                test = catalog.tests[TESTS[k % len(TESTS)]]
                # Far in the past so they never collide with the synthetic cases' results.
                day = today - timedelta(days=3000 + 7 * (k // len(TESTS)))
                by_loinc = k % 3 == 0 and test.loinc
                out.writerow([pid, day.isoformat(), test.loinc if by_loinc else test.key,
                              round(rng.uniform(1, 100), 1), test.unit,
                              "" if k % 2 else 1, "" if k % 2 else 90])
                written += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--loads", type=int, default=300, help="cases to time loading")
    parser.add_argument("--db", help="database URL (default: SQLite in a temporary folder)")
    args = parser.parse_args()
    today = date.today()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        store = CaseStore(url, create=True, actor="benchmark")
        t0 = time.perf_counter()
        ids = _populate(store, args.patients, today)
        print(f"populated {len(ids)} synthetic patients in {time.perf_counter() - t0:.1f} s")

        rng = random.Random(1)
        sample = [rng.choice(ids) for _ in range(args.loads)]
        store.load_case(sample[0])  # warm the catalog and the connection pool
        times = []
        for pid in sample:
            t = time.perf_counter()
            store.load_case(pid)
            times.append((time.perf_counter() - t) * 1000)
        times.sort()
        print(f"load one full case: median {statistics.median(times):.2f} ms, "
              f"p95 {times[int(0.95 * len(times)) - 1]:.2f} ms over {len(times)} loads "
              f"(aim: < 20 ms)")

        path = Path(tmp) / "results.csv"
        _results_csv(path, ids, args.rows, today)
        t = time.perf_counter()
        raw = pd.read_csv(path, dtype={"patient_id": str})
        raw.to_sql("raw_results_bench", store.engine, if_exists="replace", index=False)
        raw_s = time.perf_counter() - t
        t = time.perf_counter()
        summary = import_results_csv(store, path)
        ours_s = time.perf_counter() - t
        assert summary.created == len(raw), summary
        print(f"import {len(raw):,} result rows: raw read_csv+to_sql {raw_s:.2f} s; "
              f"casebook validated+audited import {ours_s:.2f} s; "
              f"ratio {ours_s / raw_s:.2f}x (aim: <= 2x)")
        t = time.perf_counter()
        again = import_results_csv(store, path)
        print(f"re-import of the same file: {again} in {time.perf_counter() - t:.2f} s")
        with store.engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE raw_results_bench"))
        store.close()


if __name__ == "__main__":
    main()
