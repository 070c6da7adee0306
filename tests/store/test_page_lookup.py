"""A check-in page's lookup on the event loop: what the store reads, at every page (an
ended link is seen at once), and the store's own read when the quick one cannot be made."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from casebook.checkins import save_draft
from casebook.models import Patient
from casebook.serve import revoke
from casebook.serve.checkin_links import send_checkin
from casebook.serve.tokens import check_token, open_session, session_hash
from casebook.store import CaseStore
from casebook.store.checkins import CheckinKey
from casebook.store.page_lookup import PageLookup


def _opened(store: CaseStore, pid: str) -> tuple[str, str]:
    """(session hash, check-in id) of a check-in sent to a new patient and opened."""
    store.add_patient(Patient(id=pid, name="Test Person", birth_date=date(1980, 1, 1)))
    url, checkin = send_checkin(store, pid, ["phq9", "symptoms"])
    session = open_session(store, check_token(store, url.split("token=", 1)[1]))
    return session_hash(session), checkin.id


async def _looked_up(lookup: PageLookup, wanted: str, checkin_id: str) -> object:
    """One page's lookup, the lookup's connection closed after (Python 3.13 warns of an
    sqlite3 connection left to the garbage collector)."""
    try:
        return await lookup.session_and_checkin(wanted, checkin_id)
    finally:
        await lookup.aclose()


def _no_store_read(*_args: object) -> None:
    raise AssertionError("the quick lookup went to the store")


def test_the_lookup_reads_what_the_store_reads_at_every_page(
    store: CaseStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    wanted, checkin_id = _opened(store, "p1")
    other, other_checkin = _opened(store, "p2")
    lookup = PageLookup(store)

    async def pages() -> None:
        expected = store.session_and_checkin(wanted, checkin_id)
        assert expected[0] is not None and expected[1] is not None
        with monkeypatch.context() as patched:
            patched.setattr(store, "session_and_checkin", _no_store_read)
            assert await lookup.session_and_checkin(wanted, checkin_id) == expected
            found = await lookup.session_and_checkin(wanted, other_checkin)
            assert found == (expected[0], store.checkin(other_checkin))
            assert await lookup.session_and_checkin("0" * 64, "0" * 32) == (None, None)
            # answers saved since, then the link revoked: the next page reads both
            key, now = CheckinKey(checkin_id, "p1"), datetime.now(UTC)
            draft = save_draft(store, "link", key, [("phq9.1", "2")], now=now)
            _, saved = await lookup.session_and_checkin(wanted, checkin_id)
            assert saved == draft and saved.answers != expected[1].answers
            revoke(store, "p1")
            link, ended = await lookup.session_and_checkin(wanted, checkin_id)
            assert link is not None and link.ended and ended is not None and ended.link_ended
            still, _ = await lookup.session_and_checkin(other, other_checkin)
            assert still is not None and not still.ended
        assert (link, ended) == store.session_and_checkin(wanted, checkin_id)
        await lookup.aclose()

    asyncio.run(pages())


def test_a_store_the_lookup_cannot_read_goes_to_the_store(sqlite_store: CaseStore) -> None:
    wanted, checkin_id = _opened(sqlite_store, "p1")
    lookup = PageLookup(sqlite_store)
    lookup._file = "/nonexistent/casebook.db"  # opened with mode=rw: never created
    expected = sqlite_store.session_and_checkin(wanted, checkin_id)
    assert expected[1] is not None
    assert asyncio.run(lookup.session_and_checkin(wanted, checkin_id)) == expected


def test_a_dropped_postgresql_connection_is_opened_again(store: CaseStore) -> None:
    if store.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no connection to drop")
    wanted, checkin_id = _opened(store, "p1")
    lookup = PageLookup(store)
    expected = store.session_and_checkin(wanted, checkin_id)

    async def pages() -> None:
        assert await lookup.session_and_checkin(wanted, checkin_id) == expected
        assert lookup._pg is not None
        pid = lookup._pg.info.backend_pid
        with store.engine.connect() as conn:
            conn.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
        assert await lookup.session_and_checkin(wanted, checkin_id) == expected
        assert lookup._pg is not None and lookup._pg.info.backend_pid != pid
        await lookup.aclose()

    asyncio.run(pages())


def test_a_file_whose_path_needs_quoting_is_read_the_quick_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "a b#c%d?e"
    folder.mkdir()
    with CaseStore(f"sqlite:///{folder / 'casebook.db'}", create=True, actor="t") as store:
        wanted, checkin_id = _opened(store, "p1")
        expected = store.session_and_checkin(wanted, checkin_id)
        monkeypatch.setattr(store, "session_and_checkin", _no_store_read)
        found = asyncio.run(_looked_up(PageLookup(store), wanted, checkin_id))
    assert found == expected and expected[1] is not None


def test_close_after_the_loop_has_ended_closes_the_connection(store: CaseStore) -> None:
    """`close()` as the server's stop calls it: outside the loop, here one already closed."""
    import sqlite3

    wanted, checkin_id = _opened(store, "p1")
    lookup = PageLookup(store)
    asyncio.run(lookup.session_and_checkin(wanted, checkin_id))  # opens, then ends its loop
    sqlite, pg = lookup._sqlite, lookup._pg
    assert (sqlite, pg) != (None, None)
    lookup.close()
    lookup.close()  # a second stop finds nothing left to close
    assert lookup._sqlite is None and lookup._pg is None
    if pg is not None:
        assert pg.closed
    if sqlite is not None:
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            sqlite.execute("SELECT 1")
