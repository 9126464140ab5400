"""matching: match index, batch runs, review queue, not-duplicate decisions, merges,
redirects

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import custmaster.persistence.types

revision = "0003"
down_revision = "0001"
branch_labels = ("matching",)
depends_on = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _stamp(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(
        name, custmaster.persistence.types.UtcDateTime(timezone=True), nullable=nullable
    )


def _big_id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "match_records",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("features", _json(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_match_records")),
    )
    op.create_table(
        "match_keys",
        sa.Column("key_type", sa.String(length=16), nullable=False),
        sa.Column("key_value", sa.String(length=320), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("key_type", "key_value", "customer_id", name=op.f("pk_match_keys")),
    )
    op.create_index("ix_match_keys_customer_id", "match_keys", ["customer_id"])
    op.create_table(
        "match_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        _stamp("started_at"),
        _stamp("finished_at", nullable=True),
        sa.Column("actor_id", sa.String(length=128), nullable=False),
        sa.Column("model", _json(), nullable=False),
        sa.Column("stats", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_runs")),
    )
    op.create_table(
        "duplicate_clusters",
        sa.Column("id", _big_id(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("proposal", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("members", _json(), nullable=False),
        sa.Column("pairs", _json(), nullable=False),
        _stamp("created_at"),
        _stamp("decided_at", nullable=True),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("merge_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duplicate_clusters")),
    )
    op.create_index("ix_duplicate_clusters_status_id", "duplicate_clusters", ["status", "id"])
    op.create_table(
        "duplicate_cluster_members",
        sa.Column("cluster_id", _big_id(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint(
            "cluster_id", "customer_id", name=op.f("pk_duplicate_cluster_members")
        ),
    )
    op.create_index(
        "ix_duplicate_cluster_members_customer_id", "duplicate_cluster_members", ["customer_id"]
    )
    op.create_table(
        "not_duplicates",
        sa.Column("customer_a", sa.Uuid(), nullable=False),
        sa.Column("customer_b", sa.Uuid(), nullable=False),
        _stamp("decided_at"),
        sa.Column("decided_by", sa.String(length=128), nullable=False),
        sa.Column("cluster_id", _big_id(), nullable=True),
        sa.PrimaryKeyConstraint("customer_a", "customer_b", name=op.f("pk_not_duplicates")),
    )
    op.create_table(
        "merges",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("survivor_id", sa.Uuid(), nullable=False),
        sa.Column("absorbed_ids", _json(), nullable=False),
        sa.Column("survivor_before", _json(), nullable=False),
        sa.Column("survivor_after", _json(), nullable=False),
        sa.Column("absorbed", _json(), nullable=False),
        sa.Column("rules", _json(), nullable=False),
        sa.Column("choices", _json(), nullable=False),
        _stamp("merged_at"),
        sa.Column("merged_by", sa.String(length=128), nullable=False),
        _stamp("unmerged_at", nullable=True),
        sa.Column("unmerged_by", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merges")),
    )
    op.create_index("ix_merges_survivor_id", "merges", ["survivor_id"])
    op.create_table(
        "merge_source_refs",
        sa.Column("merge_id", sa.Uuid(), nullable=False),
        sa.Column("source_system", sa.String(length=64), nullable=False),
        sa.Column("source_id", sa.String(length=255), nullable=False),
        sa.Column("from_customer_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint(
            "merge_id", "source_system", "source_id", name=op.f("pk_merge_source_refs")
        ),
    )
    op.create_index("ix_merge_source_refs_ref", "merge_source_refs", ["source_system", "source_id"])
    op.create_table(
        "customer_redirects",
        sa.Column("absorbed_id", sa.Uuid(), nullable=False),
        sa.Column("survivor_id", sa.Uuid(), nullable=False),
        sa.Column("merge_id", sa.Uuid(), nullable=False),
        _stamp("created_at"),
        sa.PrimaryKeyConstraint("absorbed_id", name=op.f("pk_customer_redirects")),
    )
    op.create_index("ix_customer_redirects_survivor_id", "customer_redirects", ["survivor_id"])


def downgrade() -> None:
    op.drop_table("customer_redirects")
    op.drop_table("merge_source_refs")
    op.drop_table("merges")
    op.drop_table("not_duplicates")
    op.drop_table("duplicate_cluster_members")
    op.drop_table("duplicate_clusters")
    op.drop_table("match_runs")
    op.drop_table("match_keys")
    op.drop_table("match_records")
