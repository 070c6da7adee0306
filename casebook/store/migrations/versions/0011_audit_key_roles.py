"""audit key and roles: sealed audit rows, signed checkpoints, the actor from the login

Revision ID: 0011
Revises: 0007
Create Date: 2026-12-07 02:00:00

Every audit row gets a seal (HMAC with the store's key, casebook.store.audit_key); rows
already there are sealed here, in id order. SQLite: the key is a new file outside the
database. PostgreSQL: the key is kept in `audit_keys`, readable by the owner of the tables
only; a SECURITY DEFINER trigger seals each inserted row and sets its actor from
`session_user` (unless the owner itself writes), and functions let everyday logins check
seals and write a checkpoint without reading the key. `audit_checkpoints` is append-only.
`db_roles` names the group role of each kind of user (casebook.store.roles).
"""

from __future__ import annotations

import secrets
import uuid

import sqlalchemy as sa
from alembic import op

from casebook.store.audit_key import create_key, pads, seal

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None

_GENESIS = "0" * 64
_CHAIN_LOCK = 0x63617365626F6F6B  # casebook.store.engine.AUDIT_CHAIN_LOCK

_FUNCTIONS = """
CREATE FUNCTION casebook_hmac(msg text) RETURNS text LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = {schema}, pg_temp AS $$
  SELECT encode(sha256(k.opad || sha256(k.ipad || convert_to(msg, 'UTF8'))), 'hex')
  FROM audit_keys k LIMIT 1
$$;
REVOKE ALL ON FUNCTION casebook_hmac(text) FROM PUBLIC;

CREATE FUNCTION casebook_audit_actor(claimed text) RETURNS text LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
  SELECT CASE WHEN session_user = current_user THEN claimed ELSE session_user::text END
$$;

CREATE FUNCTION casebook_audit_seal() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = {schema}, pg_temp AS $$
DECLARE previous text;
BEGIN
  PERFORM pg_advisory_xact_lock({lock});
  NEW.actor := casebook_audit_actor(NEW.actor);
  SELECT a.mac INTO previous FROM audit_log a WHERE a.id < NEW.id ORDER BY a.id DESC LIMIT 1;
  NEW.mac := casebook_hmac(
    coalesce(previous, '{genesis}') || ':' || NEW.id || ':' || coalesce(NEW.chain, ''));
  RETURN NEW;
END $$;

CREATE FUNCTION casebook_audit_expected(after_id bigint, n integer)
RETURNS TABLE(row_id bigint, expected text) LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = {schema}, pg_temp AS $$
  SELECT a.id, casebook_hmac(coalesce(
      (SELECT p.mac FROM audit_log p WHERE p.id < a.id ORDER BY p.id DESC LIMIT 1),
      '{genesis}') || ':' || a.id || ':' || coalesce(a.chain, ''))
  FROM audit_log a WHERE a.id > after_id ORDER BY a.id LIMIT n
$$;

CREATE FUNCTION casebook_checkpoint_expected()
RETURNS TABLE(checkpoint_id bigint, expected text) LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = {schema}, pg_temp AS $$
  SELECT c.id, casebook_hmac('checkpoint:' || c.upto_id || ':' || c.row_count || ':' || c.head)
  FROM audit_checkpoints c ORDER BY c.id
$$;

CREATE FUNCTION casebook_audit_checkpoint(claimed text) RETURNS SETOF audit_checkpoints
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
DECLARE last_id bigint; n bigint; last_mac text;
BEGIN
  PERFORM pg_advisory_xact_lock({lock});
  SELECT count(*), coalesce(max(a.id), 0) INTO n, last_id FROM audit_log a;
  SELECT a.mac INTO last_mac FROM audit_log a WHERE a.id = last_id;
  last_mac := coalesce(last_mac, '{genesis}');
  RETURN QUERY INSERT INTO audit_checkpoints (at, actor, upto_id, row_count, head, sig)
    VALUES (now(), casebook_audit_actor(claimed), last_id, n, last_mac,
            casebook_hmac('checkpoint:' || last_id || ':' || n || ':' || last_mac))
    RETURNING *;
END $$;
REVOKE ALL ON FUNCTION casebook_audit_checkpoint(text) FROM PUBLIC;
"""

