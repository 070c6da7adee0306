"""The `casebook` command. Thin: it parses arguments and calls library functions.

Exit codes: 0 done, 1 bad input or a store error (the message says what), 2 usage.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import ValidationError

from casebook import __version__
from casebook.errors import CasebookError, InputError

__all__ = ["main"]


def _store(args: argparse.Namespace, *, create: bool = False):  # type: ignore[no-untyped-def]
    from casebook.store import CaseStore

    return CaseStore(args.db, actor=args.actor, create=create)


def cmd_init(args: argparse.Namespace) -> int:
    from casebook.store import redact_url

    with _store(args, create=True) as store:
        print(f"store ready at {redact_url(store.url)}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from casebook.interop import case_from_json, import_patients_csv, import_results_csv
    from casebook.store import import_case

    with _store(args) as store:
        if args.kind == "patients":
            summary = import_patients_csv(store, args.file)
            print(f"patients: {summary}")
        elif args.kind == "results":
            summary = import_results_csv(store, args.file)
            print(f"results: {summary}")
        elif args.kind == "case":
            case = case_from_json(_read(args.file), args.file)
            outcome = import_case(store, case, replace=args.replace)
            print(f"case {case.patient.id}: {outcome}")
        else:  # fhir
            from casebook.interop.fhir import bundle_from_json

            case = bundle_from_json(_read(args.file), args.file)
            outcome = import_case(store, case, replace=args.replace)
            print(f"case {case.patient.id}: {outcome}")
    return 0


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None


def cmd_patients(args: argparse.Namespace) -> int:
    from casebook.report import patients_text

    with _store(args) as store:
        print(patients_text(store.patients()))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from casebook.report import case_text

    with _store(args) as store:
        sys.stdout.write(case_text(store.load_case(args.patient), store.catalog))
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from casebook.report import audit_text

    if args.verify == (args.patient is not None):
        raise InputError("give a PATIENT to show, or --verify to check the whole log")
    with _store(args) as store:
        if args.verify:
            verdict = store.verify_audit_log()
            if not verdict.intact:
                raise AuditBroken(
                    f"audit log broken at row {verdict.broken_id}: {verdict.problem} "
                    f"({verdict.rows} row(s) before it are intact)"
                )
            print(f"audit log intact: {verdict.rows} row(s), head {verdict.head}")
            return 0
        store.get_patient(args.patient)
        print(audit_text(store.audit_log(args.patient)))
    return 0


class AuditBroken(CasebookError):
    """`casebook audit --verify` found a row whose hash does not match."""


def cmd_export(args: argparse.Namespace) -> int:
    with _store(args) as store:
        case = store.load_case(args.patient)
        if args.format == "json":
            from casebook.interop import case_to_json

            sys.stdout.write(case_to_json(case))
        else:
            from casebook.interop.fhir import bundle_to_json

            sys.stdout.write(bundle_to_json(case, store.catalog))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from casebook.demo import build_demo, build_demo_notebooks, demo_text

    result = build_demo(args.dir, patients=args.patients, seed=args.seed)
    if not args.no_notebooks:
        print(f"building {len(result.patient_ids)} patients' notebooks ...", file=sys.stderr)
        build_demo_notebooks(result)
    sys.stdout.write(demo_text(result))
    failed = result.notebooks is not None and result.notebooks.counts["failed"] > 0
    if failed or args.no_serve:
        return 1 if failed else 0
    from casebook.serve import base_url, grant, run
    from casebook.store import CaseStore

    base = base_url("127.0.0.1", args.port)
    with CaseStore(result.url, actor="casebook-demo") as store:
        links = [(pid, grant(store, pid, 30, base_url=base)) for pid in result.patient_ids]
    print("\nPatient dashboards, one private link each (Ctrl-C stops the server):")
    for pid, url in links:
        print(f"  {pid}: {url}")
    sys.stdout.flush()
    return run(result.url, host="127.0.0.1", port=args.port)


def cmd_batch(args: argparse.Namespace) -> int:
    from casebook.notebooks import BatchOptions, parse_since, run_batch
    from casebook.store import resolve_url

    options = BatchOptions(
        database_url=resolve_url(args.db),
        out=Path(args.out),
        patients=tuple(args.patient),
        since=parse_since(args.since) if args.since else None,
        from_csv=Path(args.from_csv) if args.from_csv else None,
        templates=[Path(t) for t in args.template] or None,
        html=args.html,
        force=args.force,
        workers=args.workers,
        executor=args.executor,
        scheduler=args.scheduler,
        cell_timeout=args.cell_timeout,
        kernel=args.kernel,
    )
    report = run_batch(options)
    sys.stdout.write(report.summary_text())
    if args.report:
        report.write(Path(args.report))
    return report.exit_code


def cmd_new(args: argparse.Namespace) -> int:
    from casebook.notebooks import NotebookFailed
    from casebook.store import resolve_url
    from casebook.workbook import case_notebook

    try:
        path = case_notebook(args.patient, resolve_url(args.db), args.out, execute=args.execute)
    except NotebookFailed as exc:
        print(f"casebook new: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from casebook.serve import run

    return run(args.db, host=args.host, port=args.port)


def cmd_access(args: argparse.Namespace) -> int:
    from casebook.serve import base_url, grant, revoke

    with _store(args) as store:
        if args.action == "grant":
            print(grant(store, args.patient, args.days, base_url=base_url(args.host, args.port)))
            print(f"(a new link for {args.patient}, valid for {args.days} days; "
                  f"`casebook access revoke {args.patient}` ends every link)", file=sys.stderr)
        else:
            ended = revoke(store, args.patient)
            print(f"revoked {ended} link(s) of {args.patient}; open pages stop working now")
    return 0


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db",
        metavar="URL",
        default=argparse.SUPPRESS,
        help="database URL (default: $CASEBOOK_DB, else sqlite:///casebook.db)",
    )
    common.add_argument(
        "--actor",
        metavar="NAME",
        default=argparse.SUPPRESS,
        help="who is making changes, for the audit log "
        "(default: $CASEBOOK_USER, else the login name)",
    )
    parser = argparse.ArgumentParser(
        prog="casebook",
        parents=[common],
        description="A clinical case workbook on Jupyter. It documents and supports "
        "decisions; it never diagnoses.",
    )
    parser.add_argument("--version", action="version", version=f"casebook {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        name: str, func: Callable[[argparse.Namespace], int], help: str
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=help, description=help)
        p.set_defaults(func=func)
        return p

    add("init", cmd_init, "create the store, or migrate it to this version")
    p = add("import", cmd_import, "import patients, results, a case (JSON) or a FHIR bundle")
    p.add_argument("kind", choices=("patients", "results", "case", "fhir"))
    p.add_argument("file", help="the file to import ('-' reads standard input for case/fhir)")
    p.add_argument(
        "--replace",
        action="store_true",
        help="case/fhir: overwrite an existing different case (it stays in the audit log)",
    )
    add("patients", cmd_patients, "list the patients")
    p = add("show", cmd_show, "show one case: visits, scores, results, plan and red flags")
    p.add_argument("patient")
    p = add("audit", cmd_audit, "show the audit log of one patient, or check the whole log")
    p.add_argument("patient", nargs="?")
    p.add_argument("--verify", action="store_true",
                   help="check the hash chain of the whole audit log; exit 1 at the first "
                   "broken link")
    p = add("export", cmd_export, "write one whole case to standard output")
    p.add_argument("patient")
    p.add_argument("--format", choices=("json", "fhir"), default="json")
    p = add("new", cmd_new, "write DIR/PATIENT/case.ipynb, the practitioner's case workbook")
    p.add_argument("patient")
    p.add_argument("--execute", action="store_true", help="also run it now, outputs saved")
    p.add_argument("--out", default="notebooks", metavar="DIR",
                   help="output folder (default: notebooks)")
    p = add("demo", cmd_demo, "create a demo store of synthetic patients")
    p.add_argument("--patients", type=int, default=12, metavar="N")
    p.add_argument("--dir", default="casebook-demo", metavar="DIR")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-serve", action="store_true", help="do not start the dashboard server")
    p.add_argument("--port", type=int, default=8866, help="dashboard server port (default 8866)")
    p.add_argument("--no-notebooks", action="store_true",
                   help="only the store: skip building the case and dashboard notebooks")
    p = add("batch", cmd_batch, "build executed notebooks for many patients, in parallel")
    p.add_argument("--patient", action="append", default=[], metavar="ID",
                   help="only this patient (repeatable; default: all patients)")
    p.add_argument("--since", metavar="DATE", help="only patients whose record changed since")
    p.add_argument("--from", dest="from_csv", metavar="FILE.csv",
                   help="only the patients in this CSV file's patient_id column")
    p.add_argument("--out", default="notebooks", metavar="DIR",
                   help="output folder: DIR/<patient>/<template>.ipynb (default: notebooks)")
    p.add_argument("--template", action="append", default=[], metavar="PATH",
                   help="template to build (repeatable; default: templates/case.ipynb and "
                   "templates/dashboard.ipynb, whichever exist)")
    p.add_argument("--html", action="store_true",
                   help="also write a standalone HTML copy with the code hidden")
    p.add_argument("--force", action="store_true", help="rebuild notebooks that are current")
    p.add_argument("--workers", type=int, metavar="N",
                   help="local worker processes (default: the number of cores)")
    p.add_argument("--executor", choices=("local", "dask"), default="local")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="the Dask scheduler")
    p.add_argument("--cell-timeout", type=float, default=120.0, metavar="SECONDS",
                   help="per-cell timeout; a cell with no reply by then is a stall (default 120)")
    p.add_argument("--kernel", choices=("forked", "plain"), default="forked",
                   help="forked: fresh kernels forked from a pre-imported process (fast); "
                   "plain: a new Python process per kernel")
    p.add_argument("--report", metavar="FILE.json", help="write the per-patient report here")
    p = add("serve", cmd_serve, "serve patient dashboards, one patient per link (Ctrl-C stops)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8866, help="port to listen on (default 8866)")
    p = add("access", cmd_access, "grant or revoke a patient's dashboard link")
    p.add_argument("action", choices=("grant", "revoke"))
    p.add_argument("patient")
    p.add_argument("--days", type=int, default=30,
                   help="grant: how long the link works, 1-365 days (default 30)")
    p.add_argument("--host", default="127.0.0.1", help="grant: the server address in the link")
    p.add_argument("--port", type=int, default=8866, help="grant: the server port in the link")
    return parser


def _validation_line(exc: ValidationError) -> str:
    """One line for a pydantic error: the first offending field and why, never its value."""
    errors = exc.errors(include_url=False, include_input=False)
    if not errors:  # pragma: no cover - pydantic always reports at least one
        return f"{exc.title}: invalid"
    first = errors[0]
    field = ".".join(str(part) for part in first["loc"]) or exc.title
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{field}: {first['msg']}{more}"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    args.db = getattr(args, "db", None)
    args.actor = getattr(args, "actor", None)
    try:
        return int(args.func(args))
    except CasebookError as exc:  # bad input or state: one line, exit 1
        print(f"casebook {args.command}: {exc}", file=sys.stderr)
        return 1
    except ValidationError as exc:  # a model refused a value the command built
        print(f"casebook {args.command}: {_validation_line(exc)}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. `casebook export X | head`
        return 0
    except OSError as exc:  # e.g. a folder given as FILE, or an unwritable --dir
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"casebook {args.command}: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
