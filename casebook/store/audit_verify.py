"""Checking the audit log (`casebook audit --verify`) and writing a checkpoint
(`casebook audit --checkpoint`).

`verify` walks the log in id order and checks, for each row, its plain hash
(`audit_chain`: its fields and the row before it) and its seal (`audit_key`: only the key's
holder can make it); then every signed checkpoint: its signature, and that the log still
has exactly the rows it counted up to its last id, the last one sealed as it was. So a
forged or rewritten row shows at that row, and rows removed before the newest checkpoint
(from the tail too) show at the checkpoint. Rows appended after the newest checkpoint and
then removed cannot show: `Verdict.after_checkpoint` says how many rows it does not cover.

SQLite checks seals with the key from its file; PostgreSQL asks the owner's functions for
the seals and signatures the stored rows should have, so the everyday login never holds
the key.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from casebook.store import tables
from casebook.store.audit_chain import GENESIS, chain_hash, lock_chain
from casebook.store.audit_key import (
    Checkpoint,
    checkpoint_message,
    read_kept_checkpoint,
    read_key,
    seal,
    sign,
    store_id,
    write_kept_checkpoint,
)

__all__ = ["Verdict", "checkpoint", "keep_outside", "verify"]

_CHUNK = 2000


@dataclass(frozen=True)
class Verdict:
    """What `verify` found: `rows` checked, `head` the last good hash, the first broken
    link (`broken_id` and `problem`) if any, the newest checkpoint that holds, and how many
    rows came after it (proven sealed, not proven complete)."""

    rows: int
    head: str
    broken_id: int | None = None
    problem: str = ""
    checkpoint: Checkpoint | None = None
    after_checkpoint: int = 0

    @property
    def intact(self) -> bool:
        return self.broken_id is None


class _Seals:
    """The seal each stored row should have, and the signature each checkpoint should."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn
        self.key = None if conn.dialect.name == "postgresql" else read_key(conn)
        self.previous: str | None = None  # the seal stored on the row before (SQLite)

    def rows(self, rows: list[Any]) -> list[str]:
        if self.key is None:
            found: dict[int, str] = dict(
                self.conn.execute(
                    sa.text("SELECT row_id, expected FROM casebook_audit_expected(:after, :n)"),
                    {"after": rows[0].id - 1, "n": len(rows)},
                ).all()
            )
            return [found.get(row.id, "") for row in rows]
        out = []
        for row in rows:
            out.append(seal(self.key, self.previous or GENESIS, row.id, row.chain))
            self.previous = row.mac
        return out

    def checkpoints(self, stored: list[Checkpoint], kept: Checkpoint | None) -> list[str]:
        if self.key is None:
            return list(
                self.conn.execute(
                    sa.text("SELECT expected FROM casebook_checkpoint_expected()")
                ).scalars()
            )
        every = [*stored, *([kept] if kept else [])]
        return [sign(self.key, checkpoint_message(c.upto_id, c.rows, c.head)) for c in every]


def _rows(conn: sa.Connection) -> Iterator[list[Any]]:
    a = tables.audit_log
    after = None
    while True:
        query = sa.select(a).order_by(a.c.id).limit(_CHUNK)
        if after is not None:
            query = query.where(a.c.id > after)
        rows = list(conn.execute(query).all())
        if rows:
            yield rows
        if len(rows) < _CHUNK:
            return
        after = rows[-1].id


def _stored_checkpoints(conn: sa.Connection) -> list[Checkpoint]:
    c = tables.audit_checkpoints
    return [
        Checkpoint(r.upto_id, r.row_count, r.head, r.sig, _stamp(r.at), r.actor)
        for r in conn.execute(sa.select(c).order_by(c.c.id))
    ]


