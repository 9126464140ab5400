"""activity intake: stored events, order lines, profile aggregates, dead letters

Revision ID: 0016_activity
Revises: 0017_profile_rules
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from custmaster.persistence.tables_activity import ACTIVITY_TABLES

revision = "0016_activity"
down_revision = "0017_profile_rules"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # the tables as this revision defines them (copied, so later edits of the module need
    # their own migration)
    frozen = sa.MetaData(naming_convention=ACTIVITY_TABLES[0].metadata.naming_convention)
    for table in ACTIVITY_TABLES:
        table.to_metadata(frozen)
    frozen.create_all(op.get_bind())


def downgrade() -> None:
    for table in reversed(ACTIVITY_TABLES):
        op.drop_table(table.name)
