"""The PostgreSQL pool hands out live connections without a ping per checkout: one the
server ended while it sat in the pool is replaced, and the caller never sees it."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import sqlalchemy as sa

from casebook.store import engine as store_engine
from casebook.store.engine import create_store_engine

pytestmark = pytest.mark.postgres


def _pid(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


def test_a_connection_the_server_ended_is_replaced(pg_url: str) -> None:
    engine = create_store_engine(pg_url)
    try:
        first = _pid(engine)
        with engine.connect() as conn:  # the same pooled connection, as a checkout finds it
            fd = conn.connection.driver_connection.fileno()  # type: ignore[union-attr]  # psycopg's
        ender = sa.create_engine(pg_url)
        with ender.connect() as other:
            other.exec_driver_sql(f"SELECT pg_terminate_backend({first})")
        ender.dispose()
        # the pooled socket has the server's goodbye to read: wait for that state
        for _ in range(2400):
            if store_engine._readable(fd):
                break
            threading.Event().wait(0.05)
        assert store_engine._readable(fd)
        second = _pid(engine)  # no error: the pool replaced the ended connection
        assert second != first
        assert _pid(engine) == second  # and a live one is kept
    finally:
        engine.dispose()


def test_a_long_idle_connection_is_pinged_and_kept(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_store_engine(pg_url)
    pings: list[object] = []
    real = engine.dialect.do_ping

    def ping(conn: Any) -> bool:
        pings.append(conn)
        return real(conn)

    monkeypatch.setattr(engine.dialect, "do_ping", ping)
    try:
        first = _pid(engine)
        assert pings == []  # in use a moment ago: no ping
        monkeypatch.setattr(store_engine, "IDLE_PING_SECONDS", -1.0)
        assert _pid(engine) == first and len(pings) == 1
    finally:
        engine.dispose()


def test_the_pool_hands_out_the_connection_used_last(pg_url: str) -> None:
    """Last in, first out: one client's requests keep to one warm connection (its prepared
    statements, `Connection.info`) while others idle, instead of cycling through them."""
    engine = create_store_engine(pg_url)
    try:
        with engine.connect() as a, engine.connect() as b:
            pids = [_pid_of(a), _pid_of(b)]  # b is returned first, then a
        assert [_pid(engine) for _ in range(3)] == [pids[0]] * 3
    finally:
        engine.dispose()


def _pid_of(conn: sa.Connection) -> int:
    return int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
