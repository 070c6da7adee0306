"""Workbook benchmark: Papermill executing the case template for a demo patient with 20
visits, against Papermill executing a template that only imports pandas, altair and
ipywidgets (the floor: what any notebook of this stack pays).

    python benchmarks/workbook.py [--rounds 5] [--visits 20] [--keep DIR]

Both sides run through the same `casebook.notebooks.run_notebook` (a fresh kernel per run),
alternately, after one untimed run of each; the medians are compared. Aim: the case
workbook within 1.3x of the floor.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from casebook.catalog import default_catalog
from casebook.demo.synthetic import generate_case
from casebook.models import Case, InstrumentResponse, SymptomRating, TestResult, Visit
from casebook.notebooks import case_parameters, run_notebook, template_path
from casebook.store import CaseStore, import_cases

SPACING_DAYS = 21


def long_case(visits: int = 20, *, seed: int = 1, today: date | None = None) -> Case:
    """A synthetic case with `visits` visits, every one with symptoms, instruments and a
    ferritin and vitamin D result: the generator's 4-visit case, continued to today."""
    today = today or date.today()
    catalog = default_catalog()
    base = generate_case(
        1,
        seed=seed,
        catalog=catalog,
        today=today - timedelta(days=SPACING_DAYS * max(0, visits - 4)),
    )
    rng = random.Random(seed)
    pid = base.patient.id
    last = base.sorted_visits()[-1]
    symptoms = [r for r in base.symptoms if r.visit_id == last.id]
    answers = {r.instrument: r.answers for r in base.instruments if r.visit_id == last.id}
    extra: dict[str, list] = {"visits": [], "symptoms": [], "instruments": [], "results": []}
    day = last.visit_date
    for _ in range(max(0, visits - len(base.visits))):
        day = min(today, day + timedelta(days=SPACING_DAYS))
        visit = Visit(patient_id=pid, kind="follow-up", visit_date=day, version=1)
        extra["visits"].append(visit)
        for r in symptoms:
            severity = max(0, min(4, r.severity + rng.choice((-1, 0, 0, 1))))
            extra["symptoms"].append(
                SymptomRating(
                    patient_id=pid,
                    visit_id=visit.id,
                    version=1,
                    symptom=r.symptom,
                    severity=severity,
                    frequency=r.frequency,
                )
            )
        for key, given in answers.items():
            extra["instruments"].append(
                InstrumentResponse(
                    patient_id=pid,
                    visit_id=visit.id,
                    version=1,
                    instrument=key,
                    answers=dict(given),
                )
            )
        for test, mean in (("ferritin", 80.0), ("vitamin_d", 30.0)):
            extra["results"].append(
                TestResult(
                    patient_id=pid,
                    test=test,
                    collected_on=day,
                    version=1,
                    value=round(rng.gauss(mean, mean / 4), 1),
                    unit=catalog.tests[test].unit,
                )
            )
    return base.model_copy(update={k: list(getattr(base, k)) + v for k, v in extra.items()})


def floor_template(path: Path) -> Path:
    """A template with the same parameters cell that only imports the stack."""
    params = new_code_cell(
        'patient_id: str = "demo-0001"\ndatabase_url: str = "sqlite:///casebook.db"',
        metadata={"tags": ["parameters"]},
    )
    nb = new_notebook(
        cells=[params, new_code_cell("import pandas, altair, ipywidgets")],
        metadata={
            "kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}
        },
    )
    nbformat.write(nb, path)
    return path


def _timed(template: Path, out: Path, params: dict[str, str]) -> float:
    start = time.perf_counter()
    run_notebook(template, out, params, execute=True, timeout=120)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--visits", type=int, default=20)
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep the notebooks")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["CASEBOOK_AUDIT_KEYS"] = str(Path(tmp) / "audit-keys")  # go with the stores
        work = Path(args.keep or tmp).resolve()
        work.mkdir(parents=True, exist_ok=True)
        db = work / "bench.db"
        db.unlink(missing_ok=True)
        case = long_case(args.visits)
        with CaseStore(f"sqlite:///{db}", create=True, actor="benchmark") as store:
            import_cases(store, [case])
        params = case_parameters(case.patient.id, f"sqlite:///{db}")
        sides = {
            "floor": floor_template(work / "floor.ipynb"),
            "case workbook": template_path("case.ipynb"),
        }
        times: dict[str, list[float]] = {name: [] for name in sides}
        for template in sides.values():  # untimed: disk caches, bytecode
            _timed(template, work / f"warm-{template.name}", params)
        for _ in range(args.rounds):
            for name, template in sides.items():
                times[name].append(_timed(template, work / f"out-{template.name}", params))
        floor = statistics.median(times["floor"])
        ours = statistics.median(times["case workbook"])
        print(
            f"patient {case.patient.id}: {len(case.visits)} visits, "
            f"{len(case.symptoms)} ratings, {len(case.results)} results"
        )
        for name, values in times.items():
            shown = ", ".join(f"{v:.2f}" for v in values)
            print(f"{name:>14}: median {statistics.median(values):.2f} s  ({shown})")
        print(f"ratio: {ours / floor:.2f}x the floor (aim: 1.3x or less)")


if __name__ == "__main__":
    main()
