"""Fan-out: each active subscription reads the outbox after its own cursor (commit
order) and turns the events it may receive into pending deliveries, in the same
transaction that moves its cursor (so an event is queued once, never lost)."""

from __future__ import annotations

import json
from datetime import datetime
from uuid import UUID, uuid4

from custmaster.domain.permissions import Principal, Role
from custmaster.services.ports import UnitOfWork
from custmaster.services.webhooks.ports import ACTIVE, DISABLED, PENDING, Delivery
from custmaster.services.webhooks.scope import visible_event

#: who records what the delivery machinery does (disabling a subscription)
WEBHOOKS_ACTOR = Principal("webhooks", "webhook delivery", frozenset({Role.ADMIN}))


def body_of(envelope: dict[str, object]) -> str:
    """The exact text sent (and signed)."""
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def fan_out_one(uow: UnitOfWork, subscription_id: UUID, now: datetime, batch: int) -> int:
    """Queue one page of events for one subscription; how many were read."""
    with uow:
        subscription = uow.webhooks.get(subscription_id, for_update=True)
        if subscription is None or subscription.status != ACTIVE:
            return 0
        user = uow.users.get(subscription.owner_id)
        if user is None or not user.active:
            subscription.status = DISABLED
            subscription.disabled_reason = "the owner is no longer an active user"
            subscription.updated_at = now
            uow.webhooks.save(subscription)
            return 0
        page = uow.outbox.read(subscription.cursor, batch)
        if not page:
            return 0
        deliveries: list[Delivery] = []
        for item in page:
            envelope = visible_event(user.principal, subscription, item.envelope)
            if envelope is None:
                continue
            deliveries.append(
                Delivery(
                    id=uuid4(),
                    subscription_id=subscription.id,
                    seq=item.position.id,
                    event_id=str(envelope["id"]),
                    event_type=str(envelope["type"]),
                    body=body_of(envelope),
                    status=PENDING,
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                    updated_at=now,
                )
            )
        uow.webhooks.add_deliveries(deliveries)
        subscription.cursor = page[-1].position
        uow.webhooks.save(subscription)
        return len(page)


def fan_out(uow: UnitOfWork, now: datetime, *, batch: int = 500, max_pages: int = 20) -> int:
    """Queue what every active subscription should receive; how many events were read."""
    with uow.read_only():
        ids = uow.webhooks.active_ids()
    total = 0
    for subscription_id in ids:
        for _ in range(max_pages):
            read = fan_out_one(uow, subscription_id, now, batch)
            total += read
            if read < batch:
                break
    return total