_PG_BACKFILL = """
DO $$ DECLARE r record; previous text := '{genesis}';
BEGIN
  FOR r IN SELECT id, chain FROM audit_log ORDER BY id LOOP
    previous := casebook_hmac(previous || ':' || r.id || ':' || coalesce(r.chain, ''));
    UPDATE audit_log SET mac = previous WHERE id = r.id;
  END LOOP;
END $$
"""

_PG_TRIGGERS = [
    """CREATE TRIGGER audit_log_seal BEFORE INSERT ON audit_log
       FOR EACH ROW EXECUTE FUNCTION casebook_audit_seal()""",
    """CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE
       ON audit_checkpoints FOR EACH ROW EXECUTE FUNCTION casebook_audit_append_only()""",
    """CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
       FOR EACH STATEMENT EXECUTE FUNCTION casebook_audit_append_only()""",
]

_SQLITE_TRIGGERS = [
    """CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
       BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END""",
    """CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
       BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END""",
]
_SQLITE_NO_UPDATE = """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"""

_FUNCTION_NAMES = [
    "casebook_audit_checkpoint(text)",
    "casebook_checkpoint_expected()",
    "casebook_audit_expected(bigint, integer)",
    "casebook_audit_seal()",
    "casebook_audit_actor(text)",
    "casebook_hmac(text)",
]


def _create_tables() -> None:
    op.create_table(
        "audit_keys",
        sa.Column("store_id", sa.String(length=36), nullable=False),
        sa.Column("ipad", sa.LargeBinary(), nullable=True),
        sa.Column("opad", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("store_id", name=op.f("pk_audit_keys")),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("upto_id", sa.BigInteger(), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=False),
        sa.Column("head", sa.String(length=64), nullable=False),
        sa.Column("sig", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
    )
    op.create_table(
        "db_roles",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("role_name", sa.String(length=63), nullable=False),
        sa.PrimaryKeyConstraint("kind", name=op.f("pk_db_roles")),
    )
    op.add_column("audit_log", sa.Column("mac", sa.String(length=64), nullable=True))


def _upgrade_postgresql(store: str) -> None:
    conn = op.get_bind()
    inner, outer = pads(secrets.token_bytes(32))
    conn.execute(
        sa.text("INSERT INTO audit_keys (store_id, ipad, opad) VALUES (:s, :i, :o)"),
        {"s": store, "i": inner, "o": outer},
    )
    schema = conn.execute(sa.text("SELECT quote_ident(current_schema())")).scalar_one()
    conn.exec_driver_sql("REVOKE ALL ON audit_keys FROM PUBLIC")
    conn.exec_driver_sql(
        _FUNCTIONS.format(schema=schema, lock=_CHAIN_LOCK, genesis=_GENESIS).replace("%", "%%")
    )
    conn.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    conn.exec_driver_sql(_PG_BACKFILL.format(genesis=_GENESIS))
    conn.exec_driver_sql("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
    for statement in _PG_TRIGGERS:
        conn.exec_driver_sql(statement)


def _upgrade_sqlite(store: str) -> None:
    conn = op.get_bind()
    conn.execute(sa.text("INSERT INTO audit_keys (store_id) VALUES (:s)"), {"s": store})
    key = create_key(store)
    op.execute("DROP TRIGGER audit_log_no_update")
    previous, updates = _GENESIS, []
    for row_id, chain in conn.execute(sa.text("SELECT id, chain FROM audit_log ORDER BY id")):
        previous = seal(key, previous, row_id, chain)
        updates.append({"rid": row_id, "mac": previous})
    if updates:
        conn.execute(sa.text("UPDATE audit_log SET mac = :mac WHERE id = :rid"), updates)
    op.execute(_SQLITE_NO_UPDATE)
    for statement in _SQLITE_TRIGGERS:
        op.execute(statement)


def upgrade() -> None:
    _create_tables()
    store = str(uuid.uuid4())
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql(store)
    else:
        _upgrade_sqlite(store)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_seal ON audit_log")
        for name in _FUNCTION_NAMES:
            op.execute(f"DROP FUNCTION IF EXISTS {name}")
        op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        op.drop_column("audit_log", "mac")
        op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("ALTER TABLE audit_log DROP COLUMN mac")
        op.execute(_SQLITE_NO_UPDATE)
    op.drop_table("db_roles")
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_keys")
