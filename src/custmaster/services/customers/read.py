"""Read the master, the effective view for a legal entity, lists and history."""

from __future__ import annotations

from uuid import UUID

from custmaster.domain.effective import EffectiveView, effective_view
from custmaster.domain.errors import FieldError, NotFound, ValidationFailed
from custmaster.domain.model import Customer
from custmaster.domain.permissions import Principal
from custmaster.services.customers.common import load
from custmaster.services.ports import AuditEntry, CustomerQuery, UnitOfWork

MAX_PAGE = 500


def get_customer(uow: UnitOfWork, actor: Principal, customer_id: UUID) -> Customer:
    with uow.read_only():
        return load(uow, customer_id)


def get_effective_view(
    uow: UnitOfWork, actor: Principal, customer_id: UUID, entity: str
) -> tuple[Customer, EffectiveView]:
    with uow.read_only():
        if uow.reference.get("legal_entities", entity) is None:
            raise ValidationFailed(
                [FieldError("entity", "unknown_reference", f"no legal entity '{entity}' exists")]
            )
        customer = load(uow, customer_id)
        return customer, effective_view(customer, entity)


def search_customers(uow: UnitOfWork, actor: Principal, query: CustomerQuery) -> list[Customer]:
    with uow.read_only():
        return uow.customers.search(query)


def customer_history(
    uow: UnitOfWork, actor: Principal, customer_id: UUID, *, after_id: int | None, limit: int
) -> list[AuditEntry]:
    """The audit entries of a customer, also after a hard delete."""
    with uow.read_only():
        entries = uow.audit.for_resource(
            "customer", str(customer_id), after_id=after_id, limit=limit
        )
        if not entries and after_id is None and uow.customers.get(customer_id) is None:
            raise NotFound(f"no customer {customer_id}")
        return entries
