"""Statements sent together on PostgreSQL: psycopg 3's pipeline mode.

Each statement of a write transaction otherwise waits for the server's answer before the
next is sent: a check-in submission made some twenty round trips. Inside
`pipelined(conn)`, statements whose results the caller does not read in the block (the
inserts and updates run through SQLAlchemy; their `rowcount` is not known there) and the
reads sent with `send` all go out without waiting, and the block's end waits for them
once. The server still runs them one by one, in order, in the caller's transaction: a
read sees every write sent before it. The first error aborts the transaction and is
raised when the block ends (a refused write as one line, StoreError, no value from the
row; any other as SQLAlchemy raises it), so the caller's transaction is rolled back
whole. A read's rows are taken after the block.

SQLite is in-process (no round trips): there `pipelined` does nothing and `send` runs its
statement at once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from casebook.errors import StoreError

__all__ = ["Pending", "Row", "pipelined", "send"]


class Row:
    """One row read by `send` on PostgreSQL: by name (`row.id`) and as `row._mapping`,
    as the store's row readers take a SQLAlchemy row."""

    __slots__ = ("_mapping",)

    def __init__(self, mapping: dict[str, Any]) -> None:
        self._mapping = mapping

    def __getattr__(self, name: str) -> Any:
        try:
            return self._mapping[name]
        except KeyError:
            raise AttributeError(name) from None


Pending = Callable[[], list[Any]]
"""The rows of a statement sent with `send`: call it after the `pipelined` block."""


@contextmanager
def pipelined(conn: sa.Connection) -> Iterator[None]:
    """Send the block's statements without waiting for each (PostgreSQL; see the module).
    Read no result inside the block but through `send`, after it."""
    if conn.dialect.name != "postgresql":
        yield
        return
    import psycopg  # the PostgreSQL driver, loaded only with a PostgreSQL store

    driver: psycopg.Connection[Any] = conn.connection.driver_connection  # type: ignore[assignment]  # psycopg's, on this dialect
    try:
        with driver.pipeline():
            yield
    except psycopg.Error as exc:  # raised by the server when the block ends
        if isinstance(exc, psycopg.IntegrityError):  # as `writes.insert_records` says it
            kind = type(exc).__name__
            raise StoreError(f"the database refused a write ({kind}); nothing was saved") from None
        # any other as SQLAlchemy raises it, so that a refusal by the grants still reads
        # as RoleError where the caller names it (`roles.refusals_named`)
        raise sa.exc.DBAPIError.instance(None, None, exc, psycopg.Error) from exc


@functools.lru_cache(maxsize=64)
def _compiled(
    stmt: sa.Select[Any], dialect: sa.Dialect
) -> tuple[str, dict[str, Any], tuple[sa.types.TypeEngine[Any], ...]]:
    """The statement's SQL for the driver, its own bound values (a LIMIT's), and each
    selected column's type as this dialect reads it, in order."""
    compiled = stmt.compile(dialect=dialect)
    types = tuple(column.type.dialect_impl(dialect) for column in stmt.selected_columns)
    return str(compiled), dict(compiled.params), types


@functools.lru_cache(maxsize=256)
def _reading(
    types: tuple[sa.types.TypeEngine[Any], ...],
    dialect: sa.Dialect,
    fnames: tuple[bytes | None, ...],
    codes: tuple[int, ...],
) -> tuple[list[str], list[tuple[str, Any]]]:
    """The names of a result's columns and what reads each as SQLAlchemy would (by the
    type the server sent, `codes`): worked out once per statement and types sent."""
    names = [(name or b"").decode() for name in fnames]
    processors = [
        (name, process)
        for name, kind, code in zip(names, types, codes, strict=True)
        if (process := kind.result_processor(dialect, code))
    ]
    return names, processors


def send(conn: sa.Connection, stmt: sa.Select[Any], params: Mapping[str, Any]) -> Pending:
    """Send the SELECT `stmt` with `params` (inside `pipelined`: without waiting); returns
    what reads its rows, to call after the block."""
    if conn.dialect.name != "postgresql":
        done = list(conn.execute(stmt, dict(params)).all())
        return lambda: done
    dialect = conn.dialect
    sql, bound, types = _compiled(stmt, dialect)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]  # psycopg's
    cursor.execute(sql, {**bound, **params})

    def rows() -> list[Any]:
        fetched = cursor.fetchall()  # waits for the server, once for the whole block
        result = cursor.pgresult  # its columns as the server sent them (no `description`)
        fields = range(result.nfields if result is not None else 0)
        cursor.close()
        names, processors = _reading(
            types,
            dialect,
            tuple(result.fname(i) for i in fields),
            tuple(result.ftype(i) for i in fields),
        )
        out = []
        for values in fetched:
            row = dict(zip(names, values, strict=True))
            for name, process in processors:
                row[name] = process(row[name])
            out.append(Row(row))
        return out

    return rows
