"""Users and roles on PostgreSQL: each practitioner is a database login, member of the group
role of their kind, and the database itself enforces what each kind may do.

- practitioner: reads and writes the clinical record.
- front-desk: patients' names and contact, access links, check-ins and appointments;
  no results, notes or plans.
- reviewer: reads the record, never writes.
- admin: adds and disables users; reads no records.

What each kind may do to each table is one entry of `ACCESS` (a new table, one entry);
`apply_grants`, run with the URL of the tables' owner, turns it into GRANTs. A table
without an entry is granted to no one. The owner is none of these: it owns the tables,
triggers and the audit key, and is used for `casebook init` and `casebook users`.

The group roles of a store are named in the table `db_roles` when the first user is
added (`cb_<database>[_<schema>]_<kind>`: roles belong to the whole PostgreSQL cluster,
so each store gets its own). SQLite has no roles: it is the single-practitioner mode.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa

from casebook.errors import NotFoundError, RoleError
from casebook.store import tables
from casebook.store.role_kinds import ROLE_HELP, Role

__all__ = [
    "ACCESS",
    "FUNCTIONS",
    "ROLE_HELP",
    "Grant",
    "Role",
    "TableAccess",
    "User",
    "add_user",
    "apply_grants",
    "denied",
    "disable_user",
    "group_names",
    "list_users",
    "my_role",
    "refusals_named",
    "require_postgresql",
]


Grant = Literal["read", "write", "append", "append-blind"]
"""read: SELECT; write: SELECT, INSERT, UPDATE, DELETE; append (the audit log): SELECT and
INSERT; append-blind: INSERT, and SELECT of every column but the record's contents
(`before`, `after`)."""


@dataclass(frozen=True)
class TableAccess:
    """How an error names the table ("your role cannot read {noun}"), and each role's grant."""

    noun: str
    grants: Mapping[Role, Grant]


_RECORD = "results, notes or plans"
_CLINICAL: Mapping[Role, Grant] = {Role.PRACTITIONER: "write", Role.REVIEWER: "read"}
_DESK: Mapping[Role, Grant] = {**_CLINICAL, Role.FRONT_DESK: "write"}
_ALL_READ: Mapping[Role, Grant] = dict.fromkeys(Role, "read")

ACCESS: dict[str, TableAccess] = {
    "patients": TableAccess("patients", _DESK),
    "visits": TableAccess(_RECORD, _CLINICAL),
    "history_entries": TableAccess(_RECORD, _CLINICAL),
    "symptom_ratings": TableAccess(_RECORD, _CLINICAL),
    "instrument_responses": TableAccess(_RECORD, _CLINICAL),
    "test_orders": TableAccess(_RECORD, _CLINICAL),
    "test_results": TableAccess(_RECORD, _CLINICAL),
    "plan_items": TableAccess(_RECORD, _CLINICAL),
    "notes": TableAccess(_RECORD, _CLINICAL),
    "flag_reviews": TableAccess(_RECORD, _CLINICAL),
    "letters": TableAccess(_RECORD, _CLINICAL),
    "access_tokens": TableAccess("access links", _DESK),
    "access_sessions": TableAccess("access links", _DESK),
    # the front desk sends check-ins and sees their state; the answers a patient submits
    # become a visit (a clinical table) written by the dashboard's own login
    "checkins": TableAccess("check-ins", _DESK),
    "audit_log": TableAccess(
        "the audit log",
        {Role.PRACTITIONER: "append", Role.FRONT_DESK: "append-blind", Role.REVIEWER: "read"},
    ),
    "audit_checkpoints": TableAccess("audit checkpoints", _ALL_READ),
    "audit_keys": TableAccess("the audit key", {}),  # the owner's alone
    "db_roles": TableAccess("roles", _ALL_READ),
    "alembic_version": TableAccess("the schema version", _ALL_READ),
}
"""Table -> what each role may do to it (the owner may do everything)."""

FUNCTIONS: dict[str, tuple[Role, ...]] = {
    "casebook_audit_checkpoint(text)": (Role.PRACTITIONER, Role.ADMIN),
}
"""The owner's functions (migration 0011) not open to every login -> who may call them."""

