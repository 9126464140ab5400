"""The schema (SQLAlchemy Core). Alembic migrations in ``migrations/`` create it."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
)

from custmaster.persistence.types import BigId, Json, JsonDocument, Money, UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _code_table(name: str, *extra: Column[object]) -> Table:
    return Table(
        name,
        metadata,
        Column("code", String(64), primary_key=True),
        Column("name", String(255), nullable=False),
        *extra,
        Column("created_at", UtcDateTime(), nullable=False),
    )


legal_entities = _code_table(
    "legal_entities",
    Column("country", String(2), nullable=False),
    Column("currency", String(3), nullable=False),
)
payment_terms = _code_table("payment_terms", Column("net_days", Integer, nullable=False))
payment_methods = _code_table("payment_methods")
customer_groups = _code_table("customer_groups")
tax_codes = _code_table("tax_codes")
industries = _code_table("industries")
dimension_types = _code_table("dimension_types")
#: reference data of the master fields account_tier and revenue_account (migration 0010);
#: checked by the services (``RefKind``), and a code in use is not deleted
account_tiers = _code_table("account_tiers")
revenue_accounts = _code_table("revenue_accounts")
dimension_values = Table(
    "dimension_values",
    metadata,
    Column("dimension_type", String(64), ForeignKey("dimension_types.code"), primary_key=True),
    Column("code", String(64), primary_key=True),
    Column("name", String(255), nullable=False),
)

customers = Table(
    "customers",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("number", String(32), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("name", String(255), nullable=False),
    Column("name_key", String(255), nullable=False, index=True),
    Column("legal_name", String(255)),
    Column("first_name", String(128)),
    Column("last_name", String(128)),
    Column("name_affix", String(64)),
    Column("email", String(320), nullable=False),
    Column("email_key", String(320), nullable=False, index=True),
    Column("billing_email", String(320)),
    Column("phone", String(32)),
    Column("website", String(2048)),
    Column("tax_id", String(64), index=True),
    Column("customer_type", String(16)),
    Column("industry", String(64), ForeignKey("industries.code")),
    Column("customer_group", String(64), ForeignKey("customer_groups.code")),
    Column("account_tier", String(64)),
    Column("relationship_status", String(16)),
    Column("status", String(16), nullable=False),
    Column("owning_entity", String(64), ForeignKey("legal_entities.code")),
    Column("credit_limit", Money()),
    Column("payment_terms", String(64), ForeignKey("payment_terms.code")),
    Column("payment_method", String(64), ForeignKey("payment_methods.code")),
    Column("currency", String(3)),
    Column("tax_code", String(64), ForeignKey("tax_codes.code")),
    Column("revenue_account", String(64)),
    Column("notes", Text),
    Column("metadata", Json, nullable=False),
    Column("dimensions", Json, nullable=False),
    Column("country", String(2), index=True),
    Column("version", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)
Index("ix_customers_status_number", customers.c.status, customers.c.number)


def _child_table(name: str, *columns: Column[object]) -> Table:
    return Table(
        name,
        metadata,
        Column("id", Uuid, primary_key=True),
        Column(
            "customer_id",
            Uuid,
            ForeignKey("customers.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        Column("position", Integer, nullable=False),
        *columns,
    )


customer_addresses = _child_table(
    "customer_addresses",
    Column("entity_code", String(64), ForeignKey("legal_entities.code")),
    Column("type", String(16), nullable=False),
    Column("lines", Json, nullable=False),
    Column("city", String(128)),
    Column("region", String(64)),
    Column("postal_code", String(20)),
    Column("country", String(2)),
    Column("is_primary", Boolean, nullable=False),
)
customer_contacts = _child_table(
    "customer_contacts",
    Column("first_name", String(128)),
    Column("last_name", String(128)),
    Column("job_title", String(128)),
    Column("role", String(64)),
    Column("email", String(320)),
    Column("phone", String(32)),
    Column("is_primary", Boolean, nullable=False),
    Column("sellable", Boolean, nullable=False),
)
customer_pricing_tiers = _child_table(
    "customer_pricing_tiers",
    Column("item", String(64), nullable=False),
    Column("unit_price", Money(), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("min_quantity", Integer, nullable=False),
    Column("max_quantity", Integer),
    Column("effective_from", Date),
    Column("effective_to", Date),
)
customer_tax_profiles = _child_table(
    "customer_tax_profiles",
    Column("tax_code", String(64), ForeignKey("tax_codes.code"), nullable=False),
    Column("certificate_number", String(64)),
    Column("effective_from", Date),
    Column("effective_to", Date, index=True),
)
customer_overrides = Table(
    "customer_overrides",
    metadata,
    Column("customer_id", Uuid, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True),
    Column("entity_code", String(64), ForeignKey("legal_entities.code"), primary_key=True),
    Column("credit_limit", Money()),
    Column("payment_terms", String(64), ForeignKey("payment_terms.code")),
    Column("payment_method", String(64), ForeignKey("payment_methods.code")),
    Column("currency", String(3)),
    Column("tax_code", String(64), ForeignKey("tax_codes.code")),
    Column("revenue_account", String(64)),
    Column("customer_group", String(64), ForeignKey("customer_groups.code")),
    Column("dimensions", Json, nullable=False),
)
Index("ix_customer_overrides_entity_code", customer_overrides.c.entity_code)
customer_source_refs = Table(
    "customer_source_refs",
    metadata,
    Column("source_system", String(64), primary_key=True),
    Column("source_id", String(255), primary_key=True),
    Column(
        "customer_id",
        Uuid,
        ForeignKey("customers.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
)

sequences = Table(
    "sequences",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("next_value", BigInteger, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("actor_id", String(128), nullable=False),
    Column("actor_name", String(255), nullable=False),
    Column("operation", String(64), nullable=False),
    Column("resource_type", String(64), nullable=False),
    Column("resource_id", String(128), nullable=False),
    Column("change_request_id", Uuid),
    #: text on PostgreSQL (migration 0032): the canonical text a sealed entry's hash is
    #: taken of, stored as written and read whole (nothing queries inside it)
    Column("changes", JsonDocument(), nullable=False),
    #: hash chain (migration 0004): hash = sha256(prev_hash + canonical content); NULL
    #: until the entry is sealed (persistence.audit)
    Column("prev_hash", String(64)),
    Column("hash", String(64)),
    #: the entry's place in the chain, set when it is sealed (migration 0006)
    Column("chain_seq", BigInteger),
    #: "<key id>:<nonce>:<HMAC>" by the writer holding the audit key (migration 0009;
    #: NULL without a key: domain.audit_signing)
    Column("signature", String(160)),
)
Index("ix_audit_log_resource", audit_log.c.resource_type, audit_log.c.resource_id, audit_log.c.id)
Index("ix_audit_log_chain_seq", audit_log.c.chain_seq, unique=True)
Index(
    "ix_audit_log_unsealed",
    audit_log.c.id,
    postgresql_where=audit_log.c.chain_seq.is_(None),
    sqlite_where=audit_log.c.chain_seq.is_(None),
)

#: ``txid`` is the writing transaction's id on PostgreSQL (a server default set by the
#: migration) and 0 on SQLite, where writers are serialised. The change feed orders by
#: (txid, id) and serves only transactions older than every running one, so a reader
#: never skips an event that commits late.
outbox = Table(
    "outbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("txid", BigInteger, nullable=False),
    Column("event_id", Uuid, nullable=False, unique=True),
    Column("type", String(128), nullable=False),
    Column("subject", String(128), nullable=False),
    Column("time", UtcDateTime(), nullable=False),
    Column("envelope", Json, nullable=False),
    Column("published_at", UtcDateTime()),
)
Index("ix_outbox_txid_id", outbox.c.txid, outbox.c.id)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("principal_id", String(128), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("body", Json, nullable=False),
    Column("headers", Json, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)
