"""The pull change feed over the outbox."""

from __future__ import annotations

from custmaster.domain.permissions import Permission, Principal, require
from custmaster.services.ports import FeedItem, FeedPosition, UnitOfWork


def read_feed(uow: UnitOfWork, actor: Principal, after: FeedPosition, limit: int) -> list[FeedItem]:
    require(actor, Permission.CUSTOMER_READ)
    with uow.read_only():
        return uow.outbox.read(after, limit)
