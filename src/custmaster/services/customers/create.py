"""Create a customer with all its child records and overrides in one transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

from custmaster.domain.build import new_customer
from custmaster.domain.context import ParseContext
from custmaster.domain.errors import ChangeWarning, Conflict, ValidationFailed
from custmaster.domain.events import customer_event
from custmaster.domain.model import Customer
from custmaster.domain.permissions import Principal
from custmaster.domain.snapshot import diff, snapshot
from custmaster.services.customers.common import change_warnings, check_references
from custmaster.services.dedup.index import refresh_match_keys
from custmaster.services.ports import UnitOfWork
from custmaster.services.recording import record_change, utcnow
from custmaster.services.settings import ServiceSettings
from custmaster.services.sources.keep import api_source


@dataclass(frozen=True, slots=True)
class CustomerResult:
    customer: Customer
    warnings: list[ChangeWarning] = field(default_factory=list)
    #: ``snapshot(customer)`` when the use case made it anyway (the answer reuses it)
    snapshot: dict[str, Any] | None = None


def create_customer(
    uow: UnitOfWork,
    actor: Principal,
    data: Mapping[str, Any],
    settings: ServiceSettings,
    *,
    change_request_id: UUID | None = None,
) -> CustomerResult:
    with uow:
        ctx = ParseContext()
        customer = new_customer(data, customer_id=uuid4(), number="", now=utcnow(), ctx=ctx)
        check_references(uow, ctx)
        if customer is None or ctx.errors:
            raise ValidationFailed(ctx.errors.errors)
        return write_new(
            uow,
            actor,
            customer,
            settings,
            warnings=ctx.warnings,
            change_request_id=change_request_id,
            received=data,
        )


def write_new(
    uow: UnitOfWork,
    actor: Principal,
    customer: Customer,
    settings: ServiceSettings,
    *,
    warnings: list[ChangeWarning],
    change_request_id: UUID | None = None,
    received: Mapping[str, Any] | None = None,
) -> CustomerResult:
    """Store a validated new aggregate under the next customer number, with its match
    keys, audit entry and event; a customer received with source references keeps a
    source record per reference (``received``: the request body; ``None`` when its source
    records exist already)."""
    with uow:
        for ref in customer.source_refs:
            owner = uow.customers.by_source_ref(ref)
            if owner is not None:
                raise Conflict(
                    f"{ref.source_system}/{ref.source_id} already points at customer {owner}"
                )
        customer.number = settings.customer_number(uow.customers.next_numbers(1)[0])
        uow.customers.add(customer)
        refresh_match_keys(uow, customer)
        after = snapshot(customer)
        if customer.source_refs and received is not None:
            assert customer.created_at is not None
            uow.sources.add_many(api_source(customer, received, customer.created_at))
        # warnings first: the audit append in record_change holds a lock until commit
        all_warnings = warnings + change_warnings(uow, customer, settings, name_changed=True)
        assert customer.created_at is not None
        record_change(
            uow,
            actor,
            operation="create",
            resource_type="customer",
            resource_id=str(customer.id),
            changes=diff(None, after),
            event=customer_event("created", customer.id, customer.created_at, {"customer": after}),
            change_request_id=change_request_id,
        )
        return CustomerResult(customer, all_warnings)
