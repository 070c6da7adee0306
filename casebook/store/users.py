"""`casebook users`: add, list and disable the users of a PostgreSQL store, each a database
login in the group role of their kind (`casebook.store.roles`). Run with the URL of the
tables' owner (the first user: it creates the group roles and grants) or of an admin user.
Another login is refused in one line."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from casebook.errors import RoleError
from casebook.store import roles
from casebook.store.casestore import CaseStore
from casebook.store.roles import Role, User

__all__ = ["add_user", "disable_user", "list_users"]


@contextmanager
def _admin(store: CaseStore) -> Iterator[sa.Connection]:
    try:
        with store.engine.begin() as conn:
            roles.require_postgresql(conn)
            yield conn
    except sa.exc.DBAPIError as exc:
        if getattr(getattr(exc, "orig", None), "sqlstate", None) != "42501":
            raise
        raise RoleError("only the owner of the tables or an admin user may manage users") from None


def add_user(store: CaseStore, name: str, role: Role) -> str:
    """Add the login `name` as a `role`; its password, to hand over once."""
    with _admin(store) as conn:
        return roles.add_user(conn, name, role)


def list_users(store: CaseStore) -> list[User]:
    with _admin(store) as conn:
        return roles.list_users(conn)


def disable_user(store: CaseStore, name: str) -> None:
    """Stop `name` from logging in; their entries stay in the audit log."""
    with _admin(store) as conn:
        roles.disable_user(conn, name)
