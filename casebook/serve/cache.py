"""Rendered dashboards kept in memory, served again until the page could differ.

A patient's page is a function of four things: the record (`patients.record_version`, which
every save, import and deletion bumps), the dashboard template (its digest, read once at
start-up), the catalog (a fingerprint of its files) and the date (the page says "prepared
on" and counts days). `RenderCache.lookup` reads the record version from the store on every
view and answers with the page rendered for exactly that `PageKey`, or with the key to
render under. A save is therefore visible on the very next view: the key has changed.

What is never cached: authorization (the handler checks the link or session against the
store before it asks the cache anything), a page whose render did not finish (timeout, the
client left) and a page in which a cell failed. Pages live in this process's memory only,
never in a file, bounded by bytes and by count (least recently viewed go first), one page
per patient (an older version is replaced). A refused link (revoked, expired, deleted
patient) drops its patient's page at once; `sweep` drops pages of deleted patients and of
patients without a live link, and runs every minute in the server.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import nbformat

from casebook.catalog import ENV_VAR as CATALOG_DIR_ENV
from casebook.errors import InputError

__all__ = [
    "CACHE_TIMING",
    "RENDER_TIMING",
    "CacheStats",
    "Lookup",
    "PageKey",
    "RenderCache",
    "RenderOutcome",
    "catalog_fingerprint",
    "live_patients",
    "template_digest",
]

log = logging.getLogger("casebook.serve")

CACHE_TIMING = 'render;desc="cache"'
RENDER_TIMING = 'render;desc="kernel"'
"""`Server-Timing` values of a page served from the cache and of a page rendered for the
view: they tell the two apart and carry no duration, size or patient data."""


@dataclass(frozen=True)
class PageKey:
    """Everything a patient's page depends on."""

    patient_id: str
    record_version: object  # CaseStore.page_stamp: record version and letters
    template: str
    catalog: str
    day: date


@dataclass
class RenderOutcome:
    """Filled in by `render_view`: did the page finish, and did any cell fail?"""

    complete: bool = False
    errors: int = 0


@dataclass(frozen=True)
class Lookup:
    """The answer to one view: the cached page (bytes) or None, and the key to store a
    freshly rendered page under (None: this page cannot be cached)."""

    key: PageKey | None
    page: bytes | None = None


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    stored: int = 0
    refused: int = 0  # renders not kept: incomplete, a failed cell, or too big
    dropped: int = 0


def template_digest(template: nbformat.NotebookNode) -> str:
    """The digest of the dashboard template as the server loaded it."""
    return hashlib.sha256(nbformat.writes(template).encode()).hexdigest()


def _catalog_files(extra_dir: str | None) -> list[Path]:
    shipped = Path(str(resources.files("casebook.catalog").joinpath("data")))
    folders = [shipped, *([Path(extra_dir)] if extra_dir else [])]
    return sorted(
        p for folder in folders if folder.is_dir() for p in folder.rglob("*") if p.is_file()
    )


@dataclass
class _Fingerprint:
    """The catalog fingerprint, hashed again only when a file's size or mtime changes."""

    signature: tuple[tuple[str, int, int], ...] = ()
    digest: str = ""

    def of(self, extra_dir: str | None) -> str:
        files = _catalog_files(extra_dir)
        signature = tuple((str(p), (s := p.stat()).st_size, s.st_mtime_ns) for p in files)
        if signature != self.signature:
            h = hashlib.sha256()
            for path in files:
                h.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
            self.signature, self.digest = signature, h.hexdigest()
        return self.digest


_FINGERPRINT = _Fingerprint()


def catalog_fingerprint(extra_dir: str | None = None) -> str:
    """A digest of every catalog file the dashboard kernels read (the shipped data, plus
    the clinic's folder named by `$CASEBOOK_CATALOG_DIR` or `extra_dir`)."""
    return _FINGERPRINT.of(extra_dir or os.environ.get(CATALOG_DIR_ENV) or None)


@dataclass
class _Page:
    key: PageKey
    body: bytes


