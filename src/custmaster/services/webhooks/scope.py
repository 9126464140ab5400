"""What a subscription receives: the events its filters select, narrowed to what its
owner may read (``services.governance.access``: the same rule as ``GET /events``)."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from custmaster.domain.permissions import Permission, Principal
from custmaster.services.governance.access import may_see_request, visible_data
from custmaster.services.webhooks.ports import Subscription

#: event type prefix -> the permission the owner needs to receive it
_NEEDS: tuple[tuple[str, Permission], ...] = (
    ("custmaster.change_request.", Permission.CHANGEREQUEST_READ),
    ("custmaster.audit.", Permission.AUDIT_READ),
    ("custmaster.webhook.", Permission.CUSTOMER_READ),
    ("custmaster.customer.", Permission.CUSTOMER_READ),
)


def event_entities(envelope: dict[str, Any]) -> set[str]:
    """The legal entities an event concerns: a customer's owning entity and override
    entities, or a change request's entities."""
    data = envelope.get("data")
    if not isinstance(data, dict):
        return set()
    found: set[str] = set()
    for key in ("customer", "survivor", "absorbed"):
        customer = data.get(key)
        if isinstance(customer, dict):
            if isinstance(customer.get("owning_entity"), str):
                found.add(customer["owning_entity"])
            overrides = customer.get("overrides")
            if isinstance(overrides, dict):
                found.update(str(e) for e in overrides)
    entities = data.get("entities")
    if isinstance(entities, list):
        found.update(str(e) for e in entities)
    return found


def matches_type(patterns: list[str], event_type: str) -> bool:
    return any(fnmatchcase(event_type, p) for p in patterns)


def visible_event(
    owner: Principal, subscription: Subscription, envelope: dict[str, Any]
) -> dict[str, Any] | None:
    """The envelope as ``subscription`` receives it, or ``None`` when it does not."""
    event_type = str(envelope.get("type", ""))
    if not matches_type(subscription.event_types, event_type):
        return None
    needed = next((p for prefix, p in _NEEDS if event_type.startswith(prefix)), None)
    if needed is None:
        needed = Permission.CUSTOMER_READ
    if not owner.has(needed):
        return None
    data = envelope.get("data")
    # an event about one subscription: only its owner hears of it
    if event_type.startswith("custmaster.webhook.") and (
        not isinstance(data, dict) or data.get("owner_id") != owner.user_id
    ):
        return None
    entities = event_entities(envelope)
    if event_type.startswith("custmaster.change_request.") and not may_see_request(owner, entities):
        return None
    if subscription.entities is not None and not entities & set(subscription.entities):
        return None
    if owner.entities is None:
        return envelope
    return {**envelope, "data": visible_data(owner, data)}
