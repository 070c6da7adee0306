"""`casebook letter referral|summary PATIENT`: make a letter from the record, keep it with
the case and write the PDF (default notebooks/<patient>/letters/<kind>-<date>.pdf)."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from casebook.cli._common import AddCommand, open_store
from casebook.errors import InputError

__all__ = [
    "cmd_letter",
    "register",
]


def _visit_date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"--visit: {text!r} is not a date (YYYY-MM-DD)") from None


def cmd_letter(args: argparse.Namespace) -> int:
    from casebook.letters import (
        after_visit_summary,
        default_letter_path,
        load_clinic_settings,
        referral_letter,
        save_letter,
    )

    with open_store(args) as store:
        case = store.load_case(args.patient)
        settings = load_clinic_settings(database_url=store.url)
        if args.kind == "referral":
            letter = referral_letter(
                case,
                store.catalog,
                settings,
                to=args.to,
                flags=args.flag or None,
                reason=args.reason,
                question=args.question,
                include_notes=args.note or (),
            )
        else:
            letter = after_visit_summary(
                case, store.catalog, settings, visit_date=_visit_date(args.visit)
            )
        out = (
            Path(args.out)
            if args.out
            else default_letter_path(Path("notebooks") / case.patient.id, letter)
        )
        _, written = save_letter(store, letter, out)
    print(written)
    return 0


def _common_options(p: argparse.ArgumentParser) -> None:
    # The group's sub-commands take --db/--actor after their own arguments too.
    p.add_argument(
        "--db",
        metavar="URL",
        default=argparse.SUPPRESS,
        help="database URL (default: $CASEBOOK_DB, else sqlite:///casebook.db)",
    )
    p.add_argument(
        "--actor",
        metavar="NAME",
        default=argparse.SUPPRESS,
        help="who makes the letter, for the audit log",
    )
    p.add_argument("patient", help="the patient's id")
    p.add_argument(
        "--out",
        metavar="FILE.pdf",
        help="where to write the PDF (default: notebooks/<patient>/letters/<kind>-<date>.pdf)",
    )


def register(add: AddCommand) -> None:
    group = add(
        "letter",
        cmd_letter,
        "make a letter from the record as PDF, kept with the case: a referral "
        "letter, or the patient's after-visit summary",
    )
    kinds = group.add_subparsers(
        dest="kind", required=True, metavar="KIND", help="referral or summary"
    )
    p = kinds.add_parser(
        "referral",
        help="a referral letter to a specialist",
        description="A referral letter: the red flags (or --reason), history, "
        "medications, supplements, recent results, scores and --question.",
    )
    _common_options(p)
    p.add_argument(
        "--to",
        default="The specialist",
        metavar="TEXT",
        help="the recipient (lines separated by newlines)",
    )
    p.add_argument(
        "--flag",
        action="append",
        metavar="RULE",
        help="refer for this raised red flag only (repeat for more; default: all)",
    )
    p.add_argument("--reason", metavar="TEXT", help="a reason for referral in your own words")
    p.add_argument("--question", metavar="TEXT", help="the question for the specialist")
    p.add_argument(
        "--note",
        action="append",
        metavar="ID",
        help="include this practitioner note (repeat; notes are left out otherwise)",
    )
    p = kinds.add_parser(
        "summary",
        help="the after-visit summary for the patient",
        description="The after-visit summary, in plain words, for the patient.",
    )
    _common_options(p)
    p.add_argument(
        "--visit",
        metavar="DATE",
        help="the visit (YYYY-MM-DD; default: the latest visit held, "
        "not a check-in the patient sent)",
    )
