"""The audit log's key: what seals each row (an HMAC) and signs each checkpoint, and where
it lives so that the everyday database login cannot read it.

Each audit row carries, besides its plain hash (`audit_chain`), a seal:
HMAC-SHA256(key, "<previous row's seal>:<id>:<hash>"). Without the key no one can write a
row, or rewrite one, that passes `casebook audit --verify`. A checkpoint signs
"checkpoint:<last id>:<rows>:<seal of the last row>", so rows removed from before it
(from the tail as well) show.

Where the key lives:

- **SQLite** (single-practitioner mode): in a file outside the database, named by the
  store's id, in `$CASEBOOK_AUDIT_KEYS` or else `~/.config/casebook/audit-keys/`
  (`$XDG_CONFIG_HOME` honoured), readable by its owner only; the newest checkpoint is kept
  beside it. The store seals rows in Python with it.
- **PostgreSQL**: in the table `audit_keys`, which only the owner of the tables can read.
  A trigger owned by that role (SECURITY DEFINER) seals every inserted row and sets its
  actor from the connection's login (`session_user`); everyday logins call the owner's
  functions to check seals and to write a checkpoint, and never see the key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

import sqlalchemy as sa

from casebook.errors import StoreError
from casebook.store import tables

__all__ = [
    "KEYS_ENV",
    "Checkpoint",
    "checkpoint_message",
    "create_key",
    "key_dir",
    "key_path",
    "pads",
    "read_kept_checkpoint",
    "read_key",
    "seal",
    "seal_message",
    "sealing_key",
    "sign",
    "store_id",
    "write_kept_checkpoint",
]

KEYS_ENV = "CASEBOOK_AUDIT_KEYS"


def key_dir() -> Path:
    """The folder of SQLite stores' audit keys."""
    chosen = os.environ.get(KEYS_ENV)
    if chosen:
        return Path(chosen)
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "casebook" / "audit-keys"


def key_path(store: str) -> Path:
    return key_dir() / f"{store}.key"


def _kept_path(store: str) -> Path:
    return key_dir() / f"{store}.checkpoint"


def create_key(store: str) -> bytes:
    """A new random key for the store `store`, written to its file (owner-only)."""
    path = key_path(store)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key)
    return key


def store_id(conn: sa.Connection) -> str:
    found = conn.execute(sa.select(tables.audit_keys.c.store_id).limit(1)).scalar()
    if found is None:
        raise StoreError("the store has no audit key id; run `casebook init`")
    return str(found)


def read_key(conn: sa.Connection) -> bytes:
    """The SQLite store's key, from its file; StoreError in one line if it is missing."""
    return _key_file(key_path(store_id(conn)))


def _key_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise StoreError(
            f"the audit key of this store is missing at {path} "
            f"(set ${KEYS_ENV} to the folder that holds it)"
        ) from None


def sealing_key(conn: sa.Connection) -> bytes:
    """`read_key`, kept with the database connection (`Connection.info`, which lives as
    long as the driver's connection to that one database file) by where the key file is:
    a writer seals rows on every write, and would otherwise read the store's id and the
    file each time. A new connection, or another key folder, reads them again."""
    info = conn.info
    if "casebook_store_id" not in info:
        info["casebook_store_id"] = store_id(conn)
    kept: dict[Path, bytes] = info.setdefault("casebook_audit_keys", {})
    path = key_path(info["casebook_store_id"])
    if path not in kept:
        kept[path] = _key_file(path)
    return kept[path]


def pads(key: bytes) -> tuple[bytes, bytes]:
    """HMAC-SHA256's inner and outer padded keys (what PostgreSQL keeps instead of the key)."""
    block = key.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)


def seal_message(previous: str, row_id: int, chain: str | None) -> str:
    return f"{previous}:{row_id}:{chain or ''}"


def checkpoint_message(upto_id: int, rows: int, head: str) -> str:
    return f"checkpoint:{upto_id}:{rows}:{head}"


def sign(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def seal(key: bytes, previous: str, row_id: int, chain: str | None) -> str:
    """The seal of audit row `row_id` whose plain hash is `chain`, after a row sealed
    `previous` (GENESIS for the first row)."""
    return sign(key, seal_message(previous, row_id, chain))


@dataclass(frozen=True)
class Checkpoint:
    """The log as it stood: `rows` rows up to id `upto_id`, the last sealed `head`
    (GENESIS for an empty log), signed `sig`."""

    upto_id: int
    rows: int
    head: str
    sig: str
    at: str = ""
    actor: str = ""


def write_kept_checkpoint(store: str, checkpoint: Checkpoint) -> Path:
    """Keep the newest checkpoint of a SQLite store beside its key, outside the database."""
    path = _kept_path(store)
    temp = path.with_suffix(".tmp")
    temp.write_text(json.dumps(asdict(checkpoint)), encoding="utf-8")
    temp.replace(path)
    return path


def read_kept_checkpoint(store: str) -> Checkpoint | None:
    path = _kept_path(store)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Checkpoint(**data)
    except FileNotFoundError:
        return None
    except (ValueError, TypeError):
        raise StoreError(f"the kept checkpoint at {path} is not readable") from None
