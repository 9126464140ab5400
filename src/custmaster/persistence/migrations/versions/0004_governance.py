"""governance: users, API keys, change requests, hash-chained append-only audit log

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import custmaster.persistence.types
from custmaster.persistence.audit_guard import install_guard, remove_guard

revision = "0004"
down_revision = "0001"
branch_labels = ("governance",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("roles", custmaster.persistence.types.Json, nullable=False),
        sa.Column("entities", custmaster.persistence.types.Json, nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at", custmaster.persistence.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    op.create_table(
        "api_keys",
        sa.Column("prefix", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at", custmaster.persistence.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "revoked_at", custmaster.persistence.types.UtcDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_api_keys_user_id_users")),
        sa.PrimaryKeyConstraint("prefix", name=op.f("pk_api_keys")),
    )
    op.create_index(op.f("ix_api_keys_user_id"), "api_keys", ["user_id"])
    op.create_table(
        "change_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("operation", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=True),
        sa.Column("submitted_by", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("lane", sa.String(length=16), nullable=False),
        sa.Column("data", custmaster.persistence.types.Json, nullable=False),
        sa.Column(
            "created_at", custmaster.persistence.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", custmaster.persistence.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_requests")),
    )
    op.create_index(
        "ix_change_requests_status_created", "change_requests", ["status", "created_at"]
    )
    op.create_index("ix_change_requests_customer", "change_requests", ["customer_id"])
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    _chain_existing_entries()
    install_guard(op.get_bind())


def _chain_existing_entries() -> None:
    """Entries written before the chain existed are chained now, in id order."""
    from custmaster.persistence.audit import chain_unhashed

    chain_unhashed(op.get_bind())


def downgrade() -> None:
    remove_guard(op.get_bind())
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
    op.drop_table("change_requests")
    op.drop_table("api_keys")
    op.drop_table("users")
