"""`casebook users add|list|disable`: the users of a PostgreSQL store (admin only)."""

from __future__ import annotations

import argparse

from casebook.cli._common import AddCommand, open_store
from casebook.store.role_kinds import Role, roles_help

__all__ = ["cmd_users", "register"]


def cmd_users(args: argparse.Namespace) -> int:
    from casebook.store.users import add_user, disable_user, list_users

    with open_store(args) as store:
        if args.action == "add":
            password = add_user(store, args.name, Role(args.role))
            print(f"user {args.name} added as {args.role}; password (shown once): {password}")
        elif args.action == "disable":
            disable_user(store, args.name)
            print(f"user {args.name} can no longer log in; their audit entries stay")
        else:
            for user in list_users(store):
                state = "" if user.can_login else " (disabled)"
                print(f"{user.name}\t{user.role}{state}")
    return 0


def register(add: AddCommand) -> None:
    group = add(
        "users",
        cmd_users,
        "add, list or disable the users of a PostgreSQL store, each a database login "
        "(run with the owner's or an admin's --db). SQLite is single-practitioner: no users",
    )
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = actions.add_parser("add", help="add a user (prints their password once)")
    p.add_argument("name", help="the login name (lowercase letters, digits, _)")
    p.add_argument(
        "--role",
        required=True,
        choices=[role.value for role in Role],
        help=roles_help(),
    )
    actions.add_parser("list", help="list the users and their roles")
    p = actions.add_parser("disable", help="stop a user from logging in")
    p.add_argument("name", help="the login name")
