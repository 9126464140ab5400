"""Activity intake (migration 0016): the stored events (and so the processed-event ids),
order lines, the mergeable aggregates per customer the profile is computed from, and the
dead-letter list. The aggregates mirror ``domain.activity_state.ActivityState``: amounts
and quantities are integer units (``domain.activity.AMOUNT_SCALE``)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
    Uuid,
)

from custmaster.persistence.tables import metadata
from custmaster.persistence.types import Json, UtcDateTime

_STAMP_TIME = 40
_ID = 128

#: every event applied, by its CloudEvents id: recorded in the transaction that applied it
activity_events = Table(
    "activity_events",
    metadata,
    Column("event_id", String(_ID), primary_key=True),
    Column("kind", String(64), nullable=False),
    Column("source", String(255), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("legal_entity", String(64), nullable=False),
    Column("occurred_on", Date, nullable=False),
    Column("event_time", UtcDateTime(), nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("envelope", Json, nullable=False),
)
Index("ix_activity_events_customer", activity_events.c.customer_id)

#: the lines of orders and of their corrections (signed), read by the affinity job
activity_order_lines = Table(
    "activity_order_lines",
    metadata,
    Column("event_id", String(_ID), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("customer_id", Uuid, nullable=False),
    Column("legal_entity", String(64), nullable=False),
    Column("order_id", String(_ID), nullable=False),
    Column("product", String(_ID), nullable=False),
    Column("product_group", String(_ID), nullable=False),
    Column("quantity", Float(precision=53), nullable=False),
    Column("amount", Float(precision=53), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("order_date", Date, nullable=False),
)
Index("ix_activity_order_lines_customer", activity_order_lines.c.customer_id)
Index("ix_activity_order_lines_product", activity_order_lines.c.product)


def _customer_key() -> list[Column[object]]:
    return [
        Column("customer_id", Uuid, primary_key=True),
        Column("legal_entity", String(64), primary_key=True),
    ]


activity_sales = Table(
    "activity_sales",
    metadata,
    *_customer_key(),
    Column("month", Date, primary_key=True),
    Column("product_group", String(_ID), primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("amount", BigInteger, nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("return_amount", BigInteger, nullable=False),
    Column("return_quantity", BigInteger, nullable=False),
)
activity_counts = Table(
    "activity_counts",
    metadata,
    *_customer_key(),
    Column("month", Date, primary_key=True),
    Column("orders", BigInteger, nullable=False),
    Column("returns", BigInteger, nullable=False),
    Column("last_order", Date),
)
activity_documents = Table(
    "activity_documents",
    metadata,
    *_customer_key(),
    Column("document_id", String(_ID), primary_key=True),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("kind", String(64)),
    Column("document_date", Date),
    Column("due_date", Date),
)
activity_payments = Table(
    "activity_payments",
    metadata,
    *_customer_key(),
    Column("payment_id", String(_ID), primary_key=True),
    Column("document_id", String(_ID), primary_key=True),
    Column("amount", BigInteger, nullable=False),
    Column("paid_on", Date),
)
activity_cases = Table(
    "activity_cases",
    metadata,
    *_customer_key(),
    Column("case_id", String(_ID), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("first_on", Date),
    Column("opened_on", Date),
    Column("status_time", String(_STAMP_TIME), nullable=False),
    Column("status_event", String(_ID), nullable=False),
    Column("status", String(16)),
    Column("closed_on", Date),
    Column("detail_time", String(_STAMP_TIME), nullable=False),
    Column("detail_event", String(_ID), nullable=False),
    Column("severity", String(16)),
    Column("subject", String(255)),
)
activity_contracts = Table(
    "activity_contracts",
    metadata,
    *_customer_key(),
    Column("contract_id", String(_ID), primary_key=True),
    Column("stamp_time", String(_STAMP_TIME), nullable=False),
    Column("stamp_event", String(_ID), nullable=False),
    Column("start_date", Date),
    Column("end_date", Date),
    Column("renewal_date", Date),
    Column("committed_volume", String(40)),
    Column("sla", String(64)),
)
activity_touches = Table(
    "activity_touches",
    metadata,
    *_customer_key(),
    Column("day", Date, primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("count", BigInteger, nullable=False),
)

#: events that could not be applied: unknown customer, invalid, or failing too often
activity_dead_letters = Table(
    "activity_dead_letters",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("event_id", String(_ID)),
    Column("legal_entity", String(64)),
    Column("channel", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("envelope", Json, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("replayed_at", UtcDateTime()),
)
Index("ix_activity_dead_letters_created", activity_dead_letters.c.created_at)

#: the aggregate tables (rebuild replaces them)
AGGREGATE_TABLES = (
    activity_sales,
    activity_counts,
    activity_documents,
    activity_payments,
    activity_cases,
    activity_contracts,
    activity_touches,
)
ACTIVITY_TABLES = (activity_events, activity_order_lines, *AGGREGATE_TABLES, activity_dead_letters)
