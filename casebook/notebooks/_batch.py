"""`casebook batch`: build every patient's executed notebooks, in parallel and incrementally.

```python
from casebook.notebooks import BatchOptions, run_batch

report = run_batch(
    BatchOptions(database_url="sqlite:////srv/clinic/casebook.db", out=Path("notebooks"), html=True)
)
print(report.summary_text())
report.write(Path("batch-report.json"))
```

Which patients: all, or `patients` / `from_csv` (a `patient_id` column), narrowed by
`since` (record changed since). Which notebooks: `templates`, by default the repository's
`templates/case.ipynb` and `templates/dashboard.ipynb`, whichever exist, each at
`out/<patient_id>/<template name>` (the case workbook named after the patient instead:
`out/<patient_id>/<Name>-<patient_id>.ipynb`, see `_links`), plus (with the default set
only) the clinic notebook across all patients at `out/clinic.ipynb`; `.html` beside each
with `html=True`. A notebook whose inputs are unchanged is skipped unless `force`, the
clinic notebook too, so a re-run with nothing changed builds nothing.

The options flow one way: `run_batch` checks them and makes the batch's one `Kernels`,
`plan_jobs`/`plan_clinic` turn them into `Job`s, an executor (`_exec.py`) runs each job
with `_jobs.build(job, kernels)`; casebook/kernels/ forks the kernels.
"""

from __future__ import annotations

import csv
import hashlib
import os
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import casebook
from casebook.errors import CasebookError
from casebook.ids import PATIENT_ID_RE
from casebook.notebooks._jobs import (
    CLINIC,
    Job,
    KernelMode,
    Kernels,
    Outcome,
    input_hash,
    is_current,
    job_inputs,
    stale_temp_files,
)
from casebook.notebooks._links import adopt_previous, notebook_name
from casebook.notebooks._parameters import (
    ParameterError,
    ParameterValue,
    case_parameters,
    clinic_parameters,
    kernel_env,
    output_path,
    public_database_url,
)
from casebook.notebooks._report import BatchReport
from casebook.notebooks._templates import CLINIC_TEMPLATE, default_templates, template_path

if TYPE_CHECKING:
    from casebook.kernels.helper import HelperProcess
    from casebook.store import CaseStore

__all__ = [
    "BatchInputError",
    "BatchOptions",
    "parse_since",
    "plan_clinic",
    "plan_jobs",
    "read_patient_csv",
    "run_batch",
    "select_patients",
]


class BatchInputError(CasebookError, ValueError):
    """A selection that cannot be built (bad ids, unknown patients, a bad CSV line)."""


@dataclass(frozen=True)
class BatchOptions:
    database_url: str  # empty: $CASEBOOK_DB, else sqlite:///casebook.db (as resolve_url)
    out: Path = Path("notebooks")
    patients: Sequence[str] = ()
    since: datetime | None = None
    from_csv: Path | None = None
    templates: Sequence[Path] | None = None  # default: default_templates()
    html: bool = False
    force: bool = False
    workers: int | None = None  # default: os.cpu_count()
    executor: Literal["local", "dask"] = "local"
    scheduler: str | None = None  # tcp://HOST:PORT, with executor="dask"
    cell_timeout: float = 120.0
    kernel: KernelMode = "forked"


def parse_since(text: str) -> datetime:
    """An ISO date or date-time; a date means its local midnight. Returned in UTC."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BatchInputError(
            f"--since: {text!r} is not a date (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)"
        ) from None
    if value.tzinfo is None:
        value = value.astimezone()  # local time
    return value.astimezone(UTC)


def read_patient_csv(path: Path) -> list[str]:
    """The `patient_id` column of a CSV file; every bad line is named (header is line 1)."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames is None or "patient_id" not in [
                (f or "").strip() for f in reader.fieldnames
            ]:
                raise BatchInputError(f"{path}: line 1: no patient_id column in the header")
            reader.fieldnames = [(f or "").strip() for f in reader.fieldnames]
            ids: list[str] = []
            problems: list[str] = []
            for row in reader:
                pid = (row.get("patient_id") or "").strip()
                if not PATIENT_ID_RE.fullmatch(pid):
                    problems.append(
                        f"{path}: line {reader.line_num}: patient_id: {pid[:80]!r} is not "
                        "1-64 letters, digits, '-' or '_'"
                    )
                elif pid not in ids:
                    ids.append(pid)
    except FileNotFoundError:
        raise BatchInputError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise BatchInputError(f"{path}: not UTF-8 text") from None
    except csv.Error as exc:
        raise BatchInputError(f"{path}: line {reader.line_num}: {exc}") from None
    if problems:
        raise BatchInputError("\n".join(problems))
    return ids


def select_patients(
    store: CaseStore,
    *,
    patients: Sequence[str] = (),
    since: datetime | None = None,
    from_csv: Path | None = None,
) -> list[tuple[str, int]]:
    """(patient id, record version) pairs to build, sorted by id."""
    chosen = _chosen(
        {s.id: s.record_version for s in store.patients()}, _wanted(patients, from_csv)
    )
    if since is not None:
        changed = {s.id for s in store.patients(changed_since=since)}
        chosen = [(pid, version) for pid, version in chosen if pid in changed]
    return chosen


