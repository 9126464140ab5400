"""The integration hub's tables (migration 0019_hub).

- ``webhook_subscriptions``: an endpoint, its filters, its signing secrets (the current
  one and, during a rotation, the previous ones until they expire), its owner (whose read
  scope bounds what it receives), its cursor in the outbox and its failure state.
- ``webhook_deliveries``: one event for one subscription, as it will be sent (the
  envelope already narrowed to the owner's scope), with its retry state.
- ``webhook_attempts``: every HTTP attempt of a delivery (the delivery log).
- ``sync_targets``: per outbound sync target, its cursor in the outbox and whether it is
  paused.
- ``sync_links``: per target and customer, the target's external id and the values the
  target is known to hold (what custmaster last sent or last received from it): the
  sync skips a change that would send them again, and an inbound change that only
  repeats them is recognised as an echo.
- ``sync_dead_letters``: changes a target refused or never acknowledged.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    Uuid,
)

from custmaster.persistence.tables import metadata
from custmaster.persistence.types import BigId, Json, UtcDateTime

webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("owner_id", String(128), nullable=False, index=True),
    Column("url", String(2048), nullable=False),
    Column("description", String(255), nullable=False),
    Column("event_types", Json, nullable=False),
    Column("entities", Json),
    #: [{"secret": "whsec_...", "created_at": ..., "expires_at": ... | None}]
    Column("secrets", Json, nullable=False),
    #: active | disabled
    Column("status", String(16), nullable=False),
    Column("disabled_reason", String(255)),
    Column("cursor_txid", BigInteger, nullable=False),
    Column("cursor_id", BigInteger, nullable=False),
    Column("failing_since", UtcDateTime()),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column(
        "subscription_id",
        Uuid,
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("seq", BigId, nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("event_type", String(128), nullable=False),
    Column("body", Text, nullable=False),
    #: pending | succeeded | failed
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime()),
    Column("last_status_code", Integer),
    Column("last_error", String(512)),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)
Index(
    "ix_webhook_deliveries_due", webhook_deliveries.c.status, webhook_deliveries.c.next_attempt_at
)
Index("ix_webhook_deliveries_sub", webhook_deliveries.c.subscription_id, webhook_deliveries.c.seq)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column(
        "delivery_id",
        Uuid,
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("attempted_at", UtcDateTime(), nullable=False),
    Column("status_code", Integer),
    Column("error", String(512)),
    Column("duration_ms", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime()),
)

sync_targets = Table(
    "sync_targets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("cursor_txid", BigInteger, nullable=False),
    Column("cursor_id", BigInteger, nullable=False),
    Column("paused", Boolean, nullable=False),
    Column("sent", BigInteger, nullable=False),
    Column("last_run_at", UtcDateTime()),
    Column("updated_at", UtcDateTime(), nullable=False),
)

sync_links = Table(
    "sync_links",
    metadata,
    Column("target", String(64), primary_key=True),
    Column("customer_id", Uuid, primary_key=True),
    Column("external_id", String(255), nullable=False),
    Column("known_values", Json, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

sync_dead_letters = Table(
    "sync_dead_letters",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("target", String(64), nullable=False, index=True),
    Column("customer_id", Uuid, nullable=False),
    Column("event_id", String(64)),
    Column("payload", Json, nullable=False),
    Column("error", String(512), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("resolved_at", UtcDateTime()),
)
