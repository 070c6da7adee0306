"""The render cache: pages served again only while the record, template, catalog and day are
unchanged; never a failed or unfinished render; bounded; dropped on revocation and deletion;
authorization still checked on every view."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from serve_helpers import Server, start_server

from casebook.errors import InputError
from casebook.models import Note, Patient
from casebook.serve import grant, revoke
from casebook.serve.cache import (
    CACHE_TIMING,
    RENDER_TIMING,
    Lookup,
    PageKey,
    RenderCache,
    RenderOutcome,
    catalog_fingerprint,
    live_patients,
)
from casebook.store import CaseStore

TODAY = date(2030, 5, 6)


def _cache(**kw: object) -> RenderCache:
    return RenderCache(template="t1", today=lambda: TODAY, fingerprint=lambda: "c1", **kw)  # type: ignore[arg-type]


def _key(pid: str = "p1", version: int = 1, **kw: object) -> PageKey:
    fields = {"template": "t1", "catalog": "c1", "day": TODAY, **kw}
    return PageKey(pid, version, **fields)  # type: ignore[arg-type]


def test_a_page_is_served_only_under_its_exact_key() -> None:
    cache = _cache()
    assert cache.put(_key(), b"<p>v1</p>")
    assert cache.get(_key()) == b"<p>v1</p>"
    for other in (
        _key(version=2),
        _key(template="t2"),
        _key(catalog="c2"),
        _key(day=TODAY + timedelta(days=1)),
    ):
        cache.put(_key(), b"<p>v1</p>")
        assert cache.get(other) is None
        assert "p1" not in cache  # the out-of-date page is gone, not kept beside
    assert (cache.stats.hits, cache.size) == (1, (0, 0))


def test_the_cache_is_bounded_by_bytes_and_pages_least_recent_first() -> None:
    cache = _cache(max_bytes=25, max_pages=10)
    for pid in ("a", "b"):
        cache.put(_key(pid), b"x" * 10)
    cache.get(_key("a"))  # a was viewed last: b goes first
    cache.put(_key("c"), b"x" * 10)
    assert cache.patients() == ["a", "c"]
    assert cache.size == (2, 20)
    assert not cache.put(_key("d"), b"x" * 26)  # bigger than the whole cache: not kept
    counted = _cache(max_bytes=1000, max_pages=2)
    for pid in ("a", "b", "c"):
        counted.put(_key(pid), b"x")
    assert counted.patients() == ["b", "c"]


def test_bad_bounds_are_refused_by_name() -> None:
    with pytest.raises(InputError, match="max_bytes"):
        RenderCache(max_bytes=-1)
    with pytest.raises(InputError, match="max_pages"):
        RenderCache(max_pages=1.5)  # type: ignore[arg-type]


def _rendering(parts: list[str], *, complete: bool, errors: int = 0):  # type: ignore[no-untyped-def]
    async def render(outcome: RenderOutcome) -> AsyncIterator[str]:
        for part in parts:
            yield part
        outcome.complete, outcome.errors = complete, errors

    return render


def _drain(cache: RenderCache, lookup: Lookup, render) -> str:  # type: ignore[no-untyped-def]
    async def go() -> str:
        return "".join([s async for s in cache.fill(lookup, render)])

    return asyncio.run(go())


def test_only_a_finished_page_without_a_failed_cell_is_kept() -> None:
    cache = _cache()
    lookup = Lookup(_key())
    assert _drain(cache, lookup, _rendering(["<a>", "</a>"], complete=False)) == "<a></a>"
    assert "p1" not in cache
    assert _drain(cache, lookup, _rendering(["<a>"], complete=True, errors=1)) == "<a>"
    assert "p1" not in cache
    assert _drain(cache, Lookup(None), _rendering(["<a>"], complete=True)) == "<a>"
    assert "p1" not in cache  # no key: cannot be cached
    assert _drain(cache, lookup, _rendering(["<a>", "</a>"], complete=True)) == "<a></a>"
    assert cache.get(_key()) == b"<a></a>"
    assert cache.stats.refused == 2  # the two renders that had a key


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    with CaseStore(f"sqlite:///{tmp_path / 'c.db'}", create=True, actor="test") as s:
        for pid in ("p1", "p2"):
            s.add_patient(
                Patient(id=pid, name="Test Person", birth_date=date(1980, 1, 2), sex="female")
            )
        yield s


def test_lookup_follows_the_record_version_in_the_store(store: CaseStore) -> None:
    cache = _cache()
    first = asyncio.run(cache.lookup(store, "p1"))
    assert first.page is None and first.key is not None
    cache.put(first.key, b"page one")
    assert asyncio.run(cache.lookup(store, "p1")).page == b"page one"
    store.save(
        Note(patient_id="p1", written_on=TODAY, text="new", author="Dr Test", visibility="shared")
    )
    after = asyncio.run(cache.lookup(store, "p1"))
    assert after.page is None
    assert after.key is not None and after.key.record_version > first.key.record_version
    assert asyncio.run(cache.lookup(store, "missing")) == Lookup(None)
    assert asyncio.run(RenderCache(max_bytes=0).lookup(store, "p1")) == Lookup(None)


def test_a_new_letter_changes_the_page_without_a_record_change(store: CaseStore) -> None:
    """A letter does not bump the record version, but the page offers the latest summary."""
    from casebook.models import LetterRecord

    cache = _cache()
    first = asyncio.run(cache.lookup(store, "p1"))
    assert first.key is not None
    cache.put(first.key, b"page without the summary link")
    store.save_letter(
        LetterRecord(
            patient_id="p1",
            kind="after_visit_summary",
            recipient="p",
            letter_date=TODAY,
            content_hash="0" * 64,
            record_version=1,
            pdf=b"%PDF-1.7 test",
        )
    )
    assert asyncio.run(cache.lookup(store, "p1")).page is None


def test_sweep_drops_revoked_and_deleted_patients(store: CaseStore) -> None:
    grant(store, "p1", 5, base_url="http://127.0.0.1:1")
    grant(store, "p2", 5, base_url="http://127.0.0.1:1")
    cache = _cache()
    for pid in ("p1", "p2", "never-linked"):
        cache.put(_key(pid), b"page")
    assert cache.sweep(lambda ids: live_patients(store, ids)) == 1
    assert cache.patients() == ["p1", "p2"]
    revoke(store, "p1")
    store.delete_patient("p2", store.get_patient("p2").version)
    assert cache.sweep(lambda ids: live_patients(store, ids)) == 2
    assert cache.size == (0, 0)


def test_the_catalog_fingerprint_follows_a_clinic_folder(tmp_path: Path) -> None:
    shipped = catalog_fingerprint(str(tmp_path))
    (tmp_path / "extra.toml").write_text("# a clinic file\n")
    assert catalog_fingerprint(str(tmp_path)) != shipped
    assert catalog_fingerprint(str(tmp_path)) == catalog_fingerprint(str(tmp_path))


# --- through the server ------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(serve_store) -> Iterator[Server]:  # type: ignore[no-untyped-def]
    """A dashboard server with its render cache on (16 MiB)."""
    srv = start_server(
        serve_store.url,
        serve_store.folder,
        "--bad-credentials-per-minute",
        "6000",
        render_cache_mb=16,
    )
    yield srv
    srv.stop()


def _view(server: Server, session: str) -> tuple[str, str]:
    res = server.request("/dashboard", cookie=session)
    assert res.status == 200, res.body[:300]
    return res.header("Server-Timing") or "", res.body


def _session(server: Server, pid: str) -> str:
    res = server.request(f"/dashboard?token={server.token(pid)}")
    assert res.status == 200
    return res.cookies[0].split("=", 1)[1].split(";", 1)[0]


@pytest.mark.slow
def test_a_save_is_on_the_very_next_view(server: Server, serve_store) -> None:
    pid = serve_store.patients[2]
    session = _session(server, pid)
    timing, first = _view(server, session)
    timing_again, again = _view(server, session)
    assert (timing, timing_again, again) == (RENDER_TIMING, CACHE_TIMING, first)
    with CaseStore(serve_store.url, actor="test") as store:
        store.save(
            Note(
                patient_id=pid,
                written_on=date.today(),
                author="Dr Test",
                text="Cache check: bring your food diary",
                visibility="shared",
            )
        )
    timing, after = _view(server, session)
    assert timing == RENDER_TIMING
    assert "Cache check: bring your food diary" in after
    assert _view(server, session) == (CACHE_TIMING, after)


@pytest.mark.slow
def test_revocation_drops_the_page_and_every_view_is_still_authorized(
    server: Server, serve_store
) -> None:
    pid = serve_store.patients[3]
    session = _session(server, pid)
    _view(server, session)
    assert _view(server, session)[0] == CACHE_TIMING
    with CaseStore(serve_store.url, actor="test") as store:
        revoke(store, pid)
    refused = server.request("/dashboard", cookie=session)
    assert refused.status == 403 and '<footer class="cb-footer">' not in refused.body
    timing, _ = _view(server, _session(server, pid))  # a new link renders afresh
    assert timing == RENDER_TIMING


@pytest.mark.slow
def test_a_person_reloading_one_session_is_never_throttled(server: Server, serve_store) -> None:
    """Thirty reloads of one opened page: more than a link may be opened back to back (20),
    all served, because a reload counts against its own session, not against the link."""
    session = _session(server, serve_store.patients[0])
    codes = [server.request("/dashboard", cookie=session).status for _ in range(30)]
    assert codes == [200] * 30
    assert server.request("/dashboard", cookie="z" * 43).status == 403  # unknown: no bucket
