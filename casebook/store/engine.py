"""Engines for the store: the URL rules, SQLite set up for concurrent writers, and
PostgreSQL's pool handing out live connections without a ping per checkout."""

from __future__ import annotations

import json
import os
import select
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from casebook.errors import StoreError

__all__ = [
    "AUDIT_CHAIN_LOCK",
    "DEFAULT_URL",
    "IDLE_PING_SECONDS",
    "NEW_PATIENTS_LOCK",
    "advisory_lock",
    "create_store_engine",
    "redact_url",
    "resolve_url",
]

DEFAULT_URL = "sqlite:///casebook.db"


def resolve_url(url: str | None = None) -> str:
    """`url` if given, else `$CASEBOOK_DB`, else `sqlite:///casebook.db` (working directory)."""
    chosen = url or os.environ.get("CASEBOOK_DB") or DEFAULT_URL
    try:
        parsed = make_url(chosen)
    except (ArgumentError, ValueError) as exc:  # terse messages; ValueError: a bad port
        raise StoreError(f"not a database URL: {redact_url(chosen)!r} ({exc})") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise StoreError(
            f"unsupported database {parsed.get_backend_name()!r}: use sqlite:///FILE "
            "or postgresql+psycopg://USER@HOST/DB"
        )
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        chosen = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return chosen


def redact_url(url: str) -> str:
    """The URL with any password masked, for messages and notebook metadata."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "<unparseable database URL>"


def _sqlite_setup(engine: sa.Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # Writers take the write lock up front, so two writers never deadlock on an
        # upgrade from a read lock; readers stay deferred and never block in WAL mode.
        if conn.get_execution_options().get("casebook_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


IDLE_PING_SECONDS = 30.0
"""A pooled PostgreSQL connection idle longer than this is pinged before it is used again."""


def _readable(fd: int) -> bool:
    """Has the socket `fd` anything to read (or hung up), without waiting?"""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(0))
    return bool(select.select([fd], [], [], 0)[0])  # Windows: no poll()


def _postgresql_setup(engine: sa.Engine) -> None:
    """Hand out only live connections, without a round trip for each (`pool_pre_ping`
    costs one per checkout, two per check-in submission). A server that restarts or ends
    a session sends a notice and closes the socket, so an idle connection with anything to
    read is stale and replaced, at no cost to a live one; one idle longer than
    `IDLE_PING_SECONDS` (a network that may have dropped it silently) is pinged first.
    The pool replaces a connection whose check raises `DisconnectionError`."""

    @sa.event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["casebook_idle_since"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("casebook_idle_since")
        if since is None:  # new (the pool clears `info` when it reconnects)
            return
        if dbapi_conn.closed or _readable(dbapi_conn.fileno()):
            raise sa.exc.DisconnectionError("the database closed this connection")
        if time.monotonic() - since > IDLE_PING_SECONDS:
            try:
                engine.dialect.do_ping(dbapi_conn)
            except Exception as exc:  # any failure: use another connection
                raise sa.exc.DisconnectionError("the database did not answer a ping") from exc


# Keys of the transaction-level advisory locks (PostgreSQL) that serialize what a row lock
# cannot: appending to the audit chain, and creating patients whose ids do not exist yet.
AUDIT_CHAIN_LOCK = 0x63617365626F6F6B  # "casebook"
NEW_PATIENTS_LOCK = AUDIT_CHAIN_LOCK + 1


def advisory_lock(conn: sa.Connection, *keys: int) -> None:
    """Hold each of `keys`, in that order, until this transaction ends (PostgreSQL), in one
    round trip. SQLite needs none: its write transactions already run one at a time."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(*(sa.func.pg_advisory_xact_lock(key) for key in keys)))


class _NotJson:
    """What a JSON column of a SQLite store reads as when its text is not JSON (PostgreSQL
    refuses such text on write): a value no model accepts, so that record fails validation
    and the bulk read reports that one patient (`reads.load_cases`) instead of failing."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<not JSON>"


_NOT_JSON = _NotJson()


def _json_or_marker(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return _NOT_JSON


def create_store_engine(url: str | None = None) -> sa.Engine:
    """The store's engine. Its pool hands out the connection returned last (LIFO): a
    server's requests keep to its warm connections (PostgreSQL's prepared statements and
    caches, `Connection.info`) instead of cycling through every one a busy spell opened."""
    resolved = resolve_url(url)
    parsed = make_url(resolved)
    if parsed.get_backend_name() == "sqlite":
        engine = sa.create_engine(
            resolved,
            connect_args={"timeout": 60},
            json_deserializer=_json_or_marker,
            pool_use_lifo=True,
        )
        _sqlite_setup(engine)
    else:
        engine = sa.create_engine(resolved, pool_use_lifo=True)
        _postgresql_setup(engine)
    return engine
