"""scope reference: account tiers and revenue accounts become reference data

The master fields ``account_tier`` and ``revenue_account`` (and an override's
``revenue_account``) now name a record of these tables; the services check them like
every other reference code (422 ``unknown_reference``) and refuse to delete a code in
use (409). The codes existing customers use already are copied in (name = code), so
every stored value stays valid.

Revision ID: 0010_scope_reference
Revises: 0012_structure_approvals
Create Date: 2026-12-06
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import custmaster.persistence.types

revision = "0010_scope_reference"
down_revision = "0012_structure_approvals"
branch_labels = None
depends_on = None

_TABLES = {
    "account_tiers": (("customers", "account_tier"),),
    "revenue_accounts": (
        ("customers", "revenue_account"),
        ("customer_overrides", "revenue_account"),
    ),
}
_TIMESTAMP = custmaster.persistence.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    for table, used_by in _TABLES.items():
        op.create_table(
            table,
            sa.Column("code", sa.String(length=64), nullable=False),
            sa.Column("name", sa.String(length=255), nullable=False),
            sa.Column("created_at", _TIMESTAMP, nullable=False),
            sa.PrimaryKeyConstraint("code", name=op.f(f"pk_{table}")),
        )
        sources = " UNION ".join(
            f"SELECT {column} AS code FROM {source} WHERE {column} IS NOT NULL"
            for source, column in used_by
        )
        now = sa.bindparam("now", datetime.now(UTC), type_=_TIMESTAMP)
        op.execute(
            sa.text(
                f"INSERT INTO {table} (code, name, created_at) "
                f"SELECT DISTINCT code, code, :now FROM ({sources}) AS used"
            ).bindparams(now)
        )


def downgrade() -> None:
    for table in _TABLES:
        op.drop_table(table)
