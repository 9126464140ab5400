"""structure: hierarchies, relationships, org units and assignments, customer templates,
name affixes, sales organisations, payment schedules, operating hours, visit settings

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import custmaster.persistence.types

revision = "0005"
down_revision = "0001"
branch_labels = ("structure",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customer_templates",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("defaults", custmaster.persistence.types.Json, nullable=False),
        sa.Column(
            "created_at", custmaster.persistence.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", custmaster.persistence.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_customer_templates")),
    )
    op.create_table(
        "name_affixes",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column(
            "created_at", custmaster.persistence.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_name_affixes")),
    )
    op.create_table(
        "org_units",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("parent_code", sa.String(length=64), nullable=True),
        sa.Column(
            "created_at", custmaster.persistence.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["parent_code"], ["org_units.code"], name=op.f("fk_org_units_parent_code_org_units")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_org_units")),
    )
    with op.batch_alter_table("org_units", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_org_units_parent_code"), ["parent_code"], unique=False)

    op.create_table(
        "relationship_types",
        sa.Column("code", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column(
            "created_at", custmaster.persistence.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_relationship_types")),
    )
    op.create_table(
        "payment_days",
        sa.Column("payment_terms", sa.String(length=64), nullable=False),
        sa.Column("day_of_month", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["payment_terms"],
            ["payment_terms.code"],
            name=op.f("fk_payment_days_payment_terms_payment_terms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("payment_terms", "day_of_month", name=op.f("pk_payment_days")),
    )
    op.create_table(
        "payment_schedule_lines",
        sa.Column("payment_terms", sa.String(length=64), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("percentage", custmaster.persistence.types.Money(), nullable=False),
        sa.Column("due_days", sa.Integer(), nullable=False),
        sa.Column("discount_percent", custmaster.persistence.types.Money(), nullable=True),
        sa.ForeignKeyConstraint(
            ["payment_terms"],
            ["payment_terms.code"],
            name=op.f("fk_payment_schedule_lines_payment_terms_payment_terms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("payment_terms", "line_no", name=op.f("pk_payment_schedule_lines")),
    )
    op.create_table(
        "sales_organisations",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("legal_entity", sa.String(length=64), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column(
            "created_at", custmaster.persistence.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["legal_entity"],
            ["legal_entities.code"],
            name=op.f("fk_sales_organisations_legal_entity_legal_entities"),
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_sales_organisations")),
    )
    op.create_table(
        "customer_relationships",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("related_id", sa.Uuid(), nullable=False),
        sa.Column("relationship_type", sa.String(length=50), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at", custmaster.persistence.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_relationships_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["related_id"],
            ["customers.id"],
            name=op.f("fk_customer_relationships_related_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_relationships")),
    )
    with op.batch_alter_table("customer_relationships", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_relationships_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_customer_relationships_related_id"), ["related_id"], unique=False
        )

    op.create_table(
        "hierarchy_links",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("hierarchy_type", sa.String(length=32), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=False),
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column(
            "created_at", custmaster.persistence.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["child_id"],
            ["customers.id"],
            name=op.f("fk_hierarchy_links_child_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["customers.id"],
            name=op.f("fk_hierarchy_links_parent_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hierarchy_links")),
        sa.UniqueConstraint(
            "hierarchy_type",
            "child_id",
            "valid_from",
            name=op.f("uq_hierarchy_links_hierarchy_type"),
        ),
    )
    with op.batch_alter_table("hierarchy_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hierarchy_links_child_id"), ["child_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_hierarchy_links_parent_id"), ["parent_id"], unique=False
        )
        batch_op.create_index(
            "ix_hierarchy_links_type_parent", ["hierarchy_type", "parent_id"], unique=False
        )

    op.create_table(
        "operating_hours",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("hours", custmaster.persistence.types.Json, nullable=False),
        sa.Column(
            "updated_at", custmaster.persistence.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_operating_hours_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_operating_hours")),
    )
    op.create_table(
        "org_unit_customers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("org_unit", sa.String(length=64), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column(
            "created_at", custmaster.persistence.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_org_unit_customers_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_unit"], ["org_units.code"], name=op.f("fk_org_unit_customers_org_unit_org_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_unit_customers")),
    )
    with op.batch_alter_table("org_unit_customers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_org_unit_customers_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_org_unit_customers_org_unit"), ["org_unit"], unique=False
        )

    op.create_table(
        "team_assignments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=True),
        sa.Column("org_unit", sa.String(length=64), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column(
            "created_at", custmaster.persistence.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_team_assignments_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_unit"], ["org_units.code"], name=op.f("fk_team_assignments_org_unit_org_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_assignments")),
    )
    with op.batch_alter_table("team_assignments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_team_assignments_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_team_assignments_org_unit"), ["org_unit"], unique=False
        )

    op.create_table(
        "visit_settings",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("frequency", sa.String(length=16), nullable=False),
        sa.Column("preferred_days", custmaster.persistence.types.Json, nullable=False),
        sa.Column(
            "updated_at", custmaster.persistence.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_visit_settings_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_visit_settings")),
    )


def downgrade() -> None:
    op.drop_table("visit_settings")
    with op.batch_alter_table("team_assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_team_assignments_org_unit"))
        batch_op.drop_index(batch_op.f("ix_team_assignments_customer_id"))

    op.drop_table("team_assignments")
    with op.batch_alter_table("org_unit_customers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_org_unit_customers_org_unit"))
        batch_op.drop_index(batch_op.f("ix_org_unit_customers_customer_id"))

    op.drop_table("org_unit_customers")
    op.drop_table("operating_hours")
    with op.batch_alter_table("hierarchy_links", schema=None) as batch_op:
        batch_op.drop_index("ix_hierarchy_links_type_parent")
        batch_op.drop_index(batch_op.f("ix_hierarchy_links_parent_id"))
        batch_op.drop_index(batch_op.f("ix_hierarchy_links_child_id"))

    op.drop_table("hierarchy_links")
    with op.batch_alter_table("customer_relationships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_relationships_related_id"))
        batch_op.drop_index(batch_op.f("ix_customer_relationships_customer_id"))

    op.drop_table("customer_relationships")
    op.drop_table("sales_organisations")
    op.drop_table("payment_schedule_lines")
    op.drop_table("payment_days")
    op.drop_table("relationship_types")
    with op.batch_alter_table("org_units", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_org_units_parent_code"))

    op.drop_table("org_units")
    op.drop_table("name_affixes")
    op.drop_table("customer_templates")
