"""`casebook hub init|add-user|start`: a clinic of several practitioners on JupyterHub."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from casebook.cli._common import AddCommand
from casebook.errors import InputError

__all__ = ["cmd_hub", "register"]

_ROLES = ("practitioner", "front-desk", "reviewer", "admin")  # casebook.store.role_kinds.Role


def cmd_hub(args: argparse.Namespace) -> int:
    folder = Path(args.folder)
    if args.action == "init":
        return _init(args, folder)
    if args.action == "add-user":
        from casebook.hub import add_hub_user

        url = add_hub_user(folder, _admin_url(args), args.name, args.role)
        print(f"user {args.name} added as {args.role}; the hub hands {url} to their server")
        return 0
    return _start(folder)


def _admin_url(args: argparse.Namespace) -> str:
    url = args.db or os.environ.get("CASEBOOK_DB") or ""
    if not url.startswith("postgresql"):
        raise InputError(
            "--db: the PostgreSQL store's owner or admin URL (several practitioners need "
            "PostgreSQL; SQLite is single-practitioner)"
        )
    return str(url)


def _init(args: argparse.Namespace, folder: Path) -> int:
    from casebook.hub import HubSettings, init_hub
    from casebook.hub.config import proxy_command

    settings = HubSettings(
        ip=args.ip,
        port=args.port,
        public_url=args.public_url or "",
        authenticator=args.authenticator,
        spawner=args.spawner,
        dashboard_port=args.dashboard_port,
        admin_users=tuple(args.admin or ()),
    )
    config = init_hub(folder, settings, admin_url=_admin_url(args))
    print(f"hub written: {config} (settings in {folder / 'hub.toml'})")
    print(f"next: casebook hub add-user {folder} NAME --role practitioner --db OWNER_URL")
    if proxy_command(folder) is None:
        print(
            "the proxy is missing: npm install -g configurable-http-proxy "
            f"(or npm install --prefix {folder} configurable-http-proxy)"
        )
    return 0


def _start(folder: Path) -> int:
    from casebook.hub.config import installed_command, proxy_command
    from casebook.hub.settings import CONFIG_FILE, load_settings

    load_settings(folder)
    hub = installed_command("jupyterhub")
    if hub is None:
        raise InputError("jupyterhub is not installed: pip install 'casebook[hub]'")
    if proxy_command(folder) is None:
        raise InputError(
            "configurable-http-proxy is not installed: npm install -g "
            f"configurable-http-proxy (or npm install --prefix {folder} configurable-http-proxy)"
        )
    sys.stdout.flush()
    os.execv(hub, [hub, "-f", str(folder / CONFIG_FILE)])  # noqa: S606  # becomes the hub


def register(add: AddCommand) -> None:
    group = add(
        "hub",
        cmd_hub,
        "run a clinic of several practitioners on JupyterHub (PostgreSQL): init a hub "
        "folder, add users, start it",
    )
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = actions.add_parser("init", help="write a hub folder (--db: the store owner's URL)")
    p.add_argument("folder", help="the hub's folder (made private to you)")
    p.add_argument("--ip", default="127.0.0.1", help="address the hub listens on")
    p.add_argument("--port", type=int, default=8000, help="port the hub listens on")
    p.add_argument("--public-url", metavar="URL", help="https address of a TLS proxy in front")
    p.add_argument(
        "--authenticator",
        choices=("pam", "native", "dummy"),
        default="pam",
        help="pam: the server's accounts (default); native: accounts the hub keeps; "
        "dummy: any password (testing only)",
    )
    p.add_argument(
        "--spawner",
        choices=("local", "simple"),
        default="local",
        help="local: each server runs as its user's account (default; the hub runs as "
        "root); simple: all as the hub's user (testing only)",
    )
    p.add_argument("--dashboard-port", type=int, default=8866, help="patient dashboards' port")
    p.add_argument("--admin", action="append", metavar="NAME", help="a hub admin (repeatable)")
    _db_option(p)
    p = actions.add_parser("add-user", help="give a person a database login the hub hands over")
    p.add_argument("folder", help="the hub's folder")
    p.add_argument("name", help="their sign-in name (lower-case letters, digits, _)")
    p.add_argument("--role", required=True, choices=_ROLES, help="what the database lets them do")
    _db_option(p)
    p = actions.add_parser("start", help="run JupyterHub with this folder's config")
    p.add_argument("folder", help="the hub's folder")


def _db_option(p: argparse.ArgumentParser) -> None:
    # `casebook hub init FOLDER --db URL`, as the README writes it (also before `hub`)
    p.add_argument(
        "--db",
        metavar="URL",
        default=argparse.SUPPRESS,
        help="the PostgreSQL store's owner or admin URL (default: $CASEBOOK_DB)",
    )
