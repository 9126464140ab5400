"""What the customer use cases answer: the stored customer (``CustomerResult``), or,
under the approval policy, either that or the change request it waits in (``Outcome``)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from custmaster.domain.approvals import ChangeRequest
from custmaster.domain.errors import ChangeWarning
from custmaster.domain.model import Customer
from custmaster.domain.permissions import Principal
from custmaster.services.governance.access import visible_customer, visible_snapshot


@dataclass(frozen=True, slots=True)
class CustomerResult:
    customer: Customer
    warnings: list[ChangeWarning] = field(default_factory=list)
    #: ``snapshot(customer)`` when the use case made it anyway (the answer reuses it)
    snapshot: dict[str, Any] | None = None


@dataclass
class Outcome:
    """Either the change applied (``result``; ``None`` for a hard delete) or it waits
    for approval in ``request``."""

    applied: bool
    result: CustomerResult | None = None
    request: ChangeRequest | None = None
    warnings: list[ChangeWarning] = field(default_factory=list)


def applied(actor: Principal, result: CustomerResult | None) -> Outcome:
    """The change applied at once, showing ``actor`` only the overrides it may see."""
    if result is not None and actor.entities is not None:
        made = result.snapshot
        result = replace(
            result,
            customer=visible_customer(actor, result.customer),
            snapshot=None if made is None else visible_snapshot(actor, made),
        )
    return Outcome(True, result)


def pending(request: ChangeRequest) -> Outcome:
    """The change waits for approval in ``request`` (its warnings are the request's)."""
    warnings = [ChangeWarning(w.get("field"), w["code"], w["message"]) for w in request.warnings]
    return Outcome(False, request=request, warnings=warnings)
