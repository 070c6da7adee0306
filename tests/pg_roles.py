"""PostgreSQL stores with users of each role: roles belong to the whole cluster, which other
test runs share, so every name is unique and every role is dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from casebook.store import CaseStore
from casebook.store.role_kinds import Role
from casebook.store.users import add_user

__all__ = ["Clinic", "clinic"]


class Clinic:
    """A PostgreSQL store opened by its owner, and logins of each role made on demand."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.owner = CaseStore(url, create=True, actor="owner")
        self.made: list[str] = []

    def user(self, role: Role, prefix: str = "u") -> str:
        """A new login of `role` (unique name); its URL."""
        name = self.user_name(prefix)
        add_user(self.owner, name, role)
        return self.url_of(name)

    def user_url(self, role: str) -> str:
        return self.user(Role(role))

    def user_name(self, prefix: str) -> str:
        """A unique login name, dropped after the test (made here or by the CLI)."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        self.made.append(name)
        return name

    def url_of(self, name: str) -> str:
        return make_url(self.url).set(username=name).render_as_string(hide_password=False)

    def drop_roles(self) -> None:
        with self.owner.engine.begin() as conn:
            groups = list(conn.execute(sa.text("SELECT role_name FROM db_roles")).scalars())
            present = set(conn.execute(sa.text("SELECT rolname FROM pg_roles")).scalars())
            for name in [n for n in [*self.made, *groups] if n in present]:
                quoted = conn.execute(sa.text("SELECT quote_ident(:n)"), {"n": name}).scalar()
                conn.exec_driver_sql(f"DROP OWNED BY {quoted} CASCADE")
                conn.exec_driver_sql(f"DROP ROLE {quoted}")
        self.owner.close()


@pytest.fixture
def clinic(pg_url: str) -> Iterator[Clinic]:
    made = Clinic(pg_url)
    try:
        yield made
    finally:
        made.drop_roles()
