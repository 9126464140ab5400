"""source_records.pending_group: incomplete records that belong together

Revision ID: 0021_sources
Revises: 0020_console
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021_sources"
down_revision = "0020_console"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("source_records", sa.Column("pending_group", sa.Uuid(), nullable=True))
    op.create_index(
        "ix_source_records_pending_group", "source_records", ["pending_group"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_source_records_pending_group", table_name="source_records")
    op.drop_column("source_records", "pending_group")
