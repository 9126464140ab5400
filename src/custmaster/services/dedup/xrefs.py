"""Cross-references: the (source system, source id) pairs that point at a customer, and
their resolution to the current golden record, following merges."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from custmaster.domain.errors import NotFound
from custmaster.domain.model import Customer, SourceRef
from custmaster.domain.permissions import Permission, Principal, require
from custmaster.services.customers.common import load
from custmaster.services.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class XrefResolution:
    customer_id: UUID
    number: str
    followed: list[UUID]


def resolve_xref(
    uow: UnitOfWork, actor: Principal, source_system: str, source_id: str
) -> XrefResolution:
    """The golden record a source reference stands for now; ``followed`` lists the
    merges (oldest first) that carried the reference to it."""
    require(actor, Permission.CUSTOMER_READ)
    with uow.read_only():
        owner = uow.customers.by_source_ref(SourceRef(source_system, source_id))
        if owner is None:
            raise NotFound(f"no customer is known as {source_system}/{source_id}")
        customer = load(uow, owner)
        followed = uow.matching.merges_moving_ref(source_system, source_id)
        return XrefResolution(customer.id, customer.number, followed)


@dataclass(frozen=True, slots=True)
class CustomerXrefs:
    customer: Customer
    via_merge: dict[SourceRef, UUID]


def customer_xrefs(uow: UnitOfWork, actor: Principal, customer_id: UUID) -> CustomerXrefs:
    """Every source reference of a customer, with the merge that brought each one in
    (the latest one) when it came from an absorbed record."""
    require(actor, Permission.CUSTOMER_READ)
    with uow.read_only():
        return xrefs_of(uow, load(uow, customer_id))


def xrefs_of(uow: UnitOfWork, customer: Customer) -> CustomerXrefs:
    """``customer_xrefs``'s answer for a customer the caller loaded (in its unit of work,
    for a reader)."""
    via: dict[SourceRef, UUID] = {}
    for merge in uow.matching.merges_of(customer.id):
        if merge.unmerged_at is None:
            for system, source_id, _ in merge.moved_refs:
                via[SourceRef(system, source_id)] = merge.id
    return CustomerXrefs(customer, via)
