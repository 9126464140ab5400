"""Absorbed customer ids point at their survivor; chains of merges are followed."""

from __future__ import annotations

from uuid import UUID

from custmaster.services.dedup.errors import CustomerMerged
from custmaster.services.ports import UnitOfWork

#: Longest chain of merges followed (a guard; chains are short in practice).
MAX_HOPS = 64


def resolve(uow: UnitOfWork, customer_id: UUID) -> tuple[UUID, list[UUID]]:
    """The id a customer id stands for now, and the merges followed to get there."""
    current, followed = customer_id, []
    for _ in range(MAX_HOPS):
        redirect = uow.matching.redirect(current)
        if redirect is None:
            break
        current = redirect.survivor_id
        followed.append(redirect.merge_id)
    return current, followed


def raise_if_merged(uow: UnitOfWork, customer_id: UUID) -> None:
    """Raise :class:`CustomerMerged` when ``customer_id`` was absorbed by a merge."""
    survivor, followed = resolve(uow, customer_id)
    if followed:
        raise CustomerMerged(customer_id, survivor, followed)