_PRIVILEGES: dict[Grant, str] = {
    "read": "SELECT",
    "write": "SELECT, INSERT, UPDATE, DELETE",
    "append": "SELECT, INSERT",
    "append-blind": "INSERT",
}
_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    can_login: bool


def require_postgresql(conn: sa.Connection) -> None:
    if conn.dialect.name != "postgresql":
        raise RoleError(
            "users and roles need PostgreSQL; a SQLite store is single-practitioner "
            "(the login that holds its file and audit key)"
        )


def _run(conn: sa.Connection, template: str, *args: str) -> None:
    """A DDL statement with identifiers (%I) and literals (%L) quoted by PostgreSQL."""
    marks = {f"a{i}": a for i, a in enumerate(args)}
    params = ", ".join(f"CAST(:a{i} AS text)" for i in range(len(args)))
    sql = conn.execute(sa.text(f"SELECT format('{template}', {params})"), marks).scalar_one()
    conn.exec_driver_sql(sql.replace("%", "%%"))


def _owner(conn: sa.Connection) -> bool:
    found = conn.execute(
        sa.text(
            "SELECT pg_has_role(session_user, tableowner, 'MEMBER') FROM pg_tables "
            "WHERE schemaname = current_schema() AND tablename = 'audit_log'"
        )
    ).scalar()
    return bool(found)


def group_names(conn: sa.Connection, *, create: bool = False) -> dict[Role, str]:
    """The group role of each kind of user of this store; with `create` (the owner), made
    when missing. Empty when there are none yet."""
    require_postgresql(conn)
    r = tables.db_roles
    names = {Role(kind): name for kind, name in conn.execute(sa.select(r.c.kind, r.c.role_name))}
    if names or not create:
        return names
    database, schema = conn.execute(sa.text("SELECT current_database(), current_schema()")).one()
    base = "cb_" + re.sub(r"[^a-z0-9_]", "_", str(database).lower())
    if schema != "public":
        base += "_" + re.sub(r"[^a-z0-9_]", "_", str(schema).lower())
    for role in Role:
        name = f"{base[:48]}_{role.value.replace('-', '')}"
        _run(conn, "CREATE ROLE %I NOLOGIN", name)
        names[role] = name
    conn.execute(sa.insert(r), [{"kind": k.value, "role_name": n} for k, n in names.items()])
    apply_grants(conn)
    return names


def apply_grants(conn: sa.Connection) -> None:
    """Grant each group role what `ACCESS` says (and nothing else), on every table of the
    schema; run by the tables' owner after `casebook init` adds tables."""
    names = group_names(conn)
    if not names or not _owner(conn):
        return
    present = set(
        conn.execute(
            sa.text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        ).scalars()
    )
    groups = list(names.values())
    schema = conn.execute(sa.text("SELECT current_schema()")).scalar_one()
    for group in groups:
        _run(conn, "GRANT USAGE ON SCHEMA %I TO %I", schema, group)
    for table in sorted(present):
        for group in groups:
            _run(conn, "REVOKE ALL ON %I FROM %I", table, group)
        for role, grant in ACCESS.get(table, TableAccess("", {})).grants.items():
            _run(conn, f"GRANT {_PRIVILEGES[grant]} ON %I TO %I", table, names[role])
            if grant == "append-blind":
                columns = [c.name for c in tables.audit_log.c if c.name not in ("before", "after")]
                _run(conn, f"GRANT SELECT ({', '.join(columns)}) ON %I TO %I", table, names[role])
            known = tables.metadata.tables.get(table)
            if grant != "read" and known is not None and "id" in known.c:
                sequence = conn.execute(
                    sa.text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table}
                ).scalar()
                if sequence:
                    conn.exec_driver_sql(
                        f"GRANT USAGE ON SEQUENCE {sequence} TO {_quoted(conn, names[role])}"
                    )
    for function, roles in FUNCTIONS.items():
        for role in roles:
            conn.exec_driver_sql(
                f"GRANT EXECUTE ON FUNCTION {function} TO {_quoted(conn, names[role])}"
            )


def _quoted(conn: sa.Connection, name: str) -> str:
    return str(conn.execute(sa.text("SELECT quote_ident(:n)"), {"n": name}).scalar_one())


