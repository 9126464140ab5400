"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import custmaster.persistence.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _txid_default() -> sa.TextClause:
    """The writing transaction's id on PostgreSQL; 0 on SQLite (writers are serialised)."""
    if op.get_bind().dialect.name == "postgresql":
        return sa.text("(pg_current_xact_id()::text::bigint)")
    return sa.text("0")


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "occurred_at", custmaster.persistence.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("actor_id", sa.String(length=128), nullable=False),
        sa.Column("actor_name", sa.String(length=255), nullable=False),
        sa.Column("operation", sa.String(length=64), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=128), nullable=False),
        sa.Column("change_request_id", sa.Uuid(), nullable=True),
        sa.Column(
            "changes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_log_resource", ["resource_type", "resource_id", "id"], unique=False
        )

    op.create_table(
        "customer_groups",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column(
            "created_at", custmaster.persistence.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_customer_groups")),
    )
    op.create_table(
        "dimension_types",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column(
            "created_at", custmaster.persistence.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_dimension_types")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("principal_id", sa.String(length=128), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column(
            "body",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "headers",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "created_at", custmaster.persistence.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("principal_id", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_table(
        "industries",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column(
            "created_at", custmaster.persistence.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_industries")),
    )
    op.create_table(
        "legal_entities",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "created_at", custmaster.persistence.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_legal_entities")),
    )
    op.create_table(
        "outbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("txid", sa.BigInteger(), server_default=_txid_default(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=128), nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column("time", custmaster.persistence.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column(
            "envelope",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "published_at", custmaster.persistence.types.UtcDateTime(timezone=True), nullable=True
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_event_id")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_txid_id", ["txid", "id"], unique=False)

    op.create_table(
        "payment_methods",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column(
            "created_at", custmaster.persistence.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_payment_methods")),
    )
    op.create_table(
        "payment_terms",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("net_days", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", custmaster.persistence.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_payment_terms")),
    )
    op.create_table(
        "sequences",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("next_value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sequences")),
    )
    op.create_table(
        "tax_codes",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column(
            "created_at", custmaster.persistence.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_tax_codes")),
    )
    op.create_table(
        "customers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("name_key", sa.String(length=255), nullable=False),
        sa.Column("legal_name", sa.String(length=255), nullable=True),
        sa.Column("first_name", sa.String(length=128), nullable=True),
        sa.Column("last_name", sa.String(length=128), nullable=True),
        sa.Column("name_affix", sa.String(length=64), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("email_key", sa.String(length=320), nullable=False),
        sa.Column("billing_email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("website", sa.String(length=2048), nullable=True),
        sa.Column("tax_id", sa.String(length=64), nullable=True),
        sa.Column("customer_type", sa.String(length=16), nullable=True),
        sa.Column("industry", sa.String(length=64), nullable=True),
        sa.Column("customer_group", sa.String(length=64), nullable=True),
        sa.Column("account_tier", sa.String(length=64), nullable=True),
        sa.Column("relationship_status", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("owning_entity", sa.String(length=64), nullable=True),
        sa.Column("credit_limit", custmaster.persistence.types.Money(), nullable=True),
        sa.Column("payment_terms", sa.String(length=64), nullable=True),
        sa.Column("payment_method", sa.String(length=64), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("tax_code", sa.String(length=64), nullable=True),
        sa.Column("revenue_account", sa.String(length=64), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "dimensions",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", custmaster.persistence.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", custmaster.persistence.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["customer_group"],
            ["customer_groups.code"],
            name=op.f("fk_customers_customer_group_customer_groups"),
        ),
        sa.ForeignKeyConstraint(
            ["industry"], ["industries.code"], name=op.f("fk_customers_industry_industries")
        ),
        sa.ForeignKeyConstraint(
            ["owning_entity"],
            ["legal_entities.code"],
            name=op.f("fk_customers_owning_entity_legal_entities"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_method"],
            ["payment_methods.code"],
            name=op.f("fk_customers_payment_method_payment_methods"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_terms"],
            ["payment_terms.code"],
            name=op.f("fk_customers_payment_terms_payment_terms"),
        ),
        sa.ForeignKeyConstraint(
            ["tax_code"], ["tax_codes.code"], name=op.f("fk_customers_tax_code_tax_codes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("number", name=op.f("uq_customers_number")),
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customers_country"), ["country"], unique=False)
        batch_op.create_index(batch_op.f("ix_customers_email_key"), ["email_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_customers_name_key"), ["name_key"], unique=False)
        batch_op.create_index("ix_customers_status_number", ["status", "number"], unique=False)
        batch_op.create_index(batch_op.f("ix_customers_tax_id"), ["tax_id"], unique=False)

    op.create_table(
        "dimension_values",
        sa.Column("dimension_type", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["dimension_type"],
            ["dimension_types.code"],
            name=op.f("fk_dimension_values_dimension_type_dimension_types"),
        ),
        sa.PrimaryKeyConstraint("dimension_type", "code", name=op.f("pk_dimension_values")),
    )
    op.create_table(
        "customer_addresses",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("entity_code", sa.String(length=64), nullable=True),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column(
            "lines",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("city", sa.String(length=128), nullable=True),
        sa.Column("region", sa.String(length=64), nullable=True),
        sa.Column("postal_code", sa.String(length=20), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_addresses_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["entity_code"],
            ["legal_entities.code"],
            name=op.f("fk_customer_addresses_entity_code_legal_entities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_addresses")),
    )
    with op.batch_alter_table("customer_addresses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_addresses_customer_id"), ["customer_id"], unique=False
        )

    op.create_table(
        "customer_contacts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("first_name", sa.String(length=128), nullable=True),
        sa.Column("last_name", sa.String(length=128), nullable=True),
        sa.Column("job_title", sa.String(length=128), nullable=True),
        sa.Column("role", sa.String(length=64), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.Column("sellable", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_contacts_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_contacts")),
    )
    with op.batch_alter_table("customer_contacts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_contacts_customer_id"), ["customer_id"], unique=False
        )

    op.create_table(
        "customer_overrides",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("entity_code", sa.String(length=64), nullable=False),
        sa.Column("credit_limit", custmaster.persistence.types.Money(), nullable=True),
        sa.Column("payment_terms", sa.String(length=64), nullable=True),
        sa.Column("payment_method", sa.String(length=64), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("tax_code", sa.String(length=64), nullable=True),
        sa.Column("revenue_account", sa.String(length=64), nullable=True),
        sa.Column("customer_group", sa.String(length=64), nullable=True),
        sa.Column(
            "dimensions",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["customer_group"],
            ["customer_groups.code"],
            name=op.f("fk_customer_overrides_customer_group_customer_groups"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_overrides_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["entity_code"],
            ["legal_entities.code"],
            name=op.f("fk_customer_overrides_entity_code_legal_entities"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_method"],
            ["payment_methods.code"],
            name=op.f("fk_customer_overrides_payment_method_payment_methods"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_terms"],
            ["payment_terms.code"],
            name=op.f("fk_customer_overrides_payment_terms_payment_terms"),
        ),
        sa.ForeignKeyConstraint(
            ["tax_code"], ["tax_codes.code"], name=op.f("fk_customer_overrides_tax_code_tax_codes")
        ),
        sa.PrimaryKeyConstraint("customer_id", "entity_code", name=op.f("pk_customer_overrides")),
    )
    with op.batch_alter_table("customer_overrides", schema=None) as batch_op:
        batch_op.create_index("ix_customer_overrides_entity_code", ["entity_code"], unique=False)

    op.create_table(
        "customer_pricing_tiers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(length=64), nullable=False),
        sa.Column("unit_price", custmaster.persistence.types.Money(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("min_quantity", sa.Integer(), nullable=False),
        sa.Column("max_quantity", sa.Integer(), nullable=True),
        sa.Column("effective_from", sa.Date(), nullable=True),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_pricing_tiers_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_pricing_tiers")),
    )
    with op.batch_alter_table("customer_pricing_tiers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_pricing_tiers_customer_id"), ["customer_id"], unique=False
        )

    op.create_table(
        "customer_source_refs",
        sa.Column("source_system", sa.String(length=64), nullable=False),
        sa.Column("source_id", sa.String(length=255), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_source_refs_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("source_system", "source_id", name=op.f("pk_customer_source_refs")),
    )
    with op.batch_alter_table("customer_source_refs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_source_refs_customer_id"), ["customer_id"], unique=False
        )

    op.create_table(
        "customer_tax_profiles",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("tax_code", sa.String(length=64), nullable=False),
        sa.Column("certificate_number", sa.String(length=64), nullable=True),
        sa.Column("effective_from", sa.Date(), nullable=True),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_tax_profiles_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tax_code"],
            ["tax_codes.code"],
            name=op.f("fk_customer_tax_profiles_tax_code_tax_codes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_tax_profiles")),
    )
    with op.batch_alter_table("customer_tax_profiles", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_tax_profiles_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_customer_tax_profiles_effective_to"), ["effective_to"], unique=False
        )
    op.bulk_insert(
        sa.table("sequences", sa.column("name", sa.String), sa.column("next_value", sa.BigInteger)),
        [{"name": "customer_number", "next_value": 1}],
    )


def downgrade() -> None:
    with op.batch_alter_table("customer_tax_profiles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_tax_profiles_effective_to"))
        batch_op.drop_index(batch_op.f("ix_customer_tax_profiles_customer_id"))

    op.drop_table("customer_tax_profiles")
    with op.batch_alter_table("customer_source_refs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_source_refs_customer_id"))

    op.drop_table("customer_source_refs")
    with op.batch_alter_table("customer_pricing_tiers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_pricing_tiers_customer_id"))

    op.drop_table("customer_pricing_tiers")
    with op.batch_alter_table("customer_overrides", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_overrides_entity_code")

    op.drop_table("customer_overrides")
    with op.batch_alter_table("customer_contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_contacts_customer_id"))

    op.drop_table("customer_contacts")
    with op.batch_alter_table("customer_addresses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_addresses_customer_id"))

    op.drop_table("customer_addresses")
    op.drop_table("dimension_values")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customers_tax_id"))
        batch_op.drop_index("ix_customers_status_number")
        batch_op.drop_index(batch_op.f("ix_customers_name_key"))
        batch_op.drop_index(batch_op.f("ix_customers_email_key"))
        batch_op.drop_index(batch_op.f("ix_customers_country"))

    op.drop_table("customers")
    op.drop_table("tax_codes")
    op.drop_table("sequences")
    op.drop_table("payment_terms")
    op.drop_table("payment_methods")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_txid_id")

    op.drop_table("outbox")
    op.drop_table("legal_entities")
    op.drop_table("industries")
    op.drop_table("idempotency_keys")
    op.drop_table("dimension_types")
    op.drop_table("customer_groups")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_resource")

    op.drop_table("audit_log")