def _wanted(patients: Sequence[str], from_csv: Path | None) -> list[str]:
    """The ids asked for (`--patient`, then the CSV's), checked; empty: everyone."""
    wanted: list[str] = []
    for pid in patients:
        if not isinstance(pid, str) or not PATIENT_ID_RE.fullmatch(pid):
            raise BatchInputError(
                f"--patient: {str(pid)[:80]!r} is not 1-64 letters, digits, '-' or '_'"
            )
        wanted.append(pid)
    if from_csv is not None:
        wanted.extend(read_patient_csv(from_csv))
    return wanted


def _chosen(versions: Mapping[str, int], wanted: Sequence[str]) -> list[tuple[str, int]]:
    unknown = sorted(set(wanted) - set(versions))
    if unknown:
        raise BatchInputError(f"not in the store: {', '.join(unknown)}")
    return [(pid, versions[pid]) for pid in sorted(set(wanted) if wanted else versions)]


def plan_jobs(
    selected: Sequence[tuple[str, int]],
    templates: Sequence[Path],
    options: BatchOptions,
    names: Mapping[str, str],
) -> tuple[list[Job], list[Outcome]]:
    """The jobs to run, and the skipped outcomes of notebooks that are already current.

    `options` must be normalized (`run_batch` does it: a password-free URL, an absolute
    `out`); `names` are the patients' names by id (the case workbook is named after its
    patient, `notebook_name`; a workbook under the patient's older name is renamed)."""
    digests = {t: _sha256(t) for t in templates}
    planned: list[Job | Outcome] = []
    for pid, record_version in selected:
        params: dict[str, ParameterValue] = dict(case_parameters(pid, options.database_url))
        for template in templates:
            name = notebook_name(Path(template).name, pid, names.get(pid, ""))
            out = output_path(options.out, pid, name)
            adopt_previous(out, pid)
            inputs = job_inputs(record_version, digests[template], params)
            planned.append(_plan_one(pid, Path(template), out, params, inputs, options))
    return _split(planned)


def plan_clinic(
    versions: Mapping[str, int], template: Path, options: BatchOptions, *, today: date | None = None
) -> Job | Outcome:
    """The clinic notebook's job, or its skipped outcome when nothing it reads changed.

    It reads every live patient (`versions`: id -> record version, which every saved
    change, flag review and result review bumps) and today's date (what is overdue or
    due), so a patient changed, added or removed, or a new day, rebuilds it."""
    params: dict[str, ParameterValue] = dict(clinic_parameters(options.database_url))
    inputs = {
        "patients": sorted(versions.items()),
        "today": (today or date.today()).isoformat(),
        "template_sha256": _sha256(template),
        "casebook_version": casebook.__version__,
        "parameters": params,
    }
    out = output_path(options.out, None, template.name)
    return _plan_one(CLINIC, template, out, params, inputs, options)


def _plan_one(
    pid: str,
    template: Path,
    out: Path,
    params: dict[str, ParameterValue],
    inputs: dict[str, Any],
    options: BatchOptions,
) -> Job | Outcome:
    html = out.with_suffix(".html") if options.html else None
    digest = input_hash(inputs)
    for stale in stale_temp_files(out):  # a killed run's leftovers, built or skipped
        stale.unlink(missing_ok=True)
    if not options.force and is_current(out, digest, html):
        return Outcome(pid, out.name, "skipped", str(out), html=_s(html))
    return Job(
        patient_id=pid,
        template=str(template.resolve()),
        output=str(out),
        parameters=params,
        inputs=inputs,
        digest=digest,
        html=_s(html),
    )


def _split(planned: Sequence[Job | Outcome]) -> tuple[list[Job], list[Outcome]]:
    return (
        [p for p in planned if isinstance(p, Job)],
        [p for p in planned if isinstance(p, Outcome)],
    )


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _s(path: Path | None) -> str | None:
    return None if path is None else str(path)


