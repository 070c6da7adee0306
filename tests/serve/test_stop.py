"""Stopping `casebook serve` closes what it opened: the check-in pages' own connection to
the store (`casebook.store.page_lookup.PageLookup`), on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from typing import Any

import pytest
from serve_helpers import free_port
from tornado.ioloop import IOLoop

from casebook.serve.server import build_app
from casebook.store import CaseStore

pytestmark = pytest.mark.slow


def test_stop_closes_the_page_lookups_connection(db_url: str, store: CaseStore) -> None:
    sigterm = signal.getsignal(signal.SIGTERM)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)  # the loop the server runs (Voilà's listen takes the current)
    seen: dict[str, Any] = {}
    tasks: list[asyncio.Task[None]] = []
    app = build_app(db_url, port=free_port(), forked=False, shared_charts=False)

    async def look_then_stop() -> None:
        lookup = app.app.settings["casebook_checkins"].lookup
        try:  # a page's read opens the lookup's own connection
            seen["found"] = await lookup.session_and_checkin("0" * 64, "0" * 32)
            seen["sqlite"], seen["pg"] = lookup._sqlite, lookup._pg
        finally:
            IOLoop.current().stop()  # as Ctrl-C does: the loop ends, then stop()

    app.on_ready = lambda: tasks.append(loop.create_task(look_then_stop()))
    try:
        app.start()  # runs until look_then_stop stops the loop, then calls app.stop()
    finally:
        IOLoop.current().close(all_fds=True)
        asyncio.set_event_loop(None)
        signal.signal(signal.SIGTERM, sigterm)  # Voilà's initialize installs its own
    assert seen["found"] == (None, None)
    if store.engine.dialect.name == "sqlite":
        assert seen["sqlite"] is not None and seen["pg"] is None
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            seen["sqlite"].execute("SELECT 1")
    else:
        assert seen["pg"] is not None and seen["sqlite"] is None
        assert seen["pg"].closed
