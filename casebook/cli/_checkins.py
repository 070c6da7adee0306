"""`casebook checkin`: send check-ins, list those to review, accept or mark them, export
and import them as FHIR."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from casebook.cli._common import AddCommand, day_arg, open_store
from casebook.errors import InputError

__all__ = ["cmd_checkin", "register"]

_DEFAULT_INSTRUMENTS = "phq9,gad7,symptoms,bristol"


def _send(args: argparse.Namespace) -> int:
    from casebook.serve.checkin_links import send_checkin
    from casebook.serve.server import link_base

    if not args.target:
        raise InputError("send: name the patient (casebook checkin send PATIENT)")
    base = link_base(args.host, args.port, args.public_url)
    with open_store(args) as store:
        url, checkin = send_checkin(
            store,
            args.target,
            args.instruments.split(","),
            due=day_arg("--due", args.due),
            days=args.days,
            base_url=base,
        )
    print(url)
    print(
        f"(check-in {checkin.id} for {args.target}: {', '.join(checkin.instruments)}; "
        f"open until {checkin.expires_at:%Y-%m-%d %H:%M} UTC)",
        file=sys.stderr,
    )
    return 0


def _due(args: argparse.Namespace) -> int:
    from casebook.interop.csv_write import frame_to_csv
    from casebook.serve.checkin_links import due_checkins, due_frame
    from casebook.serve.server import link_base

    before = day_arg("--visit-before", args.visit_before)
    if before is None:
        raise InputError("due: --visit-before DATE is needed")
    base = link_base(args.host, args.port, args.public_url)
    with open_store(args) as store:
        rows = due_checkins(store, before, args.instruments.split(","), base_url=base)
    if args.csv:
        Path(args.csv).write_text(frame_to_csv(due_frame(rows)), encoding="utf-8")
        print(f"wrote {len(rows)} check-in link(s) to {args.csv}", file=sys.stderr)
        return 0
    for row in rows:
        print(f"{row.patient_id}\t{row.visit_date}\t{row.link}")
    print(f"({len(rows)} check-in(s) sent)", file=sys.stderr)
    return 0


def _list(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        found = store.checkins(args.target) if args.target else store.checkins(status="submitted")
    for c in found:
        when = f"{c.submitted_at:%Y-%m-%d %H:%M}" if c.submitted_at else "-"
        print(f"{c.id}\t{c.patient_id}\t{c.status}\t{when}\t{','.join(c.instruments)}")
    if not found:
        print("no check-ins to review", file=sys.stderr)
    return 0


def _review(args: argparse.Namespace) -> int:
    from casebook.checkins import accept, mark_reviewed, visit_to_accept_into
    from casebook.errors import NotFoundError

    if not args.target:
        raise InputError(f"{args.action}: name the check-in id")
    with open_store(args) as store:
        checkin = store.checkin(args.target)
        if checkin is None:
            raise NotFoundError(f"no check-in {args.target!r} in the store")
        if args.action == "review":
            mark_reviewed(store, checkin.id, checkin.patient_id)
            print(f"check-in {checkin.id} marked reviewed")
            return 0
        visit = visit_to_accept_into(store.load_case(checkin.patient_id), args.visit or "")
        _, kept = accept(store, checkin.id, checkin.patient_id, visit)
    apart = f"; kept apart (the visit already holds them): {', '.join(kept)}" if kept else ""
    print(f"check-in {checkin.id} accepted into visit {visit}{apart}")
    return 0


def _export(args: argparse.Namespace) -> int:
    import json

    from casebook.errors import NotFoundError
    from casebook.interop.fhir_checkins import checkin_to_bundle

    if not args.target:
        raise InputError("export: name the check-in id")
    with open_store(args) as store:
        checkin = store.checkin(args.target)
        if checkin is None:
            raise NotFoundError(f"no check-in {args.target!r} in the store")
        print(json.dumps(checkin_to_bundle(checkin, store.catalog), indent=2, ensure_ascii=False))
    return 0


def _import(args: argparse.Namespace) -> int:
    import json

    from casebook.checkins import import_bundle

    if not args.target:
        raise InputError("import: name the bundle file (casebook checkin import FILE)")
    path = Path(args.target)
    try:
        bundle = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"import: no file {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"import: {path} cannot be read ({type(exc).__name__})") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"import: {path} is not JSON (line {exc.lineno})") from None
    with open_store(args) as store:
        checkin, new = import_bundle(store, bundle)
    if not new:
        print(f"check-in {checkin.id} is already in the store: nothing imported")
        return 0
    print(
        f"imported check-in {checkin.id} for {checkin.patient_id} "
        f"({', '.join(checkin.instruments)}): to review"
    )
    return 0


def cmd_checkin(args: argparse.Namespace) -> int:
    actions = {
        "send": _send,
        "due": _due,
        "list": _list,
        "accept": _review,
        "review": _review,
        "export": _export,
        "import": _import,
    }
    return actions[args.action](args)


def register(add: AddCommand) -> None:
    p = add("checkin", cmd_checkin, "send patient check-ins, list, accept or review them")
    p.add_argument(
        "action",
        choices=("send", "due", "list", "accept", "review", "export", "import"),
        help="send PATIENT prints a link; due sends one to every patient with a visit "
        "coming; list shows those to review (or one patient's); accept CHECKIN --visit "
        "VISIT (its date or id) moves its answers onto that visit; review CHECKIN marks it "
        "reviewed; export "
        "CHECKIN prints it as a FHIR Bundle (Questionnaire + QuestionnaireResponse); import "
        "FILE stores a submitted check-in from such a bundle, to review (once: importing "
        "it again writes nothing)",
    )
    p.add_argument(
        "target", nargs="?", help="the patient id (send, list), check-in id, or FILE (import)"
    )
    p.add_argument(
        "--instruments",
        default=_DEFAULT_INSTRUMENTS,
        help=f"comma-separated instruments to ask (default {_DEFAULT_INSTRUMENTS})",
    )
    p.add_argument("--due", metavar="DATE", help="send: open until the end of this day")
    p.add_argument(
        "--days", type=int, default=7, help="send: how long it stays open (default 7 days)"
    )
    p.add_argument("--visit-before", metavar="DATE", help="due: visits up to this date")
    p.add_argument("--csv", metavar="FILE", help="due: write the links as CSV for a mail merge")
    p.add_argument(
        "--visit",
        metavar="VISIT",
        help="accept: the visit to accept it into, by its date (YYYY-MM-DD) or id",
    )
    p.add_argument("--host", default="127.0.0.1", help="the server address in links")
    p.add_argument("--port", type=int, default=8866, help="the server port in links")
    p.add_argument(
        "--public-url",
        metavar="URL",
        default=None,
        help="the links' base, e.g. https://clinic.example.org "
        "(default: $CASEBOOK_PUBLIC_URL, else http://HOST:PORT)",
    )
