"""The two reads a check-in page makes on every GET, made on the server's event loop.

`CaseStore.session_and_checkin` reads the session and the check-in in a worker thread,
through SQLAlchemy's pool: a thread hop each way, the pool's checkout (with its ping on
PostgreSQL, a round trip) and the Core's execution, several times the cost of the reads.
`PageLookup` reads the same rows with the same two queries, joined into one statement
(one snapshot, one round trip; compiled once for the store's dialect, each column typed as
SQLAlchemy types it), on a connection of its own, used only from the event loop:

- SQLite: the file opened once, query-only, read inline (no thread: a keyed read of three
  small rows; in WAL mode a reader never waits for a writer). A busy file (a checkpoint or
  recovery under way) is not waited for;
- PostgreSQL: psycopg's asyncio connection, one page at a time on it; a dropped
  connection is opened again once.

Whatever it cannot do (a store it cannot open this way, a busy file, an error) goes to
`CaseStore.session_and_checkin` in a thread, which waits, retries or explains. Either way
the rows are read from the store at that request and nothing is cached: a revoked link, an
expired check-in or a deleted patient is refused at the next page.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from casebook.store.access import StoredLink, session_query, stored_session
from casebook.store.checkins import StoredCheckin, checkin_of_row, checkin_query
from casebook.store.pipeline import Row

if TYPE_CHECKING:
    import psycopg

    from casebook.store.casestore import CaseStore

__all__ = ["PageLookup"]

log = logging.getLogger("casebook.store")

_Found = tuple[StoredLink | None, StoredCheckin | None]


@functools.cache
def _page_query() -> sa.Select[Any]:
    """Both reads in one statement (one round trip, one snapshot): the session's columns
    named `s_...`, the check-in's `c_...`, each NULL when not found."""
    session, checkin = session_query().subquery("s"), checkin_query().subquery("c")
    anchor = sa.select(sa.literal_column("1").label("one")).subquery("a")
    return sa.select(
        *(column.label(f"s_{column.key}") for column in session.c),
        *(column.label(f"c_{column.key}") for column in checkin.c),
    ).select_from(anchor.outerjoin(session, sa.true()).outerjoin(checkin, sa.true()))


@dataclass
class _Read:
    """The page's statement as the driver takes it, and how its row is read back."""

    sql: str
    order: tuple[str, ...]  # positional parameters' names (SQLite), else ()
    names: tuple[str, ...]
    types: tuple[sa.types.TypeEngine[Any], ...]
    dialect: sa.Dialect
    _processors: dict[tuple[Any, ...], list[tuple[int, Callable[[Any], Any]]]] = field(
        default_factory=dict
    )

    def params(self, values: dict[str, str]) -> Any:
        return [values[name] for name in self.order] if self.order else values

    def found(self, values: Sequence[Any], codes: tuple[Any, ...]) -> _Found:
        """The session and the check-in of the row, typed as SQLAlchemy types them
        (`codes`: the types the server sent)."""
        processors = self._processors.get(codes)
        if processors is None:
            processors = [
                (i, process)
                for i, (kind, code) in enumerate(zip(self.types, codes, strict=True))
                if (process := kind.result_processor(self.dialect, code))
            ]
            self._processors[codes] = processors
        typed = list(values)
        for i, read in processors:
            typed[i] = read(typed[i])
        named = dict(zip(self.names, typed, strict=True))
        session = Row({k[2:]: v for k, v in named.items() if k.startswith("s_")})
        checkin = Row({k[2:]: v for k, v in named.items() if k.startswith("c_")})
        return (
            None if session.token_hash is None else stored_session(session),
            None if checkin.id is None else checkin_of_row(checkin),
        )


@functools.lru_cache(maxsize=4)
def _compiled(dialect: sa.Dialect) -> _Read:
    stmt = _page_query()
    compiled = stmt.compile(dialect=dialect)
    return _Read(
        str(compiled),
        tuple(compiled.positiontup or ()),
        tuple(stmt.selected_columns.keys()),
        tuple(column.type.dialect_impl(dialect) for column in stmt.selected_columns),
        dialect,
    )


def _sqlite_file(url: sa.URL) -> str | None:
    """The file of a plain SQLite URL (no options, not in memory), else None."""
    database = url.database
    if url.query or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return os.path.abspath(database)


