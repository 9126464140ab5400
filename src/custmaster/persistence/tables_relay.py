"""The outbox relay's state (migration 0018_relay): one row per relay name (the stream it
feeds) and partition, holding the partition's lease and its cursor in the outbox."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Integer, String, Table, Uuid

from custmaster.persistence.tables import metadata
from custmaster.persistence.types import UtcDateTime

relay_partitions = Table(
    "relay_partitions",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("partition", Integer, primary_key=True, autoincrement=False),
    #: who holds the lease (host:pid:random) and until when; None: nobody
    Column("holder", String(128)),
    Column("lease_until", UtcDateTime()),
    #: the outbox position (txid, id) of the last event acknowledged by the broker
    Column("cursor_txid", BigInteger, nullable=False, default=0),
    Column("cursor_id", BigInteger, nullable=False, default=0),
    Column("published_total", BigInteger, nullable=False, default=0),
    Column("last_event_id", Uuid),
    Column("last_published_at", UtcDateTime()),
    #: events per second over the holder's recent batches (a moving average)
    Column("rate", Float, nullable=False, default=0.0),
)
