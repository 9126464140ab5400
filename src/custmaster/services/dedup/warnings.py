""" "Possible duplicate" warnings on create (and on a name change) from the online matcher."""

from __future__ import annotations

from uuid import UUID

from custmaster.domain.errors import ChangeWarning
from custmaster.domain.model import Customer
from custmaster.matching.record import prepare
from custmaster.services.dedup.online import current_model, match_features
from custmaster.services.dedup.records import match_record
from custmaster.services.ports import UnitOfWork

MAX_WARNINGS = 3


def possible_duplicates(uow: UnitOfWork, customer: Customer) -> dict[UUID, ChangeWarning]:
    """Existing customers the model scores at or above its review threshold, as
    ``similar_customer`` warnings (the code the exact-name check used before)."""
    model = current_model(uow)
    found = match_features(
        uow,
        prepare(match_record(customer)),
        model=model,
        limit=MAX_WARNINGS,
        min_probability=model.thresholds.review,
        exclude={customer.id},
    )
    return {
        c.customer_id: ChangeWarning(
            None,
            "similar_customer",
            f"possible duplicate: {c.number} '{c.name}' (match probability "
            f"{c.result.probability:.3f}; see POST /api/v1/match)",
        )
        for c in found
    }