def run_batch(options: BatchOptions, *, progress: bool | None = None) -> BatchReport:
    """Select, plan and build; never raises for a notebook's failure (see the report).

    One way through: the options are checked and normalized here, the plan turns them
    into jobs (plus the batch's one `Kernels`), an executor runs the jobs, the report
    collects the outcomes. With the default templates the clinic notebook is one more
    job, planned like the others. Raises `BatchInputError`/`ParameterError` for a bad
    selection before anything runs. `progress`: a tqdm bar on standard error (None: only
    when it is a terminal). Ctrl-C stops the batch: finished notebooks are kept and
    recorded, the report says `interrupted`, and running the same batch again builds
    only what is left. A batch with nothing to build over a plain SQLite file is planned
    from a read-only peek at it (`casebook.store.peek`), without SQLAlchemy.
    """
    start = time.perf_counter()
    _check(options)
    templates = list(options.templates) if options.templates else default_templates()
    for template in templates:
        if not Path(template).is_file():
            raise BatchInputError(f"no template at {template}")
    current = _all_current(options, templates)
    if current is not None:
        current.seconds = time.perf_counter() - start
        return current

    from casebook.notebooks._exec import batch_helpers

    # the fork server imports while SQLAlchemy is imported, the store read, the jobs planned
    with batch_helpers(options.kernel, local=options.executor != "dask") as helpers:
        from casebook.store import CaseStore, redact_url, resolve_url

        url = resolve_url(options.database_url or None)
        options = _normalized(options, public_database_url(url))
        env = kernel_env(url)
        kernels = Kernels(mode=options.kernel, cell_timeout=options.cell_timeout, env=env)
        with CaseStore(url) as store:
            selected = select_patients(
                store, patients=options.patients, since=options.since, from_csv=options.from_csv
            )
            summaries = store.patients()
        versions = {s.id: s.record_version for s in summaries}
        names = {s.id: s.name for s in summaries}
        jobs, skipped = _plan(options, templates, selected, versions, names)
        report = _report(redact_url(url), options, skipped)
        done: set[str] = set()
        bar = _progress_bar(len(jobs), progress)
        try:
            with bar:
                for outcome in _execute(jobs, kernels, options, report.workers, helpers):
                    report.outcomes.append(outcome)
                    done.add(outcome.output)
                    bar.update(1)
                    if outcome.status == "failed":
                        bar.set_postfix_str(f"failed: {len(report.failed)}")
        except KeyboardInterrupt:
            report.interrupted = True
            report.outcomes.extend(
                Outcome(
                    j.patient_id,
                    j.notebook,
                    "failed",
                    j.output,
                    ename="Interrupted",
                    evalue="the batch was stopped before this notebook was built",
                )
                for j in jobs
                if j.output not in done
            )
    report.seconds = time.perf_counter() - start
    return report


def _plan(
    options: BatchOptions,
    templates: Sequence[Path],
    selected: Sequence[tuple[str, int]],
    versions: Mapping[str, int],
    names: Mapping[str, str],
) -> tuple[list[Job], list[Outcome]]:
    """The selected patients' notebooks and, with the default set, the clinic notebook."""
    jobs, skipped = plan_jobs(selected, templates, options, names)
    if options.templates is None:  # the default set: plus the clinic view, once per batch
        jobs, skipped = _split(
            [*jobs, *skipped, plan_clinic(versions, template_path(CLINIC_TEMPLATE), options)]
        )
    return jobs, skipped


def _all_current(options: BatchOptions, templates: Sequence[Path]) -> BatchReport | None:
    """The all-skipped report when the store is a plain SQLite file and every planned
    notebook is current, read with `sqlite3` alone; None when unsure or when anything is
    to be built (the store path then reads the store, checks it, and says what is wrong)."""
    from casebook.store.peek import fast_sqlite_url, patient_names, patient_versions

    target = None if options.since is not None else fast_sqlite_url(options.database_url)
    versions = None if target is None else patient_versions(target[1])
    names = None if target is None else patient_names(target[1])
    if target is None or versions is None or names is None:
        return None
    options = _normalized(options, target[0])
    chosen = _chosen(versions, _wanted(options.patients, options.from_csv))
    jobs, skipped = _plan(options, templates, chosen, versions, names)
    return None if jobs else _report(target[0], options, skipped)


def _report(database: str, options: BatchOptions, outcomes: Sequence[Outcome]) -> BatchReport:
    return BatchReport(
        database=database,
        out=str(options.out),
        executor=options.executor,
        workers=options.workers or os.cpu_count() or 1,
        kernel=options.kernel,
        outcomes=list(outcomes),
    )


def _normalized(options: BatchOptions, public_url: str) -> BatchOptions:
    from dataclasses import replace

    return replace(options, database_url=public_url, out=Path(options.out).resolve())


def _check(options: BatchOptions) -> None:
    if options.executor == "dask" and not options.scheduler:
        raise BatchInputError("--executor dask needs --scheduler tcp://HOST:PORT")
    if options.workers is not None and options.workers < 1:
        raise BatchInputError("--workers must be at least 1")
    if not options.cell_timeout > 0:
        raise BatchInputError("--cell-timeout must be a positive number of seconds")
    if options.kernel not in ("forked", "plain"):
        raise ParameterError("kernel", "must be 'forked' or 'plain'")


def _execute(
    jobs: Sequence[Job],
    kernels: Kernels,
    options: BatchOptions,
    workers: int,
    helpers: list[HelperProcess],
) -> Iterator[Outcome]:
    """Outcomes as jobs finish, from the executor the options name."""
    if not jobs:
        return iter(())
    from casebook.notebooks._exec import run_dask, run_local

    if options.executor == "dask" and options.scheduler:
        return run_dask(jobs, kernels, options.scheduler)
    return run_local(jobs, kernels, workers, helpers)


def _progress_bar(total: int, progress: bool | None) -> Any:  # a tqdm bar: tqdm is untyped
    from tqdm import tqdm

    disable = (not sys.stderr.isatty()) if progress is None else not progress
    return tqdm(total=total, unit="nb", file=sys.stderr, disable=disable, desc="casebook batch")
