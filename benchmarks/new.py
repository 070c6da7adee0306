"""`casebook new`: time to write one patient's case notebook, as a practitioner runs it, against
the stock tool doing the same job (`papermill --prepare-only` of the same template with the
same parameters) and against starting Python and doing nothing (the floor).

    python benchmarks/new.py [--rounds 9]

All three are whole commands in fresh processes (what a user waits for), alternated round by
round after one untimed run of each; medians. Aim: `casebook new` under 0.5 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from casebook.demo import build_demo
from casebook.notebooks import case_parameters, template_path


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    casebook = shutil.which("casebook")
    papermill = shutil.which("papermill")
    if casebook is None or papermill is None:
        sys.exit("needs the casebook and papermill commands on PATH (pip install -e .)")
    with tempfile.TemporaryDirectory(prefix="casebook-bench-new-") as tmp:
        os.environ["CASEBOOK_AUDIT_KEYS"] = str(Path(tmp) / "audit-keys")  # go with the stores
        root = Path(tmp)
        demo = build_demo(root / "demo", patients=1, seed=1)
        pid = demo.patient_ids[0]
        env = {**os.environ, "JUPYTER_DATA_DIR": str(root / "jupyter")}
        params = case_parameters(pid, demo.url)
        sides = {
            "casebook new": [
                casebook,
                "--db",
                demo.url,
                "new",
                pid,
                "--force",
                "--out",
                str(root / "ours"),
            ],
            "papermill --prepare-only": [
                papermill,
                "--prepare-only",
                "--log-level",
                "ERROR",
                str(template_path("case.ipynb")),
                str(root / "stock.ipynb"),
                *(x for k, v in params.items() for x in ("-p", k, str(v))),
            ],
            "python -c pass (floor)": [sys.executable, "-c", "pass"],
        }
        times: dict[str, list[float]] = {name: [] for name in sides}
        for cmd in sides.values():  # untimed: disk caches, bytecode, the kernelspec
            timed(cmd, root, env)
        for rnd in range(args.rounds):
            order = list(sides) if rnd % 2 else list(reversed(sides))
            for name in order:
                times[name].append(timed(sides[name], root, env))
        print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
        print(f"write one case notebook, whole command ({args.rounds} rounds, median / best):")
        stock = statistics.median(times["papermill --prepare-only"])
        for name, values in times.items():
            med = statistics.median(values)
            print(
                f"  {name:26s} {med:5.2f} s / {min(values):5.2f} s   "
                f"{stock / med:5.1f}x vs papermill"
            )
        ours = statistics.median(times["casebook new"])
        print(f"aim: casebook new under 0.5 s: {'met' if ours < 0.5 else 'NOT met'}")


if __name__ == "__main__":
    main()
