"""Read the master, the effective view for a legal entity, lists and history."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Protocol
from uuid import UUID

from anyio import to_thread

from custmaster.domain.effective import EffectiveView, effective_view
from custmaster.domain.errors import FieldError, NotFound, ValidationFailed
from custmaster.domain.model import Customer
from custmaster.domain.permissions import Permission, Principal, require
from custmaster.services.customer_queries import CustomerQuery
from custmaster.services.customers.common import load, not_found
from custmaster.services.governance.access import (
    require_entity,
    require_history,
    visible_customer,
    visible_data,
)
from custmaster.services.ports import AuditEntry, UnitOfWork
from custmaster.services.recording import utcnow
from custmaster.services.structure.common import DEFAULT_SETTINGS
from custmaster.services.structure.hierarchies import inherited_fields

MAX_PAGE = 500


class AsyncCustomerReads(Protocol):
    """Point reads for an event loop (PostgreSQL; see ``CustomerRepository``)."""

    async def get_for_view(
        self, customer_id: UUID, entity: str, hierarchy_type: str
    ) -> tuple[Customer, bool, bool] | None: ...


def get_customer(uow: UnitOfWork, actor: Principal, customer_id: UUID) -> Customer:
    """The master record with the overrides ``actor`` may see."""
    require(actor, Permission.CUSTOMER_READ)
    with uow.read_only(autocommit=True):
        return visible_customer(actor, load(uow, customer_id))


def get_effective_view(
    uow: UnitOfWork, actor: Principal, customer_id: UUID, entity: str, as_of: date | None = None
) -> tuple[Customer, EffectiveView]:
    """The master merged with ``entity``'s override; inheritable fields the customer leaves
    empty come from its nearest ancestor on ``as_of`` (default today), and
    ``data["inherited"]`` says which and where from."""
    require(actor, Permission.CUSTOMER_READ)
    require_entity(actor, entity)
    hierarchy_type = DEFAULT_SETTINGS.inheritance_hierarchy
    # One statement on PostgreSQL reads the aggregate, whether the entity exists and
    # whether the customer has a parent to inherit from; no transaction is needed.
    with uow.read_only(autocommit=True):
        found = uow.customers.get_for_view(customer_id, entity, hierarchy_type)
        if found is None:
            not_found(uow, customer_id)
        customer, entity_exists, has_parent = found
        if not entity_exists:
            raise _unknown_entity(entity)
        customer = visible_customer(actor, customer)
        view = effective_view(customer, entity, as_of or utcnow().date())
        # without a link in the inheritance hierarchy there is no ancestor to walk to
        inherited = (
            inherited_fields(uow, customer_id, view.data, entity=entity, as_of=as_of)
            if has_parent
            else {}
        )
        values = {name: item["value"] for name, item in inherited.items()}
        return customer, replace(view, data={**view.data, **values, "inherited": inherited})


async def read_effective_view(
    reads: AsyncCustomerReads,
    uow: UnitOfWork,
    actor: Principal,
    customer_id: UUID,
    entity: str,
    as_of: date | None = None,
) -> tuple[Customer, EffectiveView]:
    """``get_effective_view`` on an event loop: the one statement is awaited; what needs
    more than it (an unknown id, which may have been merged away; a customer with a
    parent to inherit from) is answered by ``get_effective_view`` in a thread."""
    require(actor, Permission.CUSTOMER_READ)
    require_entity(actor, entity)
    found = await reads.get_for_view(customer_id, entity, DEFAULT_SETTINGS.inheritance_hierarchy)
    if found is None or found[2]:
        # in one of the worker's request threads, like every other blocking read
        return await to_thread.run_sync(get_effective_view, uow, actor, customer_id, entity, as_of)
    customer, entity_exists, _ = found
    if not entity_exists:
        raise _unknown_entity(entity)
    customer = visible_customer(actor, customer)
    view = effective_view(customer, entity, as_of or utcnow().date())
    return customer, replace(view, data={**view.data, "inherited": {}})


def _unknown_entity(entity: str) -> ValidationFailed:
    return ValidationFailed(
        [FieldError("entity", "unknown_reference", f"no legal entity '{entity}' exists")]
    )


def search_customers(uow: UnitOfWork, actor: Principal, query: CustomerQuery) -> list[Customer]:
    require(actor, Permission.CUSTOMER_READ)
    if query.entity:
        require_entity(actor, query.entity)
    with uow.read_only():
        return [visible_customer(actor, c) for c in uow.customers.search(query)]


def customer_history(
    uow: UnitOfWork, actor: Principal, customer_id: UUID, *, after_id: int | None, limit: int
) -> list[AuditEntry]:
    """The audit entries of a customer, also after a hard delete (``audit.read``; other
    entities' override changes left out)."""
    require_history(actor)
    with uow.read_only():
        entries = uow.audit.for_resource(
            "customer", str(customer_id), after_id=after_id, limit=limit
        )
        if not entries and after_id is None and uow.customers.get(customer_id) is None:
            raise NotFound(f"no customer {customer_id}")
        return [replace(e, changes=visible_data(actor, e.changes)) for e in entries]
