"""Account structure tables (issue 5) on the shared ``metadata``; migration 0005 creates them.

Hierarchy links, relationships, org units and their assignments, customer templates, the
extra reference data (name affixes, sales organisations, payment schedules) and the
per-account settings (operating hours, visit settings).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)

from custmaster.persistence.tables import metadata
from custmaster.persistence.types import Json, Money, UtcDateTime


def _customer_fk(name: str = "customer_id", *, nullable: bool = False) -> Column[object]:
    return Column(
        name, Uuid, ForeignKey("customers.id", ondelete="CASCADE"), nullable=nullable, index=True
    )


hierarchy_links = Table(
    "hierarchy_links",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("hierarchy_type", String(32), nullable=False),
    _customer_fk("parent_id"),
    _customer_fk("child_id"),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("hierarchy_type", "child_id", "valid_from"),
)
Index(
    "ix_hierarchy_links_type_parent", hierarchy_links.c.hierarchy_type, hierarchy_links.c.parent_id
)

relationship_types = Table(
    "relationship_types",
    metadata,
    Column("code", String(50), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

customer_relationships = Table(
    "customer_relationships",
    metadata,
    Column("id", Uuid, primary_key=True),
    _customer_fk(),
    _customer_fk("related_id"),
    Column("relationship_type", String(50), nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date),
    Column("is_primary", Boolean, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

org_units = Table(
    "org_units",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("name", String(255), nullable=False),
    Column("parent_code", String(64), ForeignKey("org_units.code"), index=True),
    Column("created_at", UtcDateTime(), nullable=False),
)

org_unit_customers = Table(
    "org_unit_customers",
    metadata,
    Column("id", Uuid, primary_key=True),
    _customer_fk(),
    Column("org_unit", String(64), ForeignKey("org_units.code"), nullable=False, index=True),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date),
    Column("created_at", UtcDateTime(), nullable=False),
)

team_assignments = Table(
    "team_assignments",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", String(128), nullable=False),
    Column("role", String(64), nullable=False),
    _customer_fk(nullable=True),
    Column("org_unit", String(64), ForeignKey("org_units.code"), index=True),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date),
    Column("created_at", UtcDateTime(), nullable=False),
)

customer_templates = Table(
    "customer_templates",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("description", Text),
    Column("defaults", Json, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

name_affixes = Table(
    "name_affixes",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

sales_organisations = Table(
    "sales_organisations",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("legal_entity", String(64), ForeignKey("legal_entities.code")),
    Column("currency", String(3)),
    Column("created_at", UtcDateTime(), nullable=False),
)

payment_schedule_lines = Table(
    "payment_schedule_lines",
    metadata,
    Column(
        "payment_terms",
        String(64),
        ForeignKey("payment_terms.code", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("line_no", Integer, primary_key=True),
    Column("percentage", Money(), nullable=False),
    Column("due_days", Integer, nullable=False),
    Column("discount_percent", Money()),
)

payment_days = Table(
    "payment_days",
    metadata,
    Column(
        "payment_terms",
        String(64),
        ForeignKey("payment_terms.code", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("day_of_month", Integer, primary_key=True),
)

operating_hours = Table(
    "operating_hours",
    metadata,
    Column("customer_id", Uuid, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True),
    Column("hours", Json, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

visit_settings = Table(
    "visit_settings",
    metadata,
    Column("customer_id", Uuid, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True),
    Column("frequency", String(16), nullable=False),
    Column("preferred_days", Json, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)
