"""Rebuild the match index of every active customer."""

from __future__ import annotations

from collections.abc import Callable

from custmaster.domain.permissions import Permission, Principal, require
from custmaster.services.dedup.index import refresh_match_keys_many
from custmaster.services.ports import UnitOfWork


def reindex(
    new_uow: Callable[[], UnitOfWork],
    actor: Principal,
    *,
    batch_size: int = 5000,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Rewrite the index in one transaction per ``batch_size`` customers; returns the
    number of customers indexed."""
    require(actor, Permission.MERGE_PROPOSE)
    reader = new_uow()
    with reader.read_only():
        total = reader.matching.count_customers()
        done = 0
        for batch in reader.matching.iter_customers(batch_size):
            writer = new_uow()
            with writer:
                refresh_match_keys_many(writer, batch)
            done += len(batch)
            if progress:
                progress(done, total)
    return done
