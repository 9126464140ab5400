"""Partial update of a customer: master fields, action lists for child records,
dimensions and overrides; all or nothing.

:func:`update_customer` is the use case: under the approval policy it applies at once or
opens a change request. :func:`apply_update` applies an approved request's patch
(``governance/decide.py``). Both open with :func:`prepare_update` (or, for the customer
the approval loaded already, :func:`patch_customer`) and write with :func:`write_update`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from custmaster.domain.approvals import Operation, Policy, require_submit
from custmaster.domain.build import patched_customer
from custmaster.domain.context import ParseContext
from custmaster.domain.errors import ChangeWarning, ValidationFailed
from custmaster.domain.events import customer_event
from custmaster.domain.model import Customer
from custmaster.domain.permissions import Principal
from custmaster.domain.snapshot import diff, snapshot
from custmaster.services.customers.common import change_warnings, check_references, load_current
from custmaster.services.customers.outcome import CustomerResult, Outcome, applied, pending
from custmaster.services.dedup.index import refresh_match_keys
from custmaster.services.dedup.records import match_record
from custmaster.services.governance.access import check_change_access, touched_entities
from custmaster.services.governance.approval_step import open_request
from custmaster.services.ports import UnitOfWork
from custmaster.services.recording import record_change, utcnow
from custmaster.services.settings import ServiceSettings


def update_customer(
    uow: UnitOfWork,
    actor: Principal,
    policy: Policy,
    customer_id: UUID,
    patch: Mapping[str, Any],
    settings: ServiceSettings,
    *,
    expected_version: int | None = None,
    operation: Operation = Operation.UPDATE,
) -> Outcome:
    """Update a customer under the approval policy (or, with
    ``operation=ERASE_PERSONAL_DATA``, an anonymising patch): a green change is stored at
    once, any other opens a change request (re-validated when it is applied)."""
    direct = require_submit(actor, operation)
    with uow:
        current, updated, ctx = prepare_update(uow, customer_id, patch, expected_version)
        before, after = snapshot(current), snapshot(updated)
        changes = diff(before, after)
        check_change_access(actor, patch, [c["field"] for c in changes], current)
        request = None
        if changes:
            request = open_request(
                uow,
                actor,
                policy,
                operation,
                customer_id=customer_id,
                changes=changes,
                payload={"patch": dict(patch)},
                before=before,
                after=after,
                base_version=current.version,
                entities=touched_entities(patch, current),
                direct=direct,
                warnings=lambda: (
                    ctx.warnings
                    + change_warnings(
                        uow, updated, settings, name_changed=updated.name != current.name
                    )
                ),
            )
        if request is not None:
            return pending(request)
        # green: store what was validated above (no second load and parse)
        result = write_update(
            uow,
            actor,
            current,
            updated,
            settings,
            warnings=ctx.warnings,
            compared=(before, after, changes),
        )
        return applied(actor, result)


def apply_update(
    uow: UnitOfWork,
    actor: Principal,
    current: Customer,
    patch: Mapping[str, Any],
    settings: ServiceSettings,
    *,
    change_request_id: UUID | None = None,
) -> CustomerResult:
    """Apply ``patch`` to ``current`` (loaded for update in this unit of work, with
    ``load_current``) without asking the policy: the change of an approved request."""
    with uow:
        updated, ctx = patch_customer(uow, current, patch)
        return write_update(
            uow,
            actor,
            current,
            updated,
            settings,
            warnings=ctx.warnings,
            change_request_id=change_request_id,
        )


def prepare_update(
    uow: UnitOfWork,
    customer_id: UUID,
    patch: Mapping[str, Any],
    expected_version: int | None,
) -> tuple[Customer, Customer, ParseContext]:
    """The opening of an update: the customer loaded for update, its version checked,
    the patch applied and its references checked; the current and the updated customer
    and the parse context (warnings). Call it inside the unit of work."""
    current = load_current(uow, customer_id, expected_version)
    updated, ctx = patch_customer(uow, current, patch)
    return current, updated, ctx


def patch_customer(
    uow: UnitOfWork, current: Customer, patch: Mapping[str, Any]
) -> tuple[Customer, ParseContext]:
    """``patch`` applied to ``current`` and its reference-data codes checked
    (``ValidationFailed`` otherwise); the updated customer and the parse context."""
    ctx = ParseContext()
    updated = patched_customer(current, patch, now=utcnow(), ctx=ctx)
    check_references(uow, ctx)
    if updated is None or ctx.errors:
        raise ValidationFailed(ctx.errors.errors)
    return updated, ctx


def write_update(
    uow: UnitOfWork,
    actor: Principal,
    current: Customer,
    updated: Customer,
    settings: ServiceSettings,
    *,
    warnings: list[ChangeWarning],
    change_request_id: UUID | None = None,
    compared: tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]] | None = None,
) -> CustomerResult:
    """Store a validated update of ``current`` (loaded for update in this unit of work)
    with its match keys, audit entry and event. ``compared``: ``snapshot(current)``,
    ``snapshot(updated)`` and their ``diff`` when the caller made them already."""
    with uow:
        if compared is None:
            before, after = snapshot(current), snapshot(updated)
            changes = diff(before, after)
        else:
            before, after, changes = compared
        if not changes:
            return CustomerResult(current, warnings)
        updated.version = current.version + 1
        after["version"] = updated.version
        ctx = ParseContext()
        for ref in set(updated.source_refs) - set(current.source_refs):
            owner = uow.customers.by_source_ref(ref)
            if owner is not None and owner != current.id:
                ctx.errors.add("source_refs", "conflict", f"already points at customer {owner}")
        ctx.errors.raise_if_any()
        uow.customers.update(current, updated)
        if _match_inputs(updated) != _match_inputs(current):
            refresh_match_keys(uow, updated)
        # warnings first: the audit append in record_change holds a lock until commit
        all_warnings = warnings + change_warnings(
            uow, updated, settings, name_changed=updated.name != current.name
        )
        assert updated.updated_at is not None
        record_change(
            uow,
            actor,
            operation="update",
            resource_type="customer",
            resource_id=str(current.id),
            changes=changes,
            event=customer_event(
                "updated", current.id, updated.updated_at, {"changes": changes, "customer": after}
            ),
            change_request_id=change_request_id,
        )
        return CustomerResult(updated, all_warnings, snapshot=after)


def _match_inputs(customer: Customer) -> tuple[Any, ...]:
    """Everything the match index stores of a customer depends on (see
    ``services.dedup.records.index_entry``): equal inputs, equal index entry, so a
    change elsewhere (notes, credit limit, overrides, contacts) leaves the index as it is."""
    return (customer.status, customer.number, customer.name, match_record(customer))
