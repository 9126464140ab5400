"""console_sessions: the steward console's sign-in sessions

Revision ID: 0020_console
Revises: 0018_relay
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import custmaster.persistence.types

revision = "0020_console"
down_revision = "0018_relay"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("key_prefix", sa.String(length=64), nullable=True),
        sa.Column("principal", custmaster.persistence.types.Json, nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at", custmaster.persistence.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "expires_at", custmaster.persistence.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "ended_at", custmaster.persistence.types.UtcDateTime(timezone=True), nullable=True
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_console_sessions")),
    )
    op.create_index("ix_console_sessions_expires_at", "console_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_console_sessions_expires_at", table_name="console_sessions")
    op.drop_table("console_sessions")
