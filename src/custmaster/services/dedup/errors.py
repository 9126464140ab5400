"""Errors of the matching services."""

from __future__ import annotations

from uuid import UUID

from custmaster.domain.errors import NotFound


class CustomerMerged(NotFound):
    """The customer was absorbed by a merge: it answers with a pointer to the survivor
    (410 Gone with ``survivor_id`` and a ``Location`` header in the API)."""

    title = "Customer merged"

    def __init__(self, customer_id: UUID, survivor_id: UUID, merge_ids: list[UUID]) -> None:
        super().__init__(
            f"customer {customer_id} was merged into customer {survivor_id}"
            + (f" (through {len(merge_ids)} merges)" if len(merge_ids) > 1 else "")
        )
        self.customer_id = customer_id
        self.survivor_id = survivor_id
        self.merge_ids = merge_ids
