"""What the relay needs from the database (``persistence.relay`` implements it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from custmaster.services.feed_position import FeedPosition


@dataclass(frozen=True, slots=True)
class PartitionState:
    """One partition of a relay: its lease, its cursor and its progress."""

    name: str
    partition: int
    holder: str | None
    lease_until: datetime | None
    cursor: FeedPosition
    published_total: int
    last_event_id: UUID | None
    last_published_at: datetime | None
    rate: float


@dataclass(frozen=True, slots=True)
class Backlog:
    """Outbox events after a cursor: how many (counted up to a cap) and the oldest's time."""

    count: int
    capped: bool
    oldest: datetime | None


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    """An outbox event as the relay publishes it: its routing columns and the stored
    envelope's JSON text, never parsed."""

    position: FeedPosition
    event_id: UUID
    type: str
    subject: str
    body: bytes


class RelayStore(Protocol):
    def pending(self, after: FeedPosition, limit: int) -> list[OutboxEvent]:
        """Outbox events after ``after`` in commit order, exactly as ``Outbox.read``
        serves them (never skipping one that commits later)."""
        ...

    def ensure(self, name: str, partitions: int) -> None:
        """The rows of partitions ``0 .. partitions-1`` of ``name`` exist."""
        ...

    def claim(
        self, name: str, partition: int, holder: str, now: datetime, until: datetime
    ) -> PartitionState | None:
        """Take or renew the partition's lease until ``until`` when it is free, expired or
        ``holder``'s already; None when another holder's lease runs."""
        ...

    def advance(
        self,
        name: str,
        partition: int,
        holder: str,
        cursor: FeedPosition,
        published: int,
        last_event_id: UUID | None,
        at: datetime,
        rate: float,
    ) -> bool:
        """Move the cursor (the broker acknowledged everything up to it); False when
        ``holder`` no longer holds the partition (nothing changed)."""
        ...

    def release(self, name: str, partition: int, holder: str) -> None: ...
    def states(self, name: str) -> list[PartitionState]: ...
    def names(self) -> list[str]: ...
    def backlog(self, after: FeedPosition, cap: int) -> Backlog: ...
