"""Per-account settings (operating hours with exceptions, visit settings) and the
participation of a contact in a quote or order (the sellable flag)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from custmaster.domain.approvals import Operation, Policy, require_submit
from custmaster.domain.contacts import ContactState, mark_participation
from custmaster.domain.errors import ChangeWarning, NotFound
from custmaster.domain.model import Contact
from custmaster.domain.operating_hours import OperatingHours
from custmaster.domain.permissions import Permission, Principal, require
from custmaster.domain.visits import VisitSettings, closed_preferred_days
from custmaster.services.customers.common import load
from custmaster.services.customers.outcome import Outcome
from custmaster.services.customers.update import update_customer
from custmaster.services.ports import UnitOfWork
from custmaster.services.recording import utcnow
from custmaster.services.settings import ServiceSettings
from custmaster.services.structure.common import record, require_customer

_RESOURCE = {"operating_hours": "operating_hours", "visit_settings": "visit_settings"}


@dataclass(frozen=True, slots=True)
class SettingResult:
    value: dict[str, Any]
    warnings: list[ChangeWarning] = field(default_factory=list)


def _parse(kind: str, data: Mapping[str, Any]) -> dict[str, Any]:
    if kind == "operating_hours":
        return OperatingHours.from_dict(data).to_dict()
    return VisitSettings.from_dict(data).to_dict()


def _warnings(
    uow: UnitOfWork, customer_id: UUID, kind: str, value: dict[str, Any]
) -> list[ChangeWarning]:
    """Preferred visit days on which the account is closed (a remark, never an error)."""
    other = "visit_settings" if kind == "operating_hours" else "operating_hours"
    both = {kind: value, other: uow.structure.account_setting(other, customer_id)}
    hours, visits = both["operating_hours"], both["visit_settings"]
    if hours is None or visits is None:
        return []
    closed = closed_preferred_days(VisitSettings.from_dict(visits), OperatingHours.from_dict(hours))
    return [
        ChangeWarning(
            "visit_settings.preferred_days",
            "closed_on_preferred_day",
            f"the account has no opening hours on {day}",
        )
        for day in closed
    ]


def get_setting(uow: UnitOfWork, actor: Principal, kind: str, customer_id: UUID) -> dict[str, Any]:
    require(actor, Permission.CUSTOMER_READ)
    with uow.read_only():
        require_customer(uow, customer_id)
        value = uow.structure.account_setting(kind, customer_id)
        if value is None:
            raise NotFound(f"customer {customer_id} has no {kind.replace('_', ' ')}")
        return value


def put_setting(
    uow: UnitOfWork, actor: Principal, kind: str, customer_id: UUID, data: Mapping[str, Any]
) -> SettingResult:
    """Replace the customer's operating hours or visit settings (validated)."""
    require(actor, Permission.CUSTOMER_UPDATE)
    value = _parse(kind, data)
    with uow:
        require_customer(uow, customer_id)
        before = uow.structure.account_setting(kind, customer_id)
        uow.structure.put_account_setting(kind, customer_id, value, utcnow())
        if before != value:
            record(
                uow,
                actor,
                resource_type=_RESOURCE[kind],
                resource_id=str(customer_id),
                operation="update",
                before=before,
                after=value,
            )
        return SettingResult(value, _warnings(uow, customer_id, kind, value))


def delete_setting(uow: UnitOfWork, actor: Principal, kind: str, customer_id: UUID) -> None:
    require(actor, Permission.CUSTOMER_UPDATE)
    with uow:
        require_customer(uow, customer_id)
        before = uow.structure.account_setting(kind, customer_id)
        if before is None:
            raise NotFound(f"customer {customer_id} has no {kind.replace('_', ' ')}")
        uow.structure.delete_account_setting(kind, customer_id)
        record(
            uow,
            actor,
            resource_type=_RESOURCE[kind],
            resource_id=str(customer_id),
            operation="delete",
            before=before,
            after=None,
        )


@dataclass(frozen=True, slots=True)
class Participation:
    """``outcome`` None: nothing to change (not a quote or order, or sellable already)."""

    contact: Contact
    version: int
    outcome: Outcome | None = None


def record_participation(
    uow: UnitOfWork,
    actor: Principal,
    customer_id: UUID,
    contact_id: UUID,
    kind: str,
    policy: Policy,
    settings: ServiceSettings,
) -> Participation:
    """The contact took part in an event of ``kind``; a quote or an order makes it sellable
    for good: an update of the customer submitted under the approval policy (contacts-only
    changes are green in the default policy), audited and evented like any other; so it
    needs what submitting an update needs, even when the contact is sellable already."""
    require_submit(actor, Operation.UPDATE)
    with uow:
        customer = load(uow, customer_id)
        contact = next((c for c in customer.contacts if c.id == contact_id), None)
        if contact is None:
            raise NotFound(f"customer {customer_id} has no contact {contact_id}")
        state = ContactState(sellable=contact.sellable)
        if mark_participation(state, kind, utcnow()) is state:
            return Participation(contact, customer.version)
        patch = {"contacts": [{"action": "update", "id": str(contact_id), "sellable": True}]}
        outcome = update_customer(uow, actor, policy, customer_id, patch, settings)
        if outcome.result is not None:
            updated = next(c for c in outcome.result.customer.contacts if c.id == contact_id)
            return Participation(updated, outcome.result.customer.version, outcome)
        return Participation(contact, customer.version, outcome)
