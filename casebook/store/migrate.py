"""Alembic migrations, driven from code (no alembic.ini needed)."""

from __future__ import annotations

import functools
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from casebook.errors import StoreError
from casebook.store.engine import create_store_engine, redact_url

__all__ = ["alembic_config", "current_revision", "head_revision", "open_migrated", "upgrade"]

_SCRIPTS = Path(__file__).with_name("migrations")


def alembic_config(connection: sa.Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_SCRIPTS))
    cfg.attributes["connection"] = connection
    return cfg


@functools.cache
def head_revision() -> str:
    """The newest revision the package ships. Read once per process: the migration scripts
    ship with the code, and reading them (~30 ms) is the larger part of opening a store;
    the fork server reads them before it forks, so its kernels never do."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        raise StoreError("no migrations found")
    return head


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Create or migrate the schema to `revision`, in one transaction."""
    with engine.connect().execution_options(casebook_write=True) as conn, conn.begin():
        command.upgrade(alembic_config(conn), revision)


def open_migrated(url: str, *, create: bool = False) -> sa.Engine:
    """An engine on the store at `url` (resolved) whose schema is the package's head;
    `create`: created or migrated first. Otherwise StoreError: a store missing or behind
    the code says to run `casebook init`, one that cannot be opened says why."""
    if not create and _missing_sqlite_file(url):  # opening it would create it empty
        raise StoreError(_not_migrated(url, None))
    engine = create_store_engine(url)
    try:
        if create:
            upgrade(engine)
        revision = current_revision(engine)
    except sa.exc.OperationalError as exc:
        engine.dispose()
        raise StoreError(f"cannot open the store at {redact_url(url)}: {exc.orig}") from None
    if revision != head_revision():
        engine.dispose()
        raise StoreError(_not_migrated(url, revision))
    return engine


def _not_migrated(url: str, revision: str | None) -> str:
    what = "has no casebook schema" if revision is None else f"is at schema {revision}"
    return (
        f"the store at {redact_url(url)} {what}; run `casebook init` "
        "(with the same --db) to create or migrate it"
    )


def _missing_sqlite_file(url: str) -> bool:
    """Whether `url` names a SQLite file that does not exist (SQLite would create it)."""
    parsed = sa.engine.make_url(url)
    path = parsed.database
    if parsed.get_backend_name() != "sqlite" or not path or path == ":memory:":
        return False
    if path.startswith("file:") or "uri" in parsed.query or "mode" in parsed.query:
        return False
    return not Path(path).exists()
