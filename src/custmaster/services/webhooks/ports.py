"""The webhook records and the repository the persistence layer implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from uuid import UUID

from custmaster.services.feed_position import FeedPosition

ACTIVE = "active"
DISABLED = "disabled"
PENDING = "pending"
SUCCEEDED = "succeeded"
FAILED = "failed"


@dataclass(frozen=True, slots=True)
class SigningSecret:
    """``whsec_`` + base64 key; ``expires_at`` set on a secret a rotation replaced."""

    secret: str
    created_at: datetime
    expires_at: datetime | None = None


@dataclass
class Subscription:
    id: UUID
    owner_id: str
    url: str
    description: str
    event_types: list[str]
    entities: list[str] | None
    secrets: list[SigningSecret]
    status: str
    created_at: datetime
    updated_at: datetime
    cursor: FeedPosition = field(default_factory=FeedPosition)
    disabled_reason: str | None = None
    failing_since: datetime | None = None

    def secrets_at(self, now: datetime) -> list[SigningSecret]:
        """The secrets that sign a message sent at ``now`` (newest first)."""
        live = [s for s in self.secrets if s.expires_at is None or s.expires_at > now]
        return sorted(live, key=lambda s: s.created_at, reverse=True)


@dataclass
class Delivery:
    id: UUID
    subscription_id: UUID
    seq: int
    event_id: str
    event_type: str
    body: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    updated_at: datetime
    last_status_code: int | None = None
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int
    next_attempt_at: datetime | None


class WebhookRepository(Protocol):
    def add(self, subscription: Subscription) -> None: ...
    def save(self, subscription: Subscription) -> None: ...
    def get(self, subscription_id: UUID, *, for_update: bool = False) -> Subscription | None: ...
    def delete(self, subscription_id: UUID) -> None: ...
    def owned_by(
        self, owner_id: str | None, *, after: UUID | None, limit: int
    ) -> list[Subscription]: ...
    def active_ids(self) -> list[UUID]: ...
    def add_deliveries(self, deliveries: list[Delivery]) -> None: ...
    def delivery(self, delivery_id: UUID, *, for_update: bool = False) -> Delivery | None: ...
    def deliveries(
        self, subscription_id: UUID, *, status: str | None, before: int | None, limit: int
    ) -> list[Delivery]: ...
    def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> list[Delivery]:
        """Pending deliveries of active subscriptions due at ``now``, oldest first, moved
        to ``lease_until`` so no other worker takes them meanwhile."""
        ...

    def save_delivery(self, delivery: Delivery) -> None: ...
    def release_pending(self, subscription_id: UUID, now: datetime) -> int:
        """Make every pending delivery of a subscription due at ``now``; how many."""
        ...

    def add_attempt(self, delivery_id: UUID, attempt: Attempt) -> None: ...
    def attempts(self, delivery_id: UUID) -> list[Attempt]: ...