def add_user(conn: sa.Connection, name: str, role: Role) -> str:
    """Create the login `name` as a member of `role`'s group; its new password (shown once).
    Run as the tables' owner (the first time: it creates the groups and grants) or as an
    admin user."""
    if not _NAME.fullmatch(name):
        raise RoleError(f"user name {name!r}: use lowercase letters, digits and _ (at most 63)")
    names = group_names(conn, create=_owner(conn))
    if not names:
        raise RoleError("no roles yet: add the first user with the URL of the tables' owner")
    exists = conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name})
    if exists.first() is not None:
        raise RoleError(f"user {name!r} exists already on this PostgreSQL server")
    password = secrets.token_urlsafe(24)
    extra = " CREATEROLE" if role is Role.ADMIN else ""
    _run(conn, f"CREATE ROLE %I LOGIN{extra} PASSWORD %L IN ROLE %I", name, password, names[role])
    version = int(conn.execute(sa.text("SHOW server_version_num")).scalar_one())
    if role is Role.ADMIN and version >= 160000:  # CREATEROLE alone manages roles before 16
        for kind, group in names.items():
            if kind is not Role.ADMIN:  # may add members, inherits nothing from them
                _run(
                    conn, "GRANT %I TO %I WITH ADMIN OPTION, INHERIT FALSE, SET FALSE", group, name
                )
    return password


def list_users(conn: sa.Connection) -> list[User]:
    """The users of this store (members of its group roles), by name."""
    names = group_names(conn)
    kind_of = {name: role for role, name in names.items()}
    rows = conn.execute(
        sa.text(
            "SELECT m.rolname, g.rolname AS grp, m.rolcanlogin FROM pg_auth_members a "
            "JOIN pg_roles g ON g.oid = a.roleid JOIN pg_roles m ON m.oid = a.member "
            "WHERE g.rolname = ANY(:groups) AND m.rolname <> ALL(:groups) ORDER BY m.rolname"
        ),
        {"groups": list(kind_of)},
    ).all()
    users: dict[str, User] = {}
    for member, group, can_login in rows:
        role = kind_of[group]
        if member not in users or role is Role.ADMIN:  # an admin is in every group
            users[member] = User(member, role, bool(can_login))
    return sorted(users.values(), key=lambda u: u.name)


def disable_user(conn: sa.Connection, name: str) -> None:
    """Stop `name` from logging in (its audit entries stay, under its name)."""
    if name not in {u.name for u in list_users(conn)}:
        raise NotFoundError(f"no user {name!r} in this store")
    _run(conn, "ALTER ROLE %I NOLOGIN", name)


def my_role(conn: sa.Connection) -> Role | None:
    """The kind of the connection's login (None for the owner, a superuser or SQLite)."""
    if conn.dialect.name != "postgresql" or _owner(conn):
        return None
    names = group_names(conn)
    for role in sorted(names, key=lambda r: r is not Role.ADMIN):  # an admin may be in all
        member = conn.execute(
            sa.text("SELECT pg_has_role(session_user, :g, 'MEMBER')"), {"g": names[role]}
        ).scalar()
        if member:
            return role
    return None


_DENIED = re.compile(r"permission denied for (?:table|relation|function) (\w+)")
_NOUNS = {name: access.noun for name, access in ACCESS.items()} | {
    "casebook_audit_checkpoint": "audit checkpoints"
}


@contextmanager
def refusals_named(*, writing: bool) -> Iterator[None]:
    """Inside: a refusal by the database's grants raises `denied`'s one-line RoleError."""
    try:
        yield
    except sa.exc.DBAPIError as exc:
        refused = denied(exc, writing=writing)
        if refused is None:
            raise
        raise refused from None


def denied(exc: BaseException, *, writing: bool) -> RoleError | None:
    """The one-line error for a refusal by the database's grants, or None for any other
    error: "your role cannot read results, notes or plans"."""
    orig = getattr(exc, "orig", None)
    if getattr(orig, "sqlstate", None) != "42501":
        return None
    found = _DENIED.search(str(orig))
    noun = _NOUNS.get(found.group(1), "this") if found else "this"
    verb = "change" if writing else "read"
    return RoleError(f"your role cannot {verb} {noun}")
