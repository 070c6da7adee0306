"""Commands over the record: init, import, patients, show, audit, export."""

from __future__ import annotations

import argparse
import sys

from casebook.cli._common import AddCommand, ensure_kernel, open_store, read_input
from casebook.errors import CasebookError, InputError

__all__ = [
    "AuditBroken",
    "cmd_audit",
    "cmd_export",
    "cmd_import",
    "cmd_init",
    "cmd_patients",
    "cmd_show",
    "register",
]


def cmd_init(args: argparse.Namespace) -> int:
    from casebook.letters import clinic_settings_help
    from casebook.store import redact_url

    with open_store(args, create=True) as store:
        print(f"store ready at {redact_url(store.url)}")
        # Guidance on stderr: stdout stays the one line scripts read.
        print(clinic_settings_help(store.url), file=sys.stderr)
    if not args.no_kernel:
        ensure_kernel(always_say=True)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from casebook.interop import case_from_json, import_patients_csv, import_results_csv
    from casebook.store import import_case

    with open_store(args) as store:
        if args.kind == "patients":
            summary = import_patients_csv(store, args.file)
            print(f"patients: {summary}")
        elif args.kind == "results":
            summary = import_results_csv(store, args.file)
            print(f"results: {summary}")
        elif args.kind in ("case", "csv"):
            if args.kind == "csv":
                from casebook.interop.case_csv import read_case_csv

                case = read_case_csv(args.file)
            else:
                case = case_from_json(read_input(args.file), args.file)
            outcome = import_case(store, case, replace=args.replace)
            print(f"case {case.patient.id}: {outcome}")
        else:  # fhir
            from casebook.interop.fhir import bundle_from_json

            case = bundle_from_json(read_input(args.file), args.file)
            outcome = import_case(store, case, replace=args.replace)
            print(f"case {case.patient.id}: {outcome}")
    return 0


def cmd_patients(args: argparse.Namespace) -> int:
    from casebook.cli._report import patients_text

    with open_store(args) as store:
        patients = store.patients()
    if args.format == "csv":
        from casebook.interop.csv_io import patients_to_csv

        sys.stdout.write(patients_to_csv(patients))
    else:
        print(patients_text(patients))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from casebook.cli._report import case_text

    with open_store(args) as store:
        sys.stdout.write(case_text(store.load_case(args.patient), store.catalog))
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from casebook.cli._report import audit_text, verdict_line

    checks = args.verify or args.checkpoint
    if checks == (args.patient is not None) or (args.verify and args.checkpoint):
        raise InputError(
            "give a PATIENT to show, --verify to check the whole log, "
            "or --checkpoint to check it and sign how it stands"
        )
    with open_store(args) as store:
        if checks:
            if args.checkpoint:
                verdict, made = store.checkpoint_audit_log()
            else:
                verdict, made = store.verify_audit_log(), None
            if not verdict.intact:
                raise AuditBroken(
                    f"audit log broken at row {verdict.broken_id}: {verdict.problem} "
                    f"({verdict.rows} row(s) before it are intact)"
                )
            print(verdict_line(verdict, made))
            return 0
        store.get_patient(args.patient)
        print(audit_text(store.audit_log(args.patient)))
    return 0


class AuditBroken(CasebookError):
    """`casebook audit --verify` found a row whose hash does not match."""


def cmd_export(args: argparse.Namespace) -> int:
    if (args.format == "csv") != (args.out is not None):
        raise InputError("--format csv writes a folder: give it with --out DIR (and only then)")
    with open_store(args) as store:
        case = store.load_case(args.patient)
        if args.format == "csv":
            from casebook.interop.case_csv import write_case_csv

            print(f"wrote case {case.patient.id} to {write_case_csv(case, args.out)}")
        elif args.format == "json":
            from casebook.interop import case_to_json

            sys.stdout.write(case_to_json(case))
        else:
            from casebook.interop.fhir import bundle_to_json

            sys.stdout.write(bundle_to_json(case, store.catalog))
    return 0


def register(add: AddCommand) -> None:
    p = add(
        "init",
        cmd_init,
        "create the store, or migrate it to this version, and install "
        "the 'casebook' Jupyter kernel",
    )
    p.add_argument(
        "--no-kernel",
        action="store_true",
        help="do not install the 'casebook' Jupyter kernel that case notebooks name",
    )
    p = add("import", cmd_import, "import patients, results, a case (JSON) or a FHIR bundle")
    p.add_argument(
        "kind",
        choices=("patients", "results", "case", "csv", "fhir"),
        help="what FILE holds: patients or results (CSV), a case (JSON), a case's folder "
        "of CSV files (`export --format csv`) or a FHIR bundle",
    )
    p.add_argument("file", help="the file to import ('-' reads standard input for case/fhir)")
    p.add_argument(
        "--replace",
        action="store_true",
        help="case/csv/fhir: overwrite an existing different case (it stays in the audit log)",
    )
    p = add("patients", cmd_patients, "list the patients")
    p.add_argument(
        "--format",
        choices=("table", "csv"),
        default="table",
        help="table, or csv in the columns `import patients` reads (default: table)",
    )
    p = add("show", cmd_show, "show one case: visits, scores, results, plan and red flags")
    p.add_argument("patient", help="the patient's id")
    p = add("audit", cmd_audit, "show the audit log of one patient, or check the whole log")
    p.add_argument("patient", nargs="?", help="the patient's id")
    p.add_argument(
        "--verify",
        action="store_true",
        help="check every row's hash and seal and every checkpoint; exit 1 at the first "
        "broken link",
    )
    p.add_argument(
        "--checkpoint",
        action="store_true",
        help="check the log as --verify does, then sign how it stands with the store's key "
        "(rows removed before a checkpoint show; SQLite keeps it beside the key too)",
    )
    p = add("export", cmd_export, "write one whole case to standard output")
    p.add_argument("patient", help="the patient's id")
    p.add_argument(
        "--format",
        choices=("json", "csv", "fhir"),
        default="json",
        help="casebook's JSON, a folder of CSV files (with --out), or a FHIR R4 bundle "
        "(default json)",
    )
    p.add_argument(
        "--out", metavar="DIR", help="csv: the folder to write, new or empty (not stdout)"
    )
