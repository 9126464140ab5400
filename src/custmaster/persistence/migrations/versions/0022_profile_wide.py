"""profile_wide: one denormalised read row per customer and legal entity (master fields,
features, scores) for segment queries and the 360 view, its indexes, the trigger copying
changed master fields, and its backfill from profile_features/customers/profile_scores

Revision ID: 0022_profile_wide
Revises: 0023_search_trgm
Create Date: 2026-12-06
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import custmaster.persistence.types
from custmaster.domain.profile import PROFILE_FEATURES
from custmaster.persistence.profile_wide import drop_trigger_ddl, master_trigger_ddl, refresh_all
from custmaster.persistence.tables_profile import feature_column_type
from custmaster.persistence.tables_profile_wide import (
    AXES_WHERE,
    WIDE_INDEXES,
    master_column_types,
)

revision = "0022_profile_wide"
down_revision = "0023_search_trgm"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _stamp() -> custmaster.persistence.types.UtcDateTime:
    return custmaster.persistence.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "profile_wide",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("legal_entity", sa.String(length=64), nullable=False),
        *(sa.Column(n, t, nullable=True) for n, t in master_column_types().items()),
        *(sa.Column(n, feature_column_type(k), nullable=True) for n, k in PROFILE_FEATURES.items()),
        sa.Column("tier", sa.String(length=64), nullable=True),
        sa.Column("health_score", sa.BigInteger(), nullable=True),
        sa.Column("health_band", sa.String(length=16), nullable=True),
        sa.Column("health_trend", sa.BigInteger(), nullable=True),
        sa.Column("churn_risk", sa.Float(precision=53), nullable=True),
        sa.Column("churn_band", sa.String(length=16), nullable=True),
        sa.Column("segments", sa.Text(), nullable=True),
        sa.Column("actions", sa.Text(), nullable=True),
        sa.Column("explanation", _json(), nullable=True),
        sa.Column("rules_version", sa.Integer(), nullable=True),
        sa.Column("scored_at", _stamp(), nullable=True),
        sa.Column("updated_at", _stamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_profile_wide_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", "legal_entity", name=op.f("pk_profile_wide")),
    )
    op.create_index("ix_profile_wide_number", "profile_wide", ["legal_entity", "number"])
    for name in WIDE_INDEXES:
        op.create_index(f"ix_profile_wide_{name}", "profile_wide", [name])
    op.create_index(
        "ix_profile_wide_axes",
        "profile_wide",
        ["industry", "tier", "open_quality_complaints"],
        postgresql_where=sa.text(AXES_WHERE),
        sqlite_where=sa.text(AXES_WHERE),
    )
    bind = op.get_bind()
    for statement in master_trigger_ddl(bind.dialect.name):
        op.execute(statement)
    refresh_all(bind)


def downgrade() -> None:
    for statement in drop_trigger_ddl(op.get_bind().dialect.name):
        op.execute(statement)
    for name in ("number", "axes", *WIDE_INDEXES):
        op.drop_index(f"ix_profile_wide_{name}", table_name="profile_wide")
    op.drop_table("profile_wide")
