"""The audit log's hash chain: each row carries sha256(previous row's hash + its own fields).

Rows are chained in id order. The first row's predecessor is `GENESIS`. A row's fields are
written as canonical JSON (sorted keys, no spaces, UTC timestamps, integral floats as
integers), so that what the database hands back hashes exactly as what was written:
PostgreSQL's JSONB may reorder keys and print `1.0` as `1`.

Appends are serialized so that two writers never chain onto the same predecessor: SQLite
already runs one write transaction at a time, and on PostgreSQL the writer holds a
transaction-level advisory lock from its first audit row until it commits.

The plain chain shows a changed, removed or inserted row, but anyone can recompute it. What
only the key's holder can write is each row's seal (`casebook.store.audit_key`), and the
signed checkpoints that show rows removed from before them; `casebook.store.audit_verify`
checks all three.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from casebook.store import tables
from casebook.store.audit_key import seal, sealing_key
from casebook.store.engine import AUDIT_CHAIN_LOCK, NEW_PATIENTS_LOCK, advisory_lock
from casebook.store.pipeline import send

__all__ = [
    "FIELDS",
    "GENESIS",
    "AuditEntryTuple",
    "Head",
    "PlainRows",
    "append",
    "chain_hash",
    "last_hash",
    "lock_chain",
    "plain_rows",
    "send_head",
]

GENESIS = "0" * 64
FIELDS = ("at", "actor", "patient_id", "entity", "entity_id", "action", "before", "after")


_SCALARS = frozenset({str, int, bool, type(None)})


class PlainRows(list[tuple[Any, ...]]):
    """Rows of scalars already in the form `chain_hash` hashes (integral floats as ints):
    hashing them skips a second walk over every value. Make them with `plain_rows` (or
    take some of its rows): a row that is not canonical would hash otherwise when written
    than when `verify` reads it back, and the chain would show it as broken."""


def plain_rows(columns: Sequence[Sequence[Any]]) -> PlainRows:
    """The rows of `columns` (all of one length), each value as `chain_hash` hashes it;
    checked a column at a time, so a column of strings costs one pass in C."""
    fixed: list[Sequence[Any]] = []
    for column in columns:
        kinds = set(map(type, column))
        if kinds <= _SCALARS:
            fixed.append(column)
        elif kinds <= {float, type(None)}:
            fixed.append([v if v is None or not v.is_integer() else int(v) for v in column])
        else:
            fixed.append([_plain(v) for v in column])
    return PlainRows(zip(*fixed, strict=True))


def _plain(value: Any) -> Any:
    """`value` with integral floats as ints, mappings as dicts with str keys, sequences as
    lists. Exact types first (the common case, and cheap); subclasses by the general rules."""
    kind = type(value)
    if kind in _SCALARS or kind is PlainRows:
        return value
    if kind is float:
        return int(value) if value.is_integer() else value
    if kind is dict:
        return {
            k if type(k) is str else str(k): v if type(v) in _SCALARS else _plain(v)
            for k, v in value.items()
        }
    if kind is list or kind is tuple:
        return [v if type(v) in _SCALARS else _plain(v) for v in value]
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _stamp(value: datetime | str) -> str:
    if isinstance(value, str):  # raw SQLite text
        value = datetime.fromisoformat(value)
    value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return value.isoformat()


_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False, check_circular=False
)  # _plain made a tree


def _json(value: Any) -> str:
    # one encoder for all (json.dumps makes one per call with these options); a str or
    # None, most of a row's fields, costs no walk
    if value is None:
        return "null"
    return _CANONICAL.encode(value if type(value) is str else _plain(value))


_SMALL = ("actor", "patient_id", "entity", "entity_id", "action")  # a str or None each


def _texts(row: Mapping[str, Any], known: dict[Any, str] | None = None) -> dict[str, str]:
    """Each of the row's FIELDS as canonical JSON (sorted keys, no spaces, UTC times).
    `known`: texts of the time and the small fields already written, by value (the rows
    of one append share their time, actor, entity and action)."""
    if known is None:
        known = {}
    texts = {"before": _json(row["before"]), "after": _json(row["after"])}
    for name in _SMALL:
        value = row[name]
        if value not in known:
            known[value] = _json(value)
        texts[name] = known[value]
    at = ("at", row["at"])  # apart from the small fields' values
    if at not in known:
        known[at] = _json(_stamp(row["at"]))
    texts["at"] = known[at]
    return texts


# ('"name":', name) of each field, in the order json.dumps(sort_keys=True) writes them
_KEYS = tuple((f'"{name}":', name) for name in sorted(FIELDS))


def _hash(previous: str, texts: Mapping[str, str]) -> str:
    # The canonical JSON of the whole row: JSON nests, so it is built from its fields'.
    text = ",".join(key + texts[name] for key, name in _KEYS)
    return hashlib.sha256(f"{previous}\n{{{text}}}".encode()).hexdigest()


def chain_hash(previous: str, row: Mapping[str, Any]) -> str:
    """The hash of one audit row (its FIELDS) chained to `previous`."""
    return _hash(previous, _texts(row))


def lock_chain(conn: sa.Connection) -> None:
    """Hold the chain for this transaction (PostgreSQL; SQLite's write lock already does).

    The new-patients lock is taken first, in the same statement: a transaction that audits
    and then creates a patient, beside one that creates a patient and then audits, would
    otherwise each hold the lock the other waits for (a deadlock PostgreSQL ends by failing
    one of them). Every transaction takes the two in this one order."""
    advisory_lock(conn, NEW_PATIENTS_LOCK, AUDIT_CHAIN_LOCK)


def last_hash(conn: sa.Connection) -> str:
    """The hash of the newest audit row, or GENESIS for an empty log. Call after lock_chain."""
    return _last(conn)[1]


_LAST = (
    sa.select(tables.audit_log.c.id, tables.audit_log.c.chain, tables.audit_log.c.mac)
    .order_by(tables.audit_log.c.id.desc())
    .limit(1)
)
# what lock_chain takes, in its order (new patients first), as one statement to send
_LOCK = sa.select(
    sa.func.pg_advisory_xact_lock(NEW_PATIENTS_LOCK),
    sa.func.pg_advisory_xact_lock(AUDIT_CHAIN_LOCK),
)

Head = tuple[int, str, str]
"""(id, hash, seal) of the newest audit row; (0, GENESIS, GENESIS) for an empty log."""


def _last(conn: sa.Connection) -> Head:
    return _head(conn.execute(_LAST).all())


def _head(rows: Sequence[Any]) -> Head:
    if not rows:
        return 0, GENESIS, GENESIS
    row = rows[0]
    return int(row.id), row.chain or GENESIS, row.mac or GENESIS


def send_head(conn: sa.Connection) -> Callable[[], Head]:
    """Hold the chain and send the read of its newest row (inside `pipeline.pipelined`:
    with the statements before it); returns what reads that row after the block, for
    `append(..., head=)`. Nothing else may append in this transaction in between."""
    locked = send(conn, _LOCK, {}) if conn.dialect.name == "postgresql" else None
    last = send(conn, _LAST, {})

    def head() -> Head:
        if locked is not None:
            locked()
        return _head(last())

    return head


def _chained(
    previous: str, rows: Iterable[dict[str, Any]]
) -> list[tuple[dict[str, Any], dict[str, str], str]]:
    out = []
    known: dict[Any, str] = {}
    for row in rows:
        texts = _texts(row, known)
        previous = _hash(previous, texts)
        out.append((row, texts, previous))
    return out


AuditEntryTuple = tuple[str | None, str, str | None, str, Any, Any]
"""(patient_id, entity, entity_id, action, before, after) of one audit row to write."""

_WRITTEN = (*FIELDS, "chain")
_ROWS_PER_INSERT = 500
"""Audit rows in one PostgreSQL INSERT (9 values each: well under its 65,535 parameters)."""
_SEALED = (*_WRITTEN, "id", "mac")  # SQLite: the store seals each row (audit_key)


def _insert(conn: sa.Connection, rows: list[tuple[Any, ...]], columns: Sequence[str]) -> None:
    """Audit rows (values in `columns` order; before and after as the JSON text that was
    hashed, not serialized again) straight to the driver: a bulk import writes 10,000."""
    a = tables.audit_log
    quote = conn.dialect.identifier_preparer.quote
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    marks = [
        f"CAST({mark} AS {a.c[name].type.compile(dialect=conn.dialect)})"
        if name in ("before", "after") and conn.dialect.name == "postgresql"
        else mark
        for name in columns
    ]
    # identifiers quoted by the dialect, values bound as parameters: no injection
    sql = f"INSERT INTO {quote(a.name)} ({', '.join(map(quote, columns))}) VALUES "  # noqa: S608
    group = f"({', '.join(marks)})"
    if conn.dialect.name != "postgresql":  # SQLite's executemany runs in C
        conn.exec_driver_sql(sql + group, rows)
        return
    # PostgreSQL: up to _ROWS_PER_INSERT rows a statement, one execution each (the seal
    # trigger still runs per row, in order), instead of one execution per row
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        chunk = rows[start : start + _ROWS_PER_INSERT]
        flat = tuple(value for row in chunk for value in row)
        conn.exec_driver_sql(sql + ", ".join([group] * len(chunk)), flat)


def append(
    conn: sa.Connection,
    actor: str,
    entries: Sequence[AuditEntryTuple],
    *,
    head: Head | None = None,
) -> None:
    """Write audit rows, in order, chained onto the log, in the caller's transaction.
    SQLite: each row is sealed here with the key from its file; PostgreSQL: the owner's
    trigger seals it and names the actor from the login (`casebook.store.audit_key`).
    `head`: the newest row as `send_head` read it in this transaction (the chain held)."""
    if not entries:
        return
    now = datetime.now(UTC)
    rows = [
        {
            "at": now,
            "actor": actor,
            "patient_id": pid,
            "entity": entity,
            "entity_id": eid,
            "action": action,
            "before": before,
            "after": after,
        }
        for pid, entity, eid, action, before, after in entries
    ]
    # the time as SQLAlchemy's DateTime stores it (text on SQLite)
    to_db = tables.audit_log.c.at.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    at = now if to_db is None else to_db(now)
    if head is None:
        lock_chain(conn)
        head = _last(conn)
    last_id, previous, last_seal = head
    values = [
        (
            at,
            row["actor"],
            row["patient_id"],
            row["entity"],
            row["entity_id"],
            row["action"],
            texts["before"],
            texts["after"],
            chain,
        )
        for row, texts, chain in _chained(previous, rows)
    ]
    if conn.dialect.name == "postgresql":
        _insert(conn, values, _WRITTEN)
        return
    key = sealing_key(conn)
    sealed = []
    for n, value in enumerate(values, start=last_id + 1):
        last_seal = seal(key, last_seal, n, value[-1])
        sealed.append((*value, n, last_seal))
    _insert(conn, sealed, _SEALED)
