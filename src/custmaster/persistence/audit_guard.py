"""The audit log is append-only in the database too: UPDATE and DELETE on it fail.

On PostgreSQL a trigger raises (and an operator should also REVOKE UPDATE, DELETE on
audit_log from the application's role, see README); on SQLite triggers abort. Only a
maintenance step (``suspended_guard``: tests, an audited retention purge) lifts it.
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
_SQLITE_TRIGGERS = [
    """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only (UPDATE refused)'); END""",
    """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only (DELETE refused)'); END""",
]


def install_guard(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text(_PG_FUNCTION))
        connection.execute(text(_PG_TRIGGER))
        connection.execute(text(_PG_TRUNCATE_TRIGGER))
    else:
        for statement in _SQLITE_TRIGGERS:
            connection.execute(text(statement))


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
        install_guard(connection)
