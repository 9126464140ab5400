"""An import's audit changes and row payloads as text on PostgreSQL (nothing changes on SQLite)

- ``audit_log.changes``: written once (an import's create entry holds the whole record,
  about 1.8 kB of JSON) and always read whole; nothing queries inside it. As ``jsonb``
  the server parsed every entry into its binary form on insert and printed it back on
  every read. As ``text`` (``persistence.types.JsonDocument``) it is stored as the
  application wrote it: a sealed entry's canonical text (``persistence.audit``, the text
  its hash is taken of), others ``storable_json``'s. The same values read back; an
  object's keys now come back in the order they were written (sorted, for a sealed
  entry, as SQLite always returned them) instead of ``jsonb``'s (shortest key first).
- ``import_rows.payload``: a validated record's payload (about 3 kB), written once at
  validation and read once when its batch is written; as ``json`` the server parsed it
  to check it. A missing payload is SQL ``NULL`` instead of JSON ``null`` (both read
  back as ``None``).

The lz4 compression of ``0007`` and ``0026`` is set again on the new type where the
server has it. Measured on the rows of a 10,000-row import (server CPU of a COPY into a
copy of the column, best of five): ``audit_log.changes`` 19 -> 4 us a row, the payloads
(about 3 kB) 23 -> 18 us a row.

Revision ID: 0032_import_documents
Revises: 0031_source_documents
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0032_import_documents"
down_revision = "0031_source_documents"
branch_labels = None
depends_on = None

#: table -> (column, its type before this migration)
_COLUMNS = {"audit_log": ("changes", "jsonb"), "import_rows": ("payload", "json")}


def _has_lz4() -> bool:
    row = (
        op.get_bind()
        .exec_driver_sql(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
        )
        .first()
    )
    return bool(row and row[0])


def _alter(*, to_text: bool) -> None:
    lz4 = _has_lz4()
    for table, (column, old) in _COLUMNS.items():
        type_ = "text" if to_text else old
        # one statement per table: it is rewritten once
        changes = [f"ALTER COLUMN {column} TYPE {type_} USING {column}::{type_}"]
        if lz4:
            changes.append(f"ALTER COLUMN {column} SET COMPRESSION lz4")
        op.execute(f"ALTER TABLE {table} {', '.join(changes)}")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _alter(to_text=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _alter(to_text=False)
