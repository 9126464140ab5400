"""profile_rules: versioned profile rules (version 1: the defaults), profile scores, saved
segments and customer-product affinity

Revision ID: 0017_profile_rules
Revises: 0019_hub
Create Date: 2026-12-06
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import custmaster.persistence.types
from custmaster.domain.profile_rules_default import DEFAULT_RULES

revision = "0017_profile_rules"
down_revision = "0019_hub"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _stamp() -> custmaster.persistence.types.UtcDateTime:
    return custmaster.persistence.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    rule_sets = op.create_table(
        "profile_rule_sets",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("definition", _json(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("change_request_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", _stamp(), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_profile_rule_sets")),
    )
    op.create_table(
        "profile_scores",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("legal_entity", sa.String(length=64), nullable=False),
        sa.Column("tier", sa.String(length=64), nullable=False),
        sa.Column("health_score", sa.BigInteger(), nullable=True),
        sa.Column("health_band", sa.String(length=16), nullable=True),
        sa.Column("health_trend", sa.BigInteger(), nullable=True),
        sa.Column("churn_risk", sa.Float(precision=53), nullable=False),
        sa.Column("churn_band", sa.String(length=16), nullable=False),
        sa.Column("segments", sa.Text(), nullable=False),
        sa.Column("actions", sa.Text(), nullable=False),
        sa.Column("explanation", _json(), nullable=False),
        sa.Column("rules_version", sa.Integer(), nullable=False),
        sa.Column("scored_at", _stamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_profile_scores_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", "legal_entity", name=op.f("pk_profile_scores")),
    )
    op.create_index("ix_profile_scores_tier", "profile_scores", ["legal_entity", "tier"])
    op.create_table(
        "segments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("expression", sa.Text(), nullable=False),
        sa.Column("entity", sa.String(length=64), nullable=True),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", _stamp(), nullable=False),
        sa.Column("updated_at", _stamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segments")),
        sa.UniqueConstraint("name", name=op.f("uq_segments_name")),
    )
    op.create_table(
        "customer_affinity",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("rank", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("product", sa.String(length=128), nullable=False),
        sa.Column("product_group", sa.String(length=128), nullable=True),
        sa.Column("score", sa.Float(precision=53), nullable=False),
        sa.Column("computed_at", _stamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_affinity_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", "kind", "rank", name=op.f("pk_customer_affinity")),
    )
    op.bulk_insert(
        rule_sets,
        [
            {
                "version": 1,
                "definition": DEFAULT_RULES,
                "created_by": "system",
                "change_request_id": None,
                "created_at": datetime.now(UTC),
            }
        ],
    )


def downgrade() -> None:
    op.drop_table("customer_affinity")
    op.drop_table("segments")
    op.drop_index("ix_profile_scores_tier", table_name="profile_scores")
    op.drop_table("profile_scores")
    op.drop_table("profile_rule_sets")
