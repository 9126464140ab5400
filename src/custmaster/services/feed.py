"""The pull change feed over the outbox."""

from __future__ import annotations

from dataclasses import replace

from custmaster.domain.permissions import Permission, Principal
from custmaster.services.governance.access import require_permission, visible_data
from custmaster.services.ports import FeedItem, FeedPosition, UnitOfWork


def read_feed(uow: UnitOfWork, actor: Principal, after: FeedPosition, limit: int) -> list[FeedItem]:
    """Events after ``after``; their data shows ``actor`` only the overrides it may see."""
    require_permission(actor, Permission.CUSTOMER_READ)
    with uow.read_only():
        items = uow.outbox.read(after, limit)
    if actor.entities is None:
        return items
    return [
        replace(i, envelope={**i.envelope, "data": visible_data(actor, i.envelope.get("data"))})
        for i in items
    ]
