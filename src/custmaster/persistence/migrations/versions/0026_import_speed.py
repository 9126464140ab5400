"""source_records: no TOAST work on insert for records that fit a page (PostgreSQL)

A source record's three JSON documents (values as received, normalised form, match
features) make a row of about 2.5 kB, above PostgreSQL's default ``toast_tuple_target``
(about 2 kB): every insert then compressed the documents (lz4, ``0013``) and
still moved one in three rows' largest value out of line into the TOAST table (a second
insert and an index entry). The documents compress poorly (about 0.75), so this was CPU
for little space. With ``toast_tuple_target`` at its maximum (8160 bytes, what a page
holds) a row is compressed or moved out of line only when it would not fit a page;
larger records are treated as before. Measured on the rows of a 2,000-row import: the
COPY of ``source_records`` 20-25% less server time, the table (heap and TOAST) 20%
larger. Nothing changes on SQLite (no TOAST there) or in what is read back.

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


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE source_records SET (toast_tuple_target = {TOAST_TUPLE_TARGET})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE source_records RESET (toast_tuple_target)")
