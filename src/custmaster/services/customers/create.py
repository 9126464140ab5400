"""Create a customer with all its child records and overrides in one transaction.

:func:`create_customer` is the use case: under the approval policy it applies at once or
opens a change request. :func:`apply_create` applies a create without the policy (an
approved request, ``governance/decide.py``; data loaders). Both open with
:func:`prepare_create` and write with :func:`write_new`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID, uuid4

from custmaster.domain.approvals import Operation, Policy, require_submit
from custmaster.domain.build import new_customer
from custmaster.domain.context import ParseContext
from custmaster.domain.errors import ChangeWarning, Conflict, ValidationFailed
from custmaster.domain.events import customer_event
from custmaster.domain.model import Customer
from custmaster.domain.permissions import Principal
from custmaster.domain.snapshot import diff, snapshot
from custmaster.services.customers.common import change_warnings, check_references
from custmaster.services.customers.outcome import CustomerResult, Outcome, applied, pending
from custmaster.services.dedup.index import refresh_match_keys
from custmaster.services.governance.access import check_change_access, touched_entities
from custmaster.services.governance.approval_step import open_request
from custmaster.services.ports import UnitOfWork
from custmaster.services.recording import record_change, utcnow
from custmaster.services.settings import ServiceSettings
from custmaster.services.sources.keep import api_source


def create_customer(
    uow: UnitOfWork,
    actor: Principal,
    policy: Policy,
    data: Mapping[str, Any],
    settings: ServiceSettings,
) -> Outcome:
    """Create a customer under the approval policy: a green create is stored at once,
    any other opens a change request (validated now, again when it is applied)."""
    direct = require_submit(actor, Operation.CREATE)
    with uow:
        draft, ctx = prepare_create(uow, data)
        after = snapshot(draft)
        changes = diff(None, after)
        check_change_access(actor, data, [c["field"] for c in changes])
        request = open_request(
            uow,
            actor,
            policy,
            Operation.CREATE,
            customer_id=None,
            changes=changes,
            payload={"request": dict(data)},
            before=None,
            after=after,
            base_version=None,
            entities=touched_entities(data),
            direct=direct,
            warnings=lambda: [
                *ctx.warnings,
                *change_warnings(uow, draft, settings, name_changed=True),
            ],
        )
        if request is not None:
            return pending(request)
        # green: store what was validated above (no second parse)
        result = write_new(uow, actor, draft, settings, warnings=ctx.warnings, received=data)
        return applied(actor, result)


def apply_create(
    uow: UnitOfWork,
    actor: Principal,
    data: Mapping[str, Any],
    settings: ServiceSettings,
    *,
    change_request_id: UUID | None = None,
) -> CustomerResult:
    """Store a new customer without asking the policy: the change of an approved request
    (``change_request_id``) or a data loader's (the demo)."""
    with uow:
        customer, ctx = prepare_create(uow, data)
        return write_new(
            uow,
            actor,
            customer,
            settings,
            warnings=ctx.warnings,
            change_request_id=change_request_id,
            received=data,
        )


def prepare_create(uow: UnitOfWork, data: Mapping[str, Any]) -> tuple[Customer, ParseContext]:
    """The opening of every create: the request parsed into a new aggregate and its
    reference-data codes checked (``ValidationFailed`` otherwise); the aggregate and the
    parse context (warnings). Call it inside the unit of work."""
    ctx = ParseContext()
    customer = new_customer(data, customer_id=uuid4(), number="", now=utcnow(), ctx=ctx)
    check_references(uow, ctx)
    if customer is None or ctx.errors:
        raise ValidationFailed(ctx.errors.errors)
    return customer, ctx


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
