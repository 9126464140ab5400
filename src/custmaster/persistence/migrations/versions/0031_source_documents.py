"""Source records' documents as text on PostgreSQL (nothing changes on SQLite)

``source_records.received``, ``normalised`` and ``features`` (values as received,
normalised form, match features) are written once per arrival and always read whole;
nothing queries inside them. As ``json`` the server parsed each one to check it on every
insert (about 2.5 kB of JSON a record), work the application never needs: the documents
are encoded by the application's own encoder (``storable_json``) and read back by it.
As ``text`` they are stored and returned as they are (``persistence.types.JsonDocument``;
the same values read back, SQL ``NULL`` for a missing document instead of JSON ``null``,
which reads back as ``None`` alike). The lz4 compression of ``0013`` is set again on the
new type where the server has it.

Measured on the rows of a 3,000-row import (server CPU of the COPY alone, best of seven,
on a loaded machine): about 30 -> 23 us a row.

Revision ID: 0031_source_documents
Revises: 0030_merge_members
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0031_source_documents"
down_revision = "0030_merge_members"
branch_labels = None
depends_on = None

_COLUMNS = ("received", "normalised", "features")


def _has_lz4() -> bool:
    row = (
        op.get_bind()
        .exec_driver_sql(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
        )
        .first()
    )
    return bool(row and row[0])


def _alter(type_: str) -> None:
    # one statement: the table is rewritten once
    changes = [f"ALTER COLUMN {c} TYPE {type_} USING {c}::{type_}" for c in _COLUMNS]
    if _has_lz4():
        changes += [f"ALTER COLUMN {c} SET COMPRESSION lz4" for c in _COLUMNS]
    op.execute(f"ALTER TABLE source_records {', '.join(changes)}")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _alter("text")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _alter("json")