class PageLookup:
    """`store.session_and_checkin`, awaited on the event loop (see the module)."""

    def __init__(self, store: CaseStore) -> None:
        self.store = store
        engine = store.engine
        self._dialect = engine.dialect
        self._kind = engine.dialect.name
        self._file = _sqlite_file(engine.url) if self._kind == "sqlite" else None
        self._sqlite: sqlite3.Connection | None = None
        self._sqlite_lock = threading.Lock()  # one loop uses it; a second would wait
        self._pg: psycopg.AsyncConnection[Any] | None = None
        self._pg_loop: asyncio.AbstractEventLoop | None = None
        self._pg_lock: asyncio.Lock | None = None

    async def session_and_checkin(self, session_hash: str, checkin_id: str) -> _Found:
        """The session of this hash (with its link) and the check-in of this id, as
        `CaseStore.session_and_checkin` reads them; None for either not found."""
        values = {"session_hash": session_hash, "checkin_id": checkin_id}
        found: _Found | None = None
        if self._file is not None:
            found = self._read_sqlite(values)
        elif self._kind == "postgresql":
            found = await self._read_postgresql(values)
        if found is None:  # not this way: the store's own read, in a thread
            found = await asyncio.to_thread(
                self.store.session_and_checkin, session_hash, checkin_id
            )
        return found

    def _read_sqlite(self, values: dict[str, str]) -> _Found | None:
        read = _compiled(self._dialect)
        with self._sqlite_lock:
            try:
                cursor = self._sqlite_connection().execute(read.sql, read.params(values))
                row = cursor.fetchone()
            except sqlite3.Error as exc:  # busy, or not a store this can read
                log.debug("page lookup on SQLite passed to the store: %s", type(exc).__name__)
                return None
        return None if row is None else read.found(row, (None,) * len(row))

    def _sqlite_connection(self) -> sqlite3.Connection:
        if self._sqlite is None:
            conn = sqlite3.connect(
                f"{Path(self._file or '/').as_uri()}?mode=rw",  # never creates a file
                uri=True,
                timeout=0,  # a busy file is not waited for: the store's read waits
                isolation_level=None,
                check_same_thread=False,
            )
            conn.execute("PRAGMA query_only=ON")
            self._sqlite = conn
        return self._sqlite

    async def _read_postgresql(self, values: dict[str, str]) -> _Found | None:
        import psycopg

        loop = asyncio.get_running_loop()
        if self._pg_lock is None or self._pg_loop is not loop:
            self._pg, self._pg_loop, self._pg_lock = None, loop, asyncio.Lock()
        async with self._pg_lock:
            for attempt in (1, 2):  # a connection dropped since the last page: once more
                try:
                    return await self._one_trip(values)
                except psycopg.OperationalError as exc:
                    await self._drop_pg()
                    log.debug("page lookup connection lost (%s), try %d", exc.sqlstate, attempt)
                except psycopg.Error as exc:  # refused (the login's grants): the store says
                    log.debug("page lookup passed to the store: %s", type(exc).__name__)
                    if self._pg is not None and self._pg.broken:
                        await self._drop_pg()
                    return None
        return None

    async def _one_trip(self, values: dict[str, str]) -> _Found | None:
        read = _compiled(self._dialect)
        conn = await self._pg_connection()
        cursor = await conn.execute(read.sql, values)
        row = await cursor.fetchone()
        codes = tuple(column.type_code for column in cursor.description or ())
        return None if row is None else read.found(row, codes)

    async def _pg_connection(self) -> psycopg.AsyncConnection[Any]:
        if self._pg is None or self._pg.closed:
            import psycopg

            args, options = self._dialect.create_connect_args(self.store.engine.url)
            self._pg = await psycopg.AsyncConnection.connect(*args, **options, autocommit=True)
        return self._pg

    async def _drop_pg(self) -> None:
        conn, self._pg = self._pg, None
        if conn is not None and not conn.closed:
            await conn.close()

    def _close_sqlite(self) -> None:
        with self._sqlite_lock:
            if self._sqlite is not None:
                self._sqlite.close()
                self._sqlite = None

    async def aclose(self) -> None:
        """Close the lookup's own connection (the store stays open)."""
        self._close_sqlite()
        if self._pg is not None and self._pg_loop is asyncio.get_running_loop():
            await self._drop_pg()

    def close(self) -> None:
        """Close the lookup's own connection from outside its event loop, once the loop has
        stopped (`casebook serve` stopping); the store stays open. The PostgreSQL
        connection is closed on the loop it was opened on while that loop is still open,
        else on a loop of its own (closing sends the server no request to wait for)."""
        self._close_sqlite()
        conn, self._pg = self._pg, None
        if conn is None or conn.closed:
            return
        loop = self._pg_loop
        if loop is not None and not loop.is_closed() and not loop.is_running():
            loop.run_until_complete(conn.close())
            return
        own = asyncio.new_event_loop()
        try:
            own.run_until_complete(conn.close())
        finally:
            own.close()
