"""Keep the online match index current, in the same transaction as every change.

Every service that writes a customer calls :func:`refresh_match_keys` (or
:func:`refresh_match_keys_many` for batches) after the repository write, and
:func:`remove_match_keys` after a hard delete. Inactive customers are not match
targets: deactivation removes them from the index, reactivation puts them back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from uuid import UUID

from custmaster.domain.model import Customer
from custmaster.services.dedup.records import index_entry
from custmaster.services.ports import UnitOfWork


def refresh_match_keys(uow: UnitOfWork, customer: Customer) -> None:
    """Rewrite the match keys of one customer (removes them when it is inactive)."""
    refresh_match_keys_many(uow, [customer])


def refresh_match_keys_many(uow: UnitOfWork, customers: Iterable[Customer]) -> None:
    """Rewrite the match keys of many customers with a few statements (bulk import)."""
    batch = list(customers)
    entries = [e for e in (index_entry(c) for c in batch) if e is not None]
    indexed = {e.customer_id for e in entries}
    gone = [c.id for c in batch if c.id not in indexed]
    if gone:
        uow.matching.remove_entries(gone)
    uow.matching.replace_entries(entries)


def remove_match_keys(uow: UnitOfWork, customer_ids: Sequence[UUID]) -> None:
    """Drop customers from the index (hard delete, absorbed by a merge)."""
    uow.matching.remove_entries(customer_ids)
