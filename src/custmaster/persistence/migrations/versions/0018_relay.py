"""relay_partitions: the outbox relay's lease and cursor per stream and partition

Revision ID: 0018_relay
Revises: 0015_profile
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import custmaster.persistence.types

revision = "0018_relay"
down_revision = "0015_profile"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "relay_partitions",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("partition", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=True),
        sa.Column(
            "lease_until", custmaster.persistence.types.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("cursor_txid", sa.BigInteger(), nullable=False),
        sa.Column("cursor_id", sa.BigInteger(), nullable=False),
        sa.Column("published_total", sa.BigInteger(), nullable=False),
        sa.Column("last_event_id", sa.Uuid(), nullable=True),
        sa.Column(
            "last_published_at",
            custmaster.persistence.types.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column("rate", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name", "partition", name=op.f("pk_relay_partitions")),
    )


def downgrade() -> None:
    op.drop_table("relay_partitions")
