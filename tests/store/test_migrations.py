"""The Alembic migrations create exactly the tables the code defines."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from casebook.store import CaseStore
from casebook.store.migrate import current_revision, head_revision, upgrade
from casebook.store.tables import metadata


def test_migrated_schema_matches_the_tables(db_url: str) -> None:
    store = CaseStore(db_url, create=True)
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    assert current_revision(store.engine) == head_revision()
    upgrade(store.engine)  # init twice is a no-op
    assert current_revision(store.engine) == head_revision()
    store.close()
