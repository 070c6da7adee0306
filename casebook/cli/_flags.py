"""Red-flag commands: `casebook flags [PATIENT]` lists them with their state, and
`casebook flag ack|refer|resolve PATIENT RULE` records a step (audited)."""

from __future__ import annotations

import argparse

from casebook.cli._common import AddCommand, open_store
from casebook.errors import InputError

__all__ = [
    "cmd_flag",
    "cmd_flags",
    "register",
]

_STEPS = {"ack": "acknowledged", "refer": "referred", "resolve": "resolved"}


def cmd_flags(args: argparse.Namespace) -> int:
    from casebook.cli._report import flag_lines

    with open_store(args) as store:
        if args.patient is not None:
            statuses = store.flag_statuses(args.patient)
            print(
                "\n".join(flag_lines(statuses))
                if statuses
                else f"{args.patient}: no red flags raised"
            )
            return 0
        shown = 0
        for patient in store.patients():
            open_ = [s for s in store.flag_statuses(patient.id) if s.state == "open"]
            if open_:
                shown += len(open_)
                print(f"{patient.id} ({patient.name}):")
                print("\n".join(flag_lines(open_)))
        if not shown:
            print("no open red flags")
    return 0


def cmd_flag(args: argparse.Namespace) -> int:
    state = _STEPS[args.step]
    if args.to is not None and state != "referred":
        raise InputError("--to: only `casebook flag refer` takes it")
    if args.outcome is not None and state != "resolved":
        raise InputError("--outcome: only `casebook flag resolve` takes it")
    if state == "referred" and not (args.to or "").strip():
        raise InputError("--to: say to whom the patient was referred, e.g. --to 'GI clinic'")
    if state == "resolved" and not (args.outcome or "").strip():
        raise InputError("--outcome: say how it was resolved, e.g. --outcome 'biopsy normal'")
    with open_store(args) as store:
        review = store.review_flag(
            args.patient,
            args.rule,
            state,
            note=args.note or "",
            referred_to=args.to or "",
            outcome=args.outcome or "",
        )
        print(
            f"{args.patient}: {args.rule} {review.state} by {review.actor} "
            f"at {review.at:%Y-%m-%d %H:%M} UTC"
        )
    return 0


def register(add: AddCommand) -> None:
    p = add(
        "flags",
        cmd_flags,
        "list a patient's red flags with their state "
        "(without PATIENT: every open red flag in the store)",
    )
    p.add_argument(
        "patient", nargs="?", help="the patient's id (default: every open flag in the store)"
    )
    p = add(
        "flag",
        cmd_flag,
        "record a step of a red flag: ack(nowledge), refer or resolve "
        "(audited; newer alarm evidence re-opens it)",
    )
    p.add_argument(
        "step", choices=tuple(_STEPS), help="ack, refer (needs --to) or resolve (needs --outcome)"
    )
    p.add_argument("patient", help="the patient's id")
    p.add_argument("rule", help="the red-flag rule key, as `casebook flags PATIENT` shows it")
    p.add_argument("--note", metavar="TEXT", help="a note for the record")
    p.add_argument("--to", metavar="TEXT", help="refer: to whom (service or clinician)")
    p.add_argument("--outcome", metavar="TEXT", help="resolve: the outcome")
