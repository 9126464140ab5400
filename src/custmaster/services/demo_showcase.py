"""The first customers of the demo: what a newcomer opens first shows what custmaster is
for. C000001 is a holding, C000002 its subsidiary with legal-entity overrides (its
effective view for DE01 or GB01 differs from the master), C000003 a near-duplicate of
C000002 (``POST /match`` and the review queue after ``custmaster match run``), and once
the demo users exist a credit-limit increase of C000002 waits for approval."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from custmaster.domain.approvals import Operation, Policy
from custmaster.domain.permissions import Principal
from custmaster.services.customer_queries import CustomerQuery
from custmaster.services.customers.create import apply_create
from custmaster.services.customers.update import update_customer
from custmaster.services.ports import UnitOfWork
from custmaster.services.settings import ServiceSettings
from custmaster.services.structure.governed import PLANNERS

_ADDRESS = {
    "type": "billing",
    "lines": ["Hafenstrasse 12"],
    "city": "Hamburg",
    "postal_code": "20457",
    "country": "DE",
    "is_primary": True,
}

HOLDING: dict[str, Any] = {
    "kind": "organization",
    "name": "Northwind Holding AG",
    "email": "info@northwind.example",
    "owning_entity": "DE01",
    "currency": "EUR",
    "payment_terms": "NET30",
    "addresses": [_ADDRESS],
}

SUBSIDIARY: dict[str, Any] = {
    "kind": "organization",
    "name": "Northwind Traders GmbH",
    "email": "ap@northwind.example",
    "phone": "+49 40 1234567",
    "website": "https://northwind.example",
    "owning_entity": "DE01",
    "credit_limit": "50000",
    "currency": "EUR",
    "payment_terms": "NET30",
    "addresses": [_ADDRESS],
    "overrides": {
        "DE01": {"credit_limit": "120000", "payment_terms": "NET60"},
        "GB01": {"credit_limit": "40000", "currency": "GBP"},
    },
}

DUPLICATE: dict[str, Any] = {
    "kind": "organization",
    "name": "Northwind Traders",
    "email": "ap@northwind.example",
    "phone": "+49 40 1234567",
    "owning_entity": "DE01",
    "currency": "EUR",
    "payment_terms": "NET30",
    "addresses": [_ADDRESS],
}


#: how many customers the showcase makes
SHOWCASE_SIZE = 3


def load_showcase(
    new_uow: Callable[[], UnitOfWork], actor: Principal, settings: ServiceSettings
) -> list[UUID]:
    """Create the showcase customers and the hierarchy link (the demo loader's own
    writes, as its generated customers are); returns their ids in order."""
    ids = [
        apply_create(new_uow(), actor, dict(body), settings).customer.id
        for body in (HOLDING, SUBSIDIARY, DUPLICATE)
    ]
    uow = new_uow()
    with uow:
        action = {
            "hierarchy_type": "legal",
            "parent_id": str(ids[0]),
            "child_id": str(ids[1]),
            "valid_from": "2024-01-01",
            "valid_to": None,
        }
        PLANNERS[Operation.HIERARCHY_LINK](uow, action).apply(uow, actor, None)
    return ids


def open_showcase_request(
    new_uow: Callable[[], UnitOfWork], actor: Principal, policy: Policy, settings: ServiceSettings
) -> UUID | None:
    """A change waiting for approval: the subsidiary's credit limit raised under
    ``policy`` (call it once the demo's approvers exist); the request's id, or None
    (no showcase subsidiary, or the policy applied the change at once)."""
    uow = new_uow()
    with uow.read_only():
        found = uow.customers.search(CustomerQuery(text=SUBSIDIARY["name"], limit=1))
    if not found or found[0].name != SUBSIDIARY["name"]:
        return None
    change = {"credit_limit": "500000"}
    outcome = update_customer(new_uow(), actor, policy, found[0].id, change, settings)
    return outcome.request.id if outcome.request is not None else None
