"""source_records.pending_group: a partial index (only the records that have a group)

``pending_group`` is set only while incomplete records that matched each other wait for
what they lack (``services.sources.pending``); every other source record, nearly all of
them, holds NULL there. The full index of ``0021_sources`` took an entry for each of them
(a b-tree indexes NULLs), one more index insert per record an import keeps. Every query
on the column asks for a group (``pending_group IN (...)``, ``pending_group IS NOT
NULL``: ``persistence.sources.pending_groups``, ``in_groups``), which a partial index
``WHERE pending_group IS NOT NULL`` serves alike. SQLite has partial indexes too: the same
index there.

Revision ID: 0024_import_payload
Revises: 0022_profile_wide
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024_import_payload"
down_revision = "0022_profile_wide"
branch_labels = None
depends_on = None

_NAME = "ix_source_records_pending_group"
_GROUPED = sa.text("pending_group IS NOT NULL")


def upgrade() -> None:
    op.drop_index(_NAME, table_name="source_records")
    op.create_index(
        _NAME,
        "source_records",
        ["pending_group"],
        unique=False,
        postgresql_where=_GROUPED,
        sqlite_where=_GROUPED,
    )


def downgrade() -> None:
    op.drop_index(_NAME, table_name="source_records")
    op.create_index(_NAME, "source_records", ["pending_group"], unique=False)
