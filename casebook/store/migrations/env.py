"""Alembic environment: always run with a connection handed in by casebook.store.migrate."""

from __future__ import annotations

from alembic import context

from casebook.errors import StoreError
from casebook.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable by running alembic by hand
    raise StoreError("run migrations through `casebook init`")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
context.run_migrations()
