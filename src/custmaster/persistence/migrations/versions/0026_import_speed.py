"""Less TOAST work on the rows an import writes (PostgreSQL; nothing changes on SQLite)

- ``source_records``: a source record's three JSON documents (values as received,
  normalised form, match features) make a row of about 2.5 kB, above PostgreSQL's default
  ``toast_tuple_target`` (about 2 kB): every insert compressed the documents (lz4,
  ``0013``) and still moved one in three rows' largest value out of line into the TOAST
  table (a second insert and an index entry). They compress poorly (about 0.75), so this
  was CPU for little space. With ``toast_tuple_target`` at its maximum (8160 bytes, what
  a page holds) a row is compressed or moved out of line only when it would not fit a
  page; larger records are treated as before.
- ``audit_log.changes``: an import's create entry holds the whole record (about 1.8 kB of
  JSON), so its row is above the target too and was compressed with ``pglz``, the
  server's default. ``lz4`` (where the server has it, as for ``import_rows.payload`` in
  ``0007``) compresses the same values at a fraction of the CPU, to about the same size.
  Entries stored already keep their compression; both read back alike.

Measured on the rows of a 2,000-row import (server CPU of the COPY, best of five):
``source_records`` 25 -> 20 us a row (the table about 20% larger), ``audit_log`` 34 ->
20 us a row (about 10% larger).

Revision ID: 0026_import_speed
Revises: 0024_import_payload
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0026_import_speed"
down_revision = "0024_import_payload"
branch_labels = None
depends_on = None

#: the largest value PostgreSQL accepts (BLCKSZ 8192 less the page header)
TOAST_TUPLE_TARGET = 8160


def _has_lz4() -> bool:
    row = (
        op.get_bind()
        .exec_driver_sql(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
        )
        .first()
    )
    return bool(row and row[0])


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE source_records SET (toast_tuple_target = {TOAST_TUPLE_TARGET})")
    if _has_lz4():
        op.execute("ALTER TABLE audit_log ALTER COLUMN changes SET COMPRESSION lz4")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE source_records RESET (toast_tuple_target)")
    if _has_lz4():
        op.execute("ALTER TABLE audit_log ALTER COLUMN changes SET COMPRESSION default")
