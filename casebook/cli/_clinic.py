"""Commands of the clinic view: review, worklist, outcomes, clinic."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from casebook.cli._common import AddCommand, day_arg, open_store
from casebook.errors import InputError
from casebook.format import wrapped

if TYPE_CHECKING:
    import pandas as pd

    from casebook.clinic import ClinicFilter

__all__ = [
    "cmd_clinic",
    "cmd_outcomes",
    "cmd_review",
    "cmd_worklist",
    "register",
]

_FORMATS = ("table", "csv", "json")
_TABLE_HIDDEN = ("ref",)  # record ids: in CSV and JSON, not in the printed table


def _render(df: pd.DataFrame, fmt: str) -> str:
    from casebook.clinic import format_table, to_csv, to_json

    if fmt == "csv":
        return to_csv(df)
    if fmt == "json":
        return to_json(df) + "\n"
    shown = df.drop(columns=[c for c in _TABLE_HIDDEN if c in df.columns])
    shown.attrs.update(df.attrs)
    return format_table(shown)


def _filter(args: argparse.Namespace) -> ClinicFilter:
    from casebook.clinic import ClinicFilter

    return ClinicFilter(
        practitioner=args.practitioner,
        date_from=day_arg("--from", args.date_from),
        date_to=day_arg("--to", args.date_to),
    )


def cmd_review(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        ids = "all" if args.all else args.result
        done = store.mark_results_reviewed(args.patient, ids)
    print(f"{args.patient}: {len(done)} result{'s' if len(done) != 1 else ''} marked reviewed")
    return 0


def cmd_worklist(args: argparse.Namespace) -> int:
    from casebook.clinic import (
        by_patient,
        check_kinds,
        format_todo,
        load_clinic_frames,
        shown_items,
        sign_off_in_range,
        store_worklist,
    )

    if args.overdue_days < 0:
        raise InputError("--overdue-days: must be 0 or more")
    today = day_arg("--today", args.today)
    kinds = check_kinds(args.kind or None)
    with open_store(args) as store:
        frames = load_clinic_frames(store, _filter(args))
        if args.sign_off_in_range:
            done = sign_off_in_range(
                store,
                patient_id=args.patient,
                today=today,
                clinic_filter=_filter(args),
                frames=frames,
            )
            n = sum(done.values())
            if not n:
                print("No in-range results to sign off")
                return 0
            print(
                f"Signed off {n} in-range result{'s' if n != 1 else ''} of {len(done)} "
                f"patient{'s' if len(done) != 1 else ''} (each one audit entry)"
            )
            return 0
        df = store_worklist(
            store,
            clinic_filter=_filter(args),
            overdue_days=args.overdue_days,
            today=today,
            frames=frames,
        )
    if args.patient is not None:
        if args.patient not in set(df["patient_id"]):
            print(f"{args.patient}: nothing on the worklist")
            return 0
        df = df[df["patient_id"] == args.patient].reset_index(drop=True)
    shown = shown_items(df, kinds=kinds, everything=args.all)
    if args.format != "table":
        sys.stdout.write(_render(shown, args.format))
        return 0
    unfold = args.unfold or args.patient is not None
    sys.stdout.write(format_todo(by_patient(shown), shown, unfold=unfold))
    waiting = int((df["kind"] == "result-in-range").sum()) - int(
        (shown["kind"] == "result-in-range").sum()
    )
    if waiting:
        where = f" --patient {args.patient}" if args.patient else ""
        note = (
            f"{waiting} in-range result{'s' if waiting != 1 else ''} to sign off, not listed: "
            f"`casebook worklist --sign-off-in-range{where}` signs them off in one step, "
            "--all lists them."
        )
        print("\n" + "\n".join(wrapped(note, "")))
    return 0


def cmd_outcomes(args: argparse.Namespace) -> int:
    from casebook.clinic import store_outcomes

    if args.min_patients < 1:
        raise InputError("--min-patients: must be 1 or more")
    with open_store(args) as store:
        df = store_outcomes(
            store,
            by=args.by,
            min_patients=args.min_patients,
            clinic_filter=_filter(args),
            deidentified=args.deidentify,
        )
    if args.format == "csv" and df.attrs.get("left_out"):  # a CSV has no room for caveats
        print(f"casebook outcomes: {df.attrs['left_out']}", file=sys.stderr)
    sys.stdout.write(_render(df, args.format))
    return 0


def cmd_clinic(args: argparse.Namespace) -> int:
    from casebook.clinic import clinic_notebook
    from casebook.notebooks import NotebookFailed
    from casebook.store import resolve_url

    try:
        path = clinic_notebook(
            resolve_url(args.db),
            args.out,
            execute=args.execute,
            practitioner=args.practitioner or "",
        )
    except NotebookFailed as exc:
        print(f"casebook clinic: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


def _filters(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--practitioner",
        metavar="NAME",
        help="only patients whose record NAME changed (the audit log's actor)",
    )
    p.add_argument("--from", dest="date_from", metavar="DATE", help="from this date (YYYY-MM-DD)")
    p.add_argument("--to", dest="date_to", metavar="DATE", help="up to this date (YYYY-MM-DD)")
    p.add_argument(
        "--format",
        choices=_FORMATS,
        default="table",
        help="table (with caveats), csv or json (default: table)",
    )


def register(add: AddCommand) -> None:
    p = add("review", cmd_review, "mark a patient's test results reviewed (audited)")
    p.add_argument("patient", help="the patient's id")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--result", action="append", default=[], metavar="ID", help="this result id (repeatable)"
    )
    which.add_argument("--all", action="store_true", help="every result not yet reviewed")
    p = add(
        "worklist",
        cmd_worklist,
        "the to-do list across patients: one line a patient, most urgent first",
    )
    _filters(p)
    p.add_argument(
        "--kind",
        action="append",
        metavar="KIND",
        help="only items of KIND (repeatable), e.g. red-flag, result-to-review, test-overdue, "
        "result-in-range (an unknown kind names them all)",
    )
    p.add_argument(
        "--all",
        action="store_true",
        help="also what needs no decision (in-range results to sign off)",
    )
    p.add_argument("--patient", metavar="ID", help="only this patient, each item listed")
    p.add_argument("--unfold", action="store_true", help="list each patient's items")
    p.add_argument(
        "--sign-off-in-range",
        action="store_true",
        help="mark every in-range result on the list reviewed, in one audited step "
        "(with --patient: that patient's)",
    )
    p.add_argument(
        "--overdue-days",
        type=int,
        default=30,
        metavar="N",
        help="a test is overdue N days after it was ordered (default 30)",
    )
    p.add_argument("--today", metavar="DATE", help=argparse.SUPPRESS)
    p = add(
        "outcomes",
        cmd_outcomes,
        "outcomes across patients: per patient, plan category or protocol template",
    )
    p.add_argument(
        "--by",
        choices=("patient", "category", "template"),
        default="patient",
        help="one row per patient (default), per plan category or per protocol template",
    )
    _filters(p)
    p.add_argument(
        "--min-patients",
        type=int,
        default=5,
        metavar="N",
        help="no group figure from fewer than N patients (default 5)",
    )
    p.add_argument(
        "--deidentify",
        action="store_true",
        help="no names, ids replaced, dates shifted per patient (see README)",
    )
    p = add(
        "clinic",
        cmd_clinic,
        "write DIR/clinic.ipynb: the clinic's worklist and outcomes across patients",
    )
    p.add_argument("--execute", action="store_true", help="also run it now, outputs saved")
    p.add_argument(
        "--practitioner",
        metavar="NAME",
        help="the notebook's practitioner filter (default: everyone)",
    )
    p.add_argument(
        "--out",
        default="notebooks",
        metavar="DIR",
        help="output folder, where the case workbooks are (default: notebooks)",
    )
