"""The batch report: every patient's notebooks built / skipped / failed, as JSON and text."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import casebook
from casebook.notebooks._jobs import Outcome
from casebook.notebooks._run import write_atomic

__all__ = ["BatchReport"]


@dataclass
class BatchReport:
    """What one `run_batch` did. `ok` is False when any notebook failed or was not reached."""

    database: str  # the store URL, password masked (casebook.store.redact_url)
    out: str
    executor: str
    workers: int
    kernel: str
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False

    @property
    def counts(self) -> dict[str, int]:
        found = Counter(o.status for o in self.outcomes)
        return {status: found.get(status, 0) for status in ("built", "skipped", "failed")}

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.sorted() if o.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.interrupted and self.counts["failed"] == 0

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 130
        return 0 if self.ok else 1

    def sorted(self) -> list[Outcome]:
        return sorted(self.outcomes, key=lambda o: (o.patient_id, o.notebook))

    def by_patient(self) -> dict[str, list[Outcome]]:
        grouped: dict[str, list[Outcome]] = {}
        for outcome in self.sorted():
            grouped.setdefault(outcome.patient_id, []).append(outcome)
        return grouped

    def to_dict(self) -> dict[str, Any]:
        return {
            "casebook_version": casebook.__version__,
            "database": self.database,
            "out": self.out,
            "executor": self.executor,
            "workers": self.workers,
            "kernel": self.kernel,
            "seconds": round(self.seconds, 3),
            "interrupted": self.interrupted,
            "counts": self.counts,
            "patients": {
                pid: {o.notebook: o.to_dict() for o in outcomes}
                for pid, outcomes in self.by_patient().items()
            },
        }

    def write(self, path: Path) -> Path:
        """Write the JSON report atomically."""
        return write_atomic(Path(path), json.dumps(self.to_dict(), indent=1) + "\n")

    def summary_text(self) -> str:
        lines = []
        for pid, outcomes in self.by_patient().items():
            parts = []
            for o in outcomes:
                if o.status == "failed":
                    parts.append(f"{o.notebook} FAILED{_where(o)}: {o.ename}: {_short(o.evalue)}")
                else:
                    retried = " (after a stall)" if o.attempts > 1 else ""
                    parts.append(f"{o.notebook} {o.status}{retried}")
            lines.append(f"  {pid}: " + "; ".join(parts))
        c = self.counts
        rate = (c["built"] / self.seconds) if self.seconds > 0 and c["built"] else 0.0
        head = (
            f"casebook batch: {c['built']} built, {c['skipped']} skipped, {c['failed']} failed "
            f"in {self.seconds:.1f} s ({rate:.2f} notebooks/s; {self.executor}, "
            f"{self.workers} worker(s), {self.kernel} kernels) -> {self.out}"
        )
        tail = []
        if self.interrupted:
            tail.append("interrupted: run the same command again to build only what is left")
        elif c["failed"]:
            tail.append("failed notebooks were not written; fix the cause and run again")
        return "\n".join([head, *lines, *tail]) + "\n"


def _where(o: Outcome) -> str:
    bits = []
    if o.cell_index is not None and o.cell_index >= 0:
        bits.append(f"in cell {o.cell_index}")
    if o.stalled:
        bits.append(f"stalled {o.attempts} times")
    return (" " + ", ".join(bits)) if bits else ""


def _short(text: str | None, limit: int = 160) -> str:
    one = " ".join((text or "").split())
    return one if len(one) <= limit else one[: limit - 1] + "…"
