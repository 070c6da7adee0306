"""`casebook demo`: a fresh store of seeded synthetic patients, and what to do next."""

from __future__ import annotations

import shlex
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from casebook.clinical.red_flags import RedFlag, red_flags
from casebook.demo.synthetic import generate_cases
from casebook.errors import InputError
from casebook.store import CaseStore, import_cases

if TYPE_CHECKING:
    from casebook.notebooks import BatchReport

__all__ = ["DemoResult", "build_demo", "build_demo_notebooks", "demo_text"]


@dataclass
class DemoResult:
    directory: Path
    url: str
    patient_ids: list[str]
    flags: dict[str, list[RedFlag]] = field(default_factory=dict)
    notebooks: BatchReport | None = None

    @property
    def notebook_dir(self) -> Path:
        return self.directory / "notebooks"


def build_demo(
    directory: str | Path = "casebook-demo",
    *,
    patients: int = 12,
    seed: int = 1,
    summaries: bool = True,
    force: bool = False,
) -> DemoResult:
    """Create `directory`/casebook.db afresh with `patients` synthetic cases, a fictional
    clinic letterhead (`clinic.toml`) and, with `summaries`, each patient's after-visit
    summary of their latest visit. An existing demo store (with whatever was entered in it
    and the links granted from it) is replaced only with `force`; InputError otherwise."""
    if patients < 1:
        raise InputError("--patients must be at least 1")
    directory = Path(directory).resolve()
    db = directory / "casebook.db"
    if db.exists() and not force:
        raise InputError(
            f"{db} already exists, with any entries and links made in it: "
            "--force replaces it, or choose another --dir"
        )
    directory.mkdir(parents=True, exist_ok=True)
    for stale in (db, db.with_name("casebook.db-wal"), db.with_name("casebook.db-shm")):
        stale.unlink(missing_ok=True)
    url = f"sqlite:///{db}"
    (directory / "clinic.toml").write_text(_DEMO_CLINIC, encoding="utf-8")  # the letterhead
    with CaseStore(url, create=True, actor="casebook-demo") as store:
        cases = generate_cases(patients, seed=seed, catalog=store.catalog)
        import_cases(store, cases)
        cat = store.catalog
        flags = {
            c.patient.id: red_flags(
                store.load_case(c.patient.id), cat.red_flags, cat.instruments, cat.tests
            )
            for c in cases
        }
        if summaries:
            _latest_summaries(store, url)
    return DemoResult(directory, url, [c.patient.id for c in cases], flags)


# A fictional letterhead for the demo's letters (`casebook init` explains the file).
_DEMO_CLINIC = """\
name = "Example Digestive Health Clinic (demo)"
address = ["1 Example Street", "Exampletown EX1 1EX"]
phone = "000 0000 0000"
practitioner = "A. Example"
credentials = "ND"
"""


def _latest_summaries(store: CaseStore, url: str) -> None:
    """An after-visit summary of each patient's latest visit, kept with the case, so every
    demo dashboard offers one to download."""
    from casebook.letters import (
        LetterError,
        after_visit_summary,
        load_clinic_settings,
        save_letter,
    )

    settings = load_clinic_settings(database_url=url)
    for summary in store.patients():
        case = store.load_case(summary.id)
        if not case.held_visits():  # a summary is of a visit held, not a check-in
            continue
        try:
            save_letter(store, after_visit_summary(case, store.catalog, settings))
        except LetterError as exc:  # e.g. no Pango for WeasyPrint: the demo works without PDFs
            print(f"casebook demo: no after-visit summaries ({exc})", file=sys.stderr)
            return


def build_demo_notebooks(result: DemoResult, *, workers: int | None = None) -> BatchReport:
    """Every demo patient's case and dashboard notebooks, through the batch path.

    Always rebuilt (`force`): a fresh demo store starts every record at version 1, so the
    batch's inputs hash could not tell an old demo's notebooks from this one's."""
    from casebook.notebooks import BatchOptions, run_batch

    report = run_batch(
        BatchOptions(database_url=result.url, out=result.notebook_dir, force=True, workers=workers),
        progress=False,
    )
    result.notebooks = report
    return report


def _activate_line() -> list[str]:
    """`. .venv/bin/activate` when casebook runs from a venv that is not on PATH (the
    README's commands call `.venv/bin/casebook` without activating it): the commands below
    then find `casebook` and `jupyter`."""
    bin_dir = Path(sys.executable).parent
    activate = bin_dir / "activate"
    found = shutil.which("casebook")
    if not activate.exists() or (found is not None and Path(found).parent == bin_dir):
        return []
    return [f"  . {shlex.quote(str(activate))}   # puts casebook and jupyter on your PATH"]


def demo_text(result: DemoResult) -> str:
    db = shlex.quote(result.url)
    first = result.patient_ids[0]
    flagged = [
        f"  {pid}: " + ", ".join(f.label for f in flags)
        for pid, flags in result.flags.items()
        if flags
    ]
    lines = [
        f"casebook demo: {len(result.patient_ids)} synthetic patients in {result.directory}",
        "(synthetic data from a seeded generator; no real patient is in it)",
        "",
        "Red flags raised (refer, do not treat):" if flagged else "No red flags raised.",
        *flagged,
        "",
        "Next:",
        *_activate_line(),
        f"  export CASEBOOK_DB={db}",
        "  casebook patients                       # the patient list",
        f"  casebook show {first}                   # one case, with its red flags",
        f"  casebook export {first} --format json   # the whole case as JSON",
        f"  casebook audit {first}                  # who changed what, and when",
        f"  casebook flags {first}                  # red flags and their state; then",
        f"  casebook flag ack {first} RULE --note TEXT   # acknowledge, refer, resolve",
        f"  casebook letter referral {first}        # a referral letter (PDF)",
        "  casebook worklist                       # the clinic's worklist, most urgent first",
        "  casebook outcomes --by template         # outcomes across patients, with caveats",
    ]
    report = result.notebooks
    if report is not None:
        c = report.counts
        nb = shlex.quote(str(result.notebook_dir))
        lines += [
            "",
            f"Notebooks in {result.notebook_dir}: {c['built']} built, "
            f"{c['failed']} failed ({report.seconds:.0f} s)",
        ]
        if c["failed"]:
            lines += [line for line in report.summary_text().splitlines() if "FAILED" in line]
        # the workbook is named after its patient (casebook.notebooks.case_notebook_name)
        workbook = next(
            (
                f"{first}/{o.notebook}"
                for o in report.outcomes
                if o.patient_id == first and o.notebook.endswith(f"-{first}.ipynb")
            ),
            f"the workbook in {first}/",
        )
        lines += [
            "Open the practitioner's workbook in JupyterLab:",
            f"  jupyter lab {nb}",
            f"  then open {workbook} and choose Run > Run All Cells",
            "  (or open clinic.ipynb, run it, and open a patient from its worklist)",
        ]
    return "\n".join(lines) + "\n"
