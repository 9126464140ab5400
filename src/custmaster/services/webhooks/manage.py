"""Webhook subscriptions: create (the secret shown once), read, change, rotate the
secret, delete; the delivery log and manual redelivery. A subscription belongs to the
principal that made it and receives only what that principal may read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from custmaster.domain.errors import FieldError, NotFound, ValidationFailed
from custmaster.domain.permissions import Permission, Principal
from custmaster.services.governance.access import require_entity, require_permission
from custmaster.services.ports import FeedPosition, UnitOfWork
from custmaster.services.recording import utcnow
from custmaster.services.webhooks.ports import (
    ACTIVE,
    DISABLED,
    FAILED,
    PENDING,
    Attempt,
    Delivery,
    SigningSecret,
    Subscription,
)
from custmaster.services.webhooks.signing import new_secret
from custmaster.services.webhooks.targets import TargetRefused, check_target

MAX_FILTERS = 50
#: how long the replaced secret keeps signing after a rotation, by default
DEFAULT_OVERLAP = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class SubscriptionSpec:
    url: str
    description: str = ""
    event_types: tuple[str, ...] = ("*",)
    entities: tuple[str, ...] | None = None


def _check_spec(actor: Principal, spec: SubscriptionSpec, allow_private: bool) -> None:
    errors: list[FieldError] = []
    try:
        check_target(spec.url, allow_private=allow_private)
    except TargetRefused as exc:
        errors.append(FieldError("url", "target_refused", str(exc)))
    if not spec.event_types or len(spec.event_types) > MAX_FILTERS:
        errors.append(FieldError("event_types", "length", f"1 to {MAX_FILTERS} patterns"))
    if spec.entities is not None and not 0 < len(spec.entities) <= MAX_FILTERS:
        errors.append(FieldError("entities", "length", f"1 to {MAX_FILTERS} legal entities"))
    if errors:
        raise ValidationFailed(errors)
    for entity in spec.entities or ():
        require_entity(actor, entity)


def _owned(
    uow: UnitOfWork, actor: Principal, subscription_id: UUID, *, for_update: bool = False
) -> Subscription:
    found = uow.webhooks.get(subscription_id, for_update=for_update)
    if found is None or found.owner_id != actor.user_id:
        raise NotFound(f"no webhook {subscription_id}")
    return found


def create_subscription(
    uow: UnitOfWork, actor: Principal, spec: SubscriptionSpec, *, allow_private: bool
) -> tuple[Subscription, str]:
    """The new subscription and its secret (shown this once). It receives the events
    committed from now on."""
    require_permission(actor, Permission.CUSTOMER_READ)
    _check_spec(actor, spec, allow_private)
    now = utcnow()
    secret = new_secret()
    with uow:
        head = _head(uow)
        subscription = Subscription(
            id=uuid4(),
            owner_id=actor.user_id,
            url=spec.url,
            description=spec.description,
            event_types=list(spec.event_types),
            entities=None if spec.entities is None else list(spec.entities),
            secrets=[SigningSecret(secret, now)],
            status=ACTIVE,
            created_at=now,
            updated_at=now,
            cursor=head,
        )
        uow.webhooks.add(subscription)
    return subscription, secret


def _head(uow: UnitOfWork) -> FeedPosition:
    """The position of the newest event in the outbox (reads pages to the end)."""
    position = FeedPosition()
    while True:
        page = uow.outbox.read(position, 1000)
        if not page:
            return position
        position = page[-1].position


def list_subscriptions(
    uow: UnitOfWork, actor: Principal, *, after: UUID | None, limit: int
) -> list[Subscription]:
    require_permission(actor, Permission.CUSTOMER_READ)
    with uow.read_only():
        return uow.webhooks.owned_by(actor.user_id, after=after, limit=limit)


def get_subscription(uow: UnitOfWork, actor: Principal, subscription_id: UUID) -> Subscription:
    require_permission(actor, Permission.CUSTOMER_READ)
    with uow.read_only():
        return _owned(uow, actor, subscription_id)


def change_subscription(
    uow: UnitOfWork,
    actor: Principal,
    subscription_id: UUID,
    changes: Mapping[str, Any],
    *,
    allow_private: bool,
) -> Subscription:
    """Change the URL, description, filters, or ``enabled`` (re-enabling makes the
    deliveries that waited due at once)."""
    require_permission(actor, Permission.CUSTOMER_READ)
    now = utcnow()
    with uow:
        current = _owned(uow, actor, subscription_id, for_update=True)
        entities = changes.get("entities", current.entities)
        spec = SubscriptionSpec(
            url=changes.get("url", current.url),
            description=changes.get("description", current.description),
            event_types=tuple(changes.get("event_types", current.event_types)),
            entities=None if entities is None else tuple(entities),
        )
        _check_spec(actor, spec, allow_private)
        updated = replace(
            current,
            url=spec.url,
            description=spec.description,
            event_types=list(spec.event_types),
            entities=None if spec.entities is None else list(spec.entities),
            updated_at=now,
        )
        enabled = changes.get("enabled")
        if enabled is True and current.status == DISABLED:
            updated.status, updated.disabled_reason, updated.failing_since = ACTIVE, None, None
            uow.webhooks.release_pending(current.id, now)
        elif enabled is False and current.status == ACTIVE:
            updated.status, updated.disabled_reason = DISABLED, f"disabled by {actor.user_id}"
        uow.webhooks.save(updated)
        return updated


def rotate_secret(
    uow: UnitOfWork,
    actor: Principal,
    subscription_id: UUID,
    *,
    overlap: timedelta = DEFAULT_OVERLAP,
) -> tuple[Subscription, str]:
    """A new secret (shown this once); the current ones keep signing for ``overlap``
    (messages carry one signature per live secret), then expire."""
    require_permission(actor, Permission.CUSTOMER_READ)
    now = utcnow()
    secret = new_secret()
    with uow:
        current = _owned(uow, actor, subscription_id, for_update=True)
        ending = now + overlap
        kept = [
            replace(s, expires_at=min(s.expires_at or ending, ending))
            for s in current.secrets_at(now)
            if overlap > timedelta(0)
        ]
        updated = replace(current, secrets=[SigningSecret(secret, now), *kept], updated_at=now)
        uow.webhooks.save(updated)
        return updated, secret


def delete_subscription(uow: UnitOfWork, actor: Principal, subscription_id: UUID) -> None:
    require_permission(actor, Permission.CUSTOMER_READ)
    with uow:
        _owned(uow, actor, subscription_id, for_update=True)
        uow.webhooks.delete(subscription_id)


def list_deliveries(
    uow: UnitOfWork,
    actor: Principal,
    subscription_id: UUID,
    *,
    status: str | None,
    before: int | None,
    limit: int,
) -> list[Delivery]:
    require_permission(actor, Permission.CUSTOMER_READ)
    with uow.read_only():
        _owned(uow, actor, subscription_id)
        return uow.webhooks.deliveries(subscription_id, status=status, before=before, limit=limit)


def _owned_delivery(
    uow: UnitOfWork,
    actor: Principal,
    subscription_id: UUID,
    delivery_id: UUID,
    *,
    for_update: bool = False,
) -> Delivery:
    _owned(uow, actor, subscription_id)
    found = uow.webhooks.delivery(delivery_id, for_update=for_update)
    if found is None or found.subscription_id != subscription_id:
        raise NotFound(f"no delivery {delivery_id} of webhook {subscription_id}")
    return found


def get_delivery(
    uow: UnitOfWork, actor: Principal, subscription_id: UUID, delivery_id: UUID
) -> tuple[Delivery, list[Attempt]]:
    require_permission(actor, Permission.CUSTOMER_READ)
    with uow.read_only():
        found = _owned_delivery(uow, actor, subscription_id, delivery_id)
        return found, uow.webhooks.attempts(delivery_id)


def redeliver(
    uow: UnitOfWork,
    actor: Principal,
    subscription_id: UUID,
    delivery_id: UUID,
    now: datetime | None = None,
) -> Delivery:
    """Send a delivery again (same ``webhook-id``: receivers deduplicate on it), now,
    with a fresh schedule."""
    require_permission(actor, Permission.CUSTOMER_READ)
    at = now or utcnow()
    with uow:
        found = _owned_delivery(uow, actor, subscription_id, delivery_id, for_update=True)
        found.status, found.next_attempt_at, found.updated_at = PENDING, at, at
        found.attempts = 0
        uow.webhooks.save_delivery(found)
        return found


__all__ = ["FAILED", "SubscriptionSpec"]
