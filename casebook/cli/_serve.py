"""Commands for the patient dashboards: serve, access."""

from __future__ import annotations

import argparse
import sys

from casebook.cli._common import AddCommand, open_store
from casebook.format import count

PUBLIC_URL_ENV = "CASEBOOK_PUBLIC_URL"  # casebook.serve.server.PUBLIC_URL_ENV, not imported:
# the parser is built without importing the server

__all__ = ["PUBLIC_URL_ENV", "cmd_access", "cmd_serve", "register"]


def cmd_serve(args: argparse.Namespace) -> int:
    from casebook.serve import run

    return run(
        args.db,
        host=args.host,
        port=args.port,
        public=args.public_url,
        trust_proxy=args.trust_proxy,
    )


def cmd_access(args: argparse.Namespace) -> int:
    from casebook.serve import grant, revoke
    from casebook.serve.server import link_base

    # The address is checked before the store is opened: a bad one stores no token.
    base = link_base(args.host, args.port, args.public_url) if args.action == "grant" else ""
    with open_store(args) as store:
        if args.action == "grant":
            print(grant(store, args.patient, args.days, base_url=base))
            print(
                f"(a new link for {args.patient}, valid for {count(args.days, 'day')}; "
                f"`casebook access revoke {args.patient}` ends every link)",
                file=sys.stderr,
            )
        else:
            ended = revoke(store, args.patient)
            print(f"revoked {ended} link(s) of {args.patient}; open pages stop working now")
    return 0


def register(add: AddCommand) -> None:
    p = add("serve", cmd_serve, "serve patient dashboards, one patient per link (Ctrl-C stops)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8866, help="port to listen on (default 8866)")
    p.add_argument(
        "--public-url",
        metavar="URL",
        default=None,
        help=f"where links point, e.g. https://clinic.example.org behind a TLS "
        f"proxy (default: ${PUBLIC_URL_ENV}, else http://HOST:PORT); "
        "https makes the session cookie Secure",
    )
    p.add_argument(
        "--trust-proxy",
        action="store_true",
        help="take the client address and scheme from X-Forwarded-* headers "
        "(only behind a proxy that sets them)",
    )
    p = add("access", cmd_access, "grant or revoke a patient's dashboard link")
    p.add_argument(
        "action",
        choices=("grant", "revoke"),
        help="grant prints a new link; revoke ends every link of the patient",
    )
    p.add_argument("patient", help="the patient's id")
    p.add_argument(
        "--days",
        type=int,
        default=30,
        help="grant: how long the link works, 1-365 days (default 30)",
    )
    p.add_argument("--host", default="127.0.0.1", help="grant: the server address in the link")
    p.add_argument("--port", type=int, default=8866, help="grant: the server port in the link")
    p.add_argument(
        "--public-url",
        metavar="URL",
        default=None,
        help=f"grant: the link's base, e.g. https://clinic.example.org (default: "
        f"${PUBLIC_URL_ENV}, else http://HOST:PORT)",
    )