def _stamp(at: datetime | str) -> str:
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def verify(conn: sa.Connection) -> Verdict:
    """Walk the whole log and its checkpoints; report the first thing that does not hold."""
    seals = _Seals(conn)
    stored = _stored_checkpoints(conn)
    kept = None if seals.key is None else read_kept_checkpoint(store_id(conn))
    wanted = {c.upto_id for c in stored} | ({kept.upto_id} if kept else set())
    seen: dict[int, tuple[int, str | None]] = {}  # checkpointed id -> (rows to it, seal)
    previous, count = GENESIS, 0
    for chunk in _rows(conn):
        for row, expected in zip(chunk, seals.rows(chunk), strict=True):
            if row.chain is None:
                return Verdict(count, previous, row.id, "it has no hash (written around the store)")
            if row.chain != chain_hash(previous, row._mapping):
                return Verdict(
                    count,
                    previous,
                    row.id,
                    "its hash does not match its fields and the row before it (this row was "
                    "changed or forged, or a row before it was removed or inserted)",
                )
            if row.mac != expected:
                return Verdict(
                    count,
                    previous,
                    row.id,
                    "its seal does not match: it was written or rewritten without the "
                    "store's audit key, or a row before it was removed",
                )
            previous, count = row.chain, count + 1
            if row.id in wanted:
                seen[row.id] = (count, row.mac)
    every = [*stored, *([kept] if kept else [])]
    for n, (point, signature) in enumerate(
        zip(every, seals.checkpoints(stored, kept), strict=True)
    ):
        name = (
            "the checkpoint kept outside the database"
            if n >= len(stored)
            else f"checkpoint {n + 1}"
        )
        if point.sig != signature:
            return Verdict(
                count, previous, point.upto_id, f"{name} is not signed with the store's audit key"
            )
        if point.upto_id and seen.get(point.upto_id) != (point.rows, point.head):
            return Verdict(
                count,
                previous,
                point.upto_id,
                f"{name} ({point.at}) counted {point.rows} row(s) up to this row, sealed "
                f"{point.head[:12]}: rows were removed from the log or this row is missing",
            )
    if kept is not None and kept.sig not in {c.sig for c in stored}:
        return Verdict(
            count,
            previous,
            kept.upto_id,
            "the checkpoint kept outside the database is missing from it (checkpoints "
            "were removed)",
        )
    last = max(every, key=lambda c: c.upto_id, default=None)
    return Verdict(
        count, previous, checkpoint=last, after_checkpoint=count - (last.rows if last else 0)
    )


def checkpoint(conn: sa.Connection, actor: str) -> Checkpoint:
    """Sign how the log stands now (in the caller's write transaction): SQLite with the
    key from its file, PostgreSQL through the owner's function."""
    if conn.dialect.name == "postgresql":
        row = conn.execute(
            sa.text("SELECT * FROM casebook_audit_checkpoint(:actor)"), {"actor": actor}
        ).one()
        return Checkpoint(row.upto_id, row.row_count, row.head, row.sig, _stamp(row.at), row.actor)
    lock_chain(conn)
    a = tables.audit_log
    rows, last_id = conn.execute(sa.select(sa.func.count(), sa.func.max(a.c.id))).one()
    head = GENESIS
    if last_id is not None:
        head = conn.execute(sa.select(a.c.mac).where(a.c.id == last_id)).scalar() or GENESIS
    upto = int(last_id or 0)
    sig = sign(read_key(conn), checkpoint_message(upto, int(rows), head))
    at = datetime.now(UTC)
    conn.execute(
        sa.insert(tables.audit_checkpoints).values(
            at=at, actor=actor, upto_id=upto, row_count=int(rows), head=head, sig=sig
        )
    )
    return Checkpoint(upto, int(rows), head, sig, _stamp(at), actor)


def keep_outside(conn: sa.Connection, made: Checkpoint) -> None:
    """SQLite: keep the newest checkpoint beside the key as well, outside the database, so
    that removing checkpoints from the database shows. Call once `made` is committed."""
    if conn.dialect.name != "postgresql":
        write_kept_checkpoint(store_id(conn), made)
