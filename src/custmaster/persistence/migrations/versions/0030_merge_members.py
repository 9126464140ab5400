"""merge_members: one row per customer a merge absorbed

An erasure scrubs the personal data out of every merge the customer took part in
(``services.sources.erasure``). Finding the merges it was absorbed by read every merge's
``absorbed_ids`` as text (``LIKE '%id%'``): a scan of the whole ``merges`` table, snapshots
and all. ``merge_members`` indexes them by customer; the rows of the merges already made
are filled in from ``absorbed_ids``.

Revision ID: 0030_merge_members
Revises: 0026_import_speed
Create Date: 2026-12-06
"""

from __future__ import annotations

import json
import uuid

import sqlalchemy as sa
from alembic import op

revision = "0030_merge_members"
down_revision = "0026_import_speed"
branch_labels = None
depends_on = None

_BATCH = 5_000


def upgrade() -> None:
    members = op.create_table(
        "merge_members",
        sa.Column("merge_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("merge_id", "customer_id"),
    )
    op.create_index("ix_merge_members_customer_id", "merge_members", ["customer_id"])
    connection = op.get_bind()
    merges = sa.table("merges", sa.column("id", sa.Uuid()), sa.column("absorbed_ids", sa.Text()))
    rows: list[dict[str, uuid.UUID]] = []
    query = sa.select(merges.c.id, sa.cast(merges.c.absorbed_ids, sa.Text))
    for merge_id, absorbed in connection.execute(query):
        ids = json.loads(absorbed) if isinstance(absorbed, str) else absorbed
        rows += [{"merge_id": merge_id, "customer_id": uuid.UUID(str(i))} for i in set(ids)]
        if len(rows) >= _BATCH:
            op.bulk_insert(members, rows)
            rows = []
    if rows:
        op.bulk_insert(members, rows)


def downgrade() -> None:
    op.drop_index("ix_merge_members_customer_id", table_name="merge_members")
    op.drop_table("merge_members")
