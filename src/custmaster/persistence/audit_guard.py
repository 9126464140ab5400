"""The audit log is append-only in the database too: UPDATE and DELETE on it fail.

On PostgreSQL a trigger raises (and an operator should also REVOKE UPDATE, DELETE on
audit_log from the application's role, then GRANT it UPDATE (chain_seq, hash, prev_hash)
for sealing, see README); on SQLite triggers abort. Only a maintenance step
(``suspended_guard``: tests, an audited retention purge) lifts it.

Since migration 0006 (:func:`install_sealing_guard`) one UPDATE is allowed: sealing an
entry, i.e. setting ``chain_seq``, ``hash`` and ``prev_hash`` once, from NULL to values,
with every other column unchanged (``persistence.audit``). Migration 0004 installed the
guard without that exception (:func:`install_guard`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, text

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION custmaster_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql
"""
_PG_TRIGGER = """
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION custmaster_audit_append_only()
"""
_PG_TRUNCATE_TRIGGER = """
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
FOR EACH STATEMENT EXECUTE FUNCTION custmaster_audit_append_only()
"""
_PG_SEALING_FUNCTION = """
CREATE OR REPLACE FUNCTION custmaster_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        -- sealing: chain_seq, hash and prev_hash set once, from NULL, nothing else changed
        IF OLD.chain_seq IS NULL AND OLD.hash IS NULL AND OLD.prev_hash IS NULL
           AND NEW.chain_seq IS NOT NULL AND NEW.hash IS NOT NULL
           AND NEW.prev_hash IS NOT NULL
           AND to_jsonb(NEW) - 'chain_seq' - 'hash' - 'prev_hash'
               = to_jsonb(OLD) - 'chain_seq' - 'hash' - 'prev_hash'
        THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql
"""
#: the columns sealing sets (once, from NULL)
SEALING_COLUMNS = ("chain_seq", "hash", "prev_hash")
#: the other columns of audit_log as migration 0006 knew them
SEALED_COLUMNS_0006 = (
    "id",
    "occurred_at",
    "actor_id",
    "actor_name",
    "operation",
    "resource_type",
    "resource_id",
    "change_request_id",
    "changes",
)
#: every other column of audit_log (tests check the list is complete; 0009: signature)
SEALED_COLUMNS = (*SEALED_COLUMNS_0006, "signature")


def _sqlite_sealing_update(sealed: tuple[str, ...]) -> str:
    return f"""CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    WHEN NOT ({" AND ".join(f"OLD.{c} IS NULL" for c in SEALING_COLUMNS)}
              AND {" AND ".join(f"NEW.{c} IS NOT NULL" for c in SEALING_COLUMNS)}
              AND {" AND ".join(f"NEW.{c} IS OLD.{c}" for c in sealed)})
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only (UPDATE refused)'); END"""


_SQLITE_TRIGGERS = [
    """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only (UPDATE refused)'); END""",
    """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only (DELETE refused)'); END""",
]


def install_guard(connection: Connection) -> None:
    """The guard as migration 0004 installed it (no UPDATE at all)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text(_PG_FUNCTION))
        connection.execute(text(_PG_TRIGGER))
        connection.execute(text(_PG_TRUNCATE_TRIGGER))
    else:
        for statement in _SQLITE_TRIGGERS:
            connection.execute(text(statement))


def install_sealing_guard(connection: Connection, sealed: tuple[str, ...] = SEALED_COLUMNS) -> None:
    """The guard with the one exception for sealing (migration 0006 on); ``sealed``: the
    columns sealing leaves as they are (SQLite names them; PostgreSQL compares them all)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text(_PG_SEALING_FUNCTION))
        connection.execute(text(_PG_TRIGGER))
        connection.execute(text(_PG_TRUNCATE_TRIGGER))
    else:
        connection.execute(text(_sqlite_sealing_update(sealed)))
        connection.execute(text(_SQLITE_TRIGGERS[1]))


def remove_guard(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log"))
        connection.execute(text("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log"))
        connection.execute(text("DROP FUNCTION IF EXISTS custmaster_audit_append_only()"))
    else:
        connection.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
        connection.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))


@contextmanager
def suspended_guard(connection: Connection) -> Iterator[None]:
    """Lift the guard inside ``connection``'s transaction (PostgreSQL: for this session
    only, needs a superuser; SQLite: drop and re-create the triggers)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        yield
        return
    remove_guard(connection)
    try:
        yield
    finally:
        install_sealing_guard(connection)