@dataclass
class RenderCache:
    """Rendered pages in memory, one per patient, least recently viewed evicted first.

    `max_bytes` 0 turns the cache off (every view renders). `today` and `fingerprint` are
    there for tests."""

    max_bytes: int = 64 * 1024 * 1024
    max_pages: int = 10_000
    template: str = ""
    today: Callable[[], date] = date.today
    fingerprint: Callable[[], str] = catalog_fingerprint
    stats: CacheStats = field(default_factory=CacheStats)
    _pages: OrderedDict[str, _Page] = field(default_factory=OrderedDict, repr=False)
    _bytes: int = 0

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_pages"):
            value = getattr(self, name)
            if type(value) is not int or value < 0:
                raise InputError(f"{name}: must be a whole number of at least 0 (got {value!r})")

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0 and self.max_pages > 0

    @property
    def size(self) -> tuple[int, int]:
        """(pages, bytes) held now."""
        return len(self._pages), self._bytes

    def __contains__(self, patient_id: object) -> bool:
        return patient_id in self._pages

    def key_for(self, patient_id: str, record_version: object) -> PageKey:
        return PageKey(patient_id, record_version, self.template, self.fingerprint(), self.today())

    def get(self, key: PageKey) -> bytes | None:
        """The page stored under exactly `key`, else None (a page of another version of the
        record, template, catalog or day is dropped)."""
        page = self._pages.get(key.patient_id)
        if page is None or page.key != key:
            if page is not None:
                self.drop(key.patient_id)
            self.stats.misses += 1
            return None
        self._pages.move_to_end(key.patient_id)
        self.stats.hits += 1
        return page.body

    def put(self, key: PageKey, body: bytes) -> bool:
        """Keep `body` for `key`; False if the cache is off or the page alone is too big."""
        if not self.enabled or len(body) > self.max_bytes:
            self.stats.refused += 1
            return False
        self.drop(key.patient_id, count=False)
        self._pages[key.patient_id] = _Page(key, body)
        self._bytes += len(body)
        while self._bytes > self.max_bytes or len(self._pages) > self.max_pages:
            _, evicted = self._pages.popitem(last=False)
            self._bytes -= len(evicted.body)
        self.stats.stored += 1
        return True

    def drop(self, patient_id: str, *, count: bool = True) -> bool:
        """Forget the page of `patient_id` (revoked, deleted, or out of date)."""
        page = self._pages.pop(patient_id, None)
        if page is None:
            return False
        self._bytes -= len(page.body)
        self.stats.dropped += count
        return True

    def patients(self) -> list[str]:
        return list(self._pages)

    async def lookup(self, store: Any, patient_id: str) -> Lookup:
        """The cached page for the record as it is in the store now, or the key to render
        under; Lookup(None) when the cache is off or the record cannot be read."""
        if not self.enabled:
            return Lookup(None)
        try:
            stamp = await asyncio.to_thread(store.page_stamp, patient_id)
        except Exception:  # noqa: BLE001  # deleted or store unreachable: render, keep nothing
            self.drop(patient_id)
            return Lookup(None)
        key = self.key_for(patient_id, stamp)
        return Lookup(key, self.get(key))

    async def fill(
        self, lookup: Lookup, render: Callable[[RenderOutcome], AsyncIterator[str]]
    ) -> AsyncIterator[str]:
        """Pass `render`'s snippets through, and keep the page if it finished without a
        failed cell (read before the render began, the key is never newer than the page)."""
        outcome = RenderOutcome()
        parts: list[str] = []
        async for snippet in render(outcome):
            if lookup.key is not None:
                parts.append(snippet)
            yield snippet
        if lookup.key is None:
            return
        if outcome.complete and not outcome.errors:
            self.put(lookup.key, "".join(parts).encode())
        else:
            self.stats.refused += 1

    def sweep(self, live: Callable[[Iterable[str]], set[str]]) -> int:
        """Drop the pages of patients not in `live(patients)`; how many were dropped."""
        keep = live(self.patients())
        gone = [pid for pid in self.patients() if pid not in keep]
        for pid in gone:
            self.drop(pid)
        if gone:
            log.info("render cache: dropped %d page(s) of patients without a live link", len(gone))
        return len(gone)


def live_patients(store: Any, patient_ids: Iterable[str]) -> set[str]:
    """The patients among `patient_ids` who exist and hold at least one live link."""
    ids = set(patient_ids)
    return store.live_link_patients(ids, now=datetime.now(UTC)) if ids else set()
