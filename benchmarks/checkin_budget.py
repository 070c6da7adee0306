"""Where a check-in submission's time goes, in the store, against issue 22's 2x budget.

    python benchmarks/checkin_budget.py [--db sqlite|postgresql|both] [--submissions 300]

`benchmarks/checkins.py` compares the whole request with a minimal tornado handler that
stores one row. This script says why that ratio stands where it does: it calls
`casebook.checkins.submit` itself (no HTTP) on fresh check-ins of fresh synthetic patients
(the same PHQ-9 + GAD-7 + symptoms + Bristol form), `--submissions` times after 20 warm-up
ones, and times each part of it by wrapping the functions `submit` calls (each call's wall
time; the wrappers cost about a microsecond):

- the check-in read under its patient's lock (`open_checkin`),
- checking the answers and making the records (`parse_answers`, `checkin_records`: pure),
- the writes and the read-back of the parts of the case the rules read, without the
  audit (`submit_checkin` less `audit_many`),
- the audit rows, one per record written and one for the submission, chained and sealed
  (`Transaction.audit_many`),
- the red-flag rules on the case (`red_flags`: pure),
- the rest: the connection, BEGIN and COMMIT (the whole less the parts).

It prints the median of each part and, on PostgreSQL, the CPU time its client backends on
this machine spent per submission (from /proc, over the timed submissions: the database's
own work on the statements, whatever the client costs). The server's side of the request
that is not the store (the HTTP request, the session check, CSRF and the thank-you page)
costs at least what `benchmarks/checkins.py` shows for the form page. The rows written are
the same whatever the machine does; the times are wall times: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from checkins import INSTRUMENTS, _answers, _store_url  # the same form and stores

PARTS = (
    ("open_checkin", "check-in read under the patient's lock"),
    ("answers", "answers checked, records made (pure)"),
    ("writes", "writes and read-back, without the audit"),
    ("audit_many", "audit rows, chained and sealed"),
    ("red_flags", "red-flag rules (pure)"),
    ("rest", "connection, BEGIN and COMMIT"),
)


@contextmanager
def _timed(spent: dict[str, float]) -> Iterator[None]:
    """Wrap what `submit` calls so each call adds its wall time to `spent[name]`."""
    from casebook.checkins import _record
    from casebook.store import checkins as rows
    from casebook.store.transaction import Transaction

    def wrap(owner: Any, attr: str, name: str) -> Callable[[], None]:
        original = getattr(owner, attr)

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - start

        setattr(owner, attr, timed)
        return lambda: setattr(owner, attr, original)

    undo = [
        wrap(rows, "open_checkin", "open_checkin"),
        wrap(_record, "parse_answers", "answers"),
        wrap(_record, "checkin_records", "answers"),
        wrap(rows, "submit_checkin", "writes"),
        wrap(Transaction, "audit_many", "audit_many"),
        wrap(_record, "red_flags", "red_flags"),
    ]
    try:
        yield
    finally:
        for step in reversed(undo):
            step()


def _postgres_cpu() -> float:
    """CPU seconds (user + system) PostgreSQL's client backends here have used so far: the
    processes that run the statements a connection sends ("postgres: USER DB HOST(PORT)
    ..."), not its background writers."""
    total = 0
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            title = cmdline.read_bytes()
            client = b"(" in title or b"[local]" in title  # its peer: HOST(PORT) or a socket
            if not (title.startswith(b"postgres: ") and client):
                continue
            fields = (cmdline.parent / "stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:  # gone meanwhile
            continue
    return total / os.sysconf("SC_CLK_TCK")


def run(kind: str, submissions: int) -> dict[str, float]:
    """Medians (seconds) of each part and of the whole, over `submissions`; on PostgreSQL
    also its server processes' CPU per submission (`postgres_cpu`, a mean)."""
    from casebook.checkins import submit
    from casebook.models import Patient
    from casebook.serve.checkin_links import send_checkin
    from casebook.store import CaseStore
    from casebook.store.checkins import CheckinKey

    folder = Path(tempfile.mkdtemp(prefix="cb-bench-budget-"))
    os.environ["CASEBOOK_AUDIT_KEYS"] = str(folder / "audit-keys")  # go with the stores
    fields = [*_answers(), ("action", "submit")]
    parts: dict[str, list[float]] = defaultdict(list)
    with _store_url(kind, folder) as url, CaseStore(url, create=True, actor="benchmark") as store:
        keys = []
        for _ in range(submissions + 20):
            pid = f"bench-{secrets.token_hex(6)}"
            store.add_patient(Patient(id=pid, name="Bench Person", birth_date=date(1980, 1, 1)))
            _, checkin = send_checkin(store, pid, INSTRUMENTS)
            keys.append((checkin.token_hash[:12], CheckinKey(checkin.id, pid)))
        for n, (link, key) in enumerate(keys):
            if n == 20:
                cpu = _postgres_cpu()
            spent: dict[str, float] = defaultdict(float)
            with _timed(spent):
                start = time.perf_counter()
                submit(store, link, key, fields, now=datetime.now(UTC))
                whole = time.perf_counter() - start
            if n < 20:  # warm-up
                continue
            spent["writes"] -= spent["audit_many"]  # audit_many runs inside submit_checkin
            spent["rest"] = whole - sum(spent.values())
            for name, value in spent.items():
                parts[name].append(value)
            parts["whole"].append(whole)
        postgres_cpu = (_postgres_cpu() - cpu) / submissions  # before its backends end
    medians = {name: statistics.median(values) for name, values in parts.items()}
    if kind == "postgresql":
        medians["postgres_cpu"] = postgres_cpu
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--submissions", type=int, default=300)
    args = parser.parse_args()
    for kind in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
        load = os.getloadavg()[0]
        medians = run(kind, args.submissions)
        print(
            f"{kind}: {args.submissions} submissions, medians in ms "
            f"(load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end)"
        )
        for name, label in PARTS:
            print(f"  {label:48} {medians[name] * 1000:6.2f}")
        print(f"  {'submit(), whole':48} {medians['whole'] * 1000:6.2f}")
        if "postgres_cpu" in medians:
            label = "PostgreSQL backends' CPU per submission (mean)"
            print(f"  {label:48} {medians['postgres_cpu'] * 1000:6.2f}")


if __name__ == "__main__":
    main()
