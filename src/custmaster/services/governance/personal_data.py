"""Personal data: export everything held about a customer or contact; erase a person's
data by anonymisation (through the approval policy's erase lane)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from custmaster.domain.approvals import Operation, Policy
from custmaster.domain.permissions import Permission, Principal, require
from custmaster.domain.personal_data import contact_erasure_patch, customer_erasure_patch
from custmaster.domain.snapshot import jsonable, snapshot
from custmaster.services.customers.common import load
from custmaster.services.customers.outcome import Outcome
from custmaster.services.customers.update import update_customer
from custmaster.services.governance.access import visible_snapshot
from custmaster.services.ports import AuditEntry, UnitOfWork
from custmaster.services.settings import ServiceSettings
from custmaster.services.sources.erasure import scrub_sources

_PAGE = 1000


def _history(uow: UnitOfWork, customer_id: UUID) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    after: int | None = None
    while True:
        page = uow.audit.for_resource("customer", str(customer_id), after_id=after, limit=_PAGE)
        entries.extend(page)
        if len(page) < _PAGE:
            return entries
        after = page[-1].id


def _entry(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "occurred_at": jsonable(entry.occurred_at),
        "actor_id": entry.actor_id,
        "operation": entry.operation,
        "change_request_id": jsonable(entry.change_request_id),
        "changes": entry.changes,
    }


def export_customer(uow: UnitOfWork, actor: Principal, customer_id: UUID) -> dict[str, Any]:
    """The customer with every child record and override, and its whole audit history
    (of the overrides, those of the entities ``actor`` may see)."""
    require(actor, Permission.PERSONAL_DATA_EXPORT)
    with uow.read_only():
        customer = load(uow, customer_id)
        data = {
            "customer": snapshot(customer),
            "history": [_entry(e) for e in _history(uow, customer_id)],
        }
        return visible_snapshot(actor, data)


def export_contact(
    uow: UnitOfWork, actor: Principal, customer_id: UUID, contact_id: UUID
) -> dict[str, Any]:
    """One contact and the audit entries that concern it."""
    require(actor, Permission.PERSONAL_DATA_EXPORT)
    with uow.read_only():
        customer = load(uow, customer_id)
        contact_erasure_patch(customer, contact_id)  # NotFound for an unknown contact
        data = snapshot(customer)
        contact = next(c for c in data["contacts"] if c["id"] == str(contact_id))
        marker = f"contacts[{contact_id}]"
        history = []
        for entry in _history(uow, customer_id):
            mine = [c for c in entry.changes if str(c.get("field", "")).startswith(marker)]
            if mine:  # only what concerns this contact, never other people's data
                history.append({**_entry(entry), "changes": mine})
        return {"customer_id": str(customer_id), "contact": contact, "history": history}


def erase_customer(
    uow: UnitOfWork,
    actor: Principal,
    policy: Policy,
    customer_id: UUID,
    settings: ServiceSettings,
    *,
    contact_id: UUID | None = None,
) -> Outcome:
    """Anonymise a person customer (or one contact); financial history stays. What the
    erasure replaced is scrubbed from the customer's source records too."""
    require(actor, Permission.PERSONAL_DATA_ERASE)
    with uow:
        customer = load(uow, customer_id)
        patch = (
            customer_erasure_patch(customer)
            if contact_id is None
            else contact_erasure_patch(customer, contact_id)
        )
        before = snapshot(customer)
        outcome = update_customer(
            uow,
            actor,
            policy,
            customer_id,
            patch,
            settings,
            operation=Operation.ERASE_PERSONAL_DATA,
        )
        if outcome.applied:  # else when its approval completes (governance.decide)
            scrub_sources(uow, customer_id, patch, before)
        return outcome
