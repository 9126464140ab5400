"""Deactivate (soft delete), reactivate and hard delete.

:func:`change_lifecycle` is the use case: under the approval policy it applies at once or
opens a change request. :func:`apply_lifecycle` applies an approved request
(``governance/decide.py``). Both open with ``load_current`` and write with
:func:`write_lifecycle`."""

from __future__ import annotations

import copy
from uuid import UUID

from custmaster.domain.approvals import Operation, Policy, require_submit
from custmaster.domain.errors import Conflict
from custmaster.domain.events import customer_event
from custmaster.domain.model import Customer, CustomerStatus
from custmaster.domain.permissions import Principal
from custmaster.domain.snapshot import snapshot
from custmaster.services.customers.common import load_current
from custmaster.services.customers.outcome import CustomerResult, Outcome, applied, pending
from custmaster.services.dedup.index import refresh_match_keys, remove_match_keys
from custmaster.services.governance.access import check_change_access, touched_entities
from custmaster.services.governance.approval_step import open_request
from custmaster.services.ports import UnitOfWork
from custmaster.services.recording import record_change, utcnow
from custmaster.services.structure.cascade import record_removed_with

_STATUS_CHANGES = {
    Operation.DEACTIVATE: ("status", "active", "inactive"),
    Operation.REACTIVATE: ("status", "inactive", "active"),
}


def change_lifecycle(
    uow: UnitOfWork,
    actor: Principal,
    policy: Policy,
    operation: Operation,
    customer_id: UUID,
    *,
    expected_version: int | None = None,
) -> Outcome:
    """Deactivate, reactivate or hard delete (``operation``) under the approval policy:
    a green change applies at once, any other opens a change request."""
    direct = require_submit(actor, operation)
    with uow:
        current = load_current(uow, customer_id, expected_version)
        if current.owning_entity and actor.entities is not None:
            check_change_access(actor, {"owning_entity": current.owning_entity}, [], None)
        if operation is Operation.HARD_DELETE:
            changes = [{"field": "customer", "before": snapshot(current), "after": None}]
        else:
            name, old, new = _STATUS_CHANGES[operation]
            changes = [{"field": name, "before": old, "after": new}]
        request = open_request(
            uow,
            actor,
            policy,
            operation,
            customer_id=customer_id,
            changes=changes,
            payload={},
            before=snapshot(current),
            after=None,
            base_version=current.version,
            entities=touched_entities({}, current),
            direct=direct,
        )
        if request is not None:
            return pending(request)
        # green: change what was loaded above (no second load)
        return applied(actor, write_lifecycle(uow, actor, operation, current))


def apply_lifecycle(
    uow: UnitOfWork,
    actor: Principal,
    operation: Operation,
    customer_id: UUID,
    expected_version: int | None,
    change_request_id: UUID | None,
) -> CustomerResult | None:
    """Deactivate, reactivate or hard delete without asking the policy: the change of an
    approved request (``None`` for a hard delete)."""
    with uow:
        current = load_current(uow, customer_id, expected_version)
        return write_lifecycle(uow, actor, operation, current, change_request_id=change_request_id)


def write_lifecycle(
    uow: UnitOfWork,
    actor: Principal,
    operation: Operation,
    current: Customer,
    *,
    change_request_id: UUID | None = None,
) -> CustomerResult | None:
    """Store ``operation`` on ``current`` (loaded for update in this unit of work)."""
    if operation is Operation.DEACTIVATE:
        return _set_status(uow, actor, current, CustomerStatus.INACTIVE, change_request_id)
    if operation is Operation.REACTIVATE:
        return _set_status(uow, actor, current, CustomerStatus.ACTIVE, change_request_id)
    if operation is not Operation.HARD_DELETE:
        raise ValueError(f"{operation.value} is not a lifecycle change")
    _delete(uow, actor, current, change_request_id)
    return None


def _set_status(
    uow: UnitOfWork,
    actor: Principal,
    current: Customer,
    status: CustomerStatus,
    change_request_id: UUID | None,
) -> CustomerResult:
    """Soft delete (inactive: hidden from default lists, everything kept, reversible) or
    its undoing."""
    operation = "deactivate" if status is CustomerStatus.INACTIVE else "reactivate"
    if current.status is status:
        raise Conflict(f"customer {current.number} is {status.value} already")
    now = utcnow()
    updated = copy.deepcopy(current)
    updated.status = status
    updated.version = current.version + 1
    updated.updated_at = now
    uow.customers.update(current, updated)
    refresh_match_keys(uow, updated)  # inactive customers are not match targets
    changes = [{"field": "status", "before": current.status.value, "after": status.value}]
    record_change(
        uow,
        actor,
        operation=operation,
        resource_type="customer",
        resource_id=str(current.id),
        changes=changes,
        event=customer_event(
            f"{operation}d",
            current.id,
            now,
            {"changes": changes, "customer": snapshot(updated)},
        ),
        change_request_id=change_request_id,
    )
    return CustomerResult(updated)


def _delete(
    uow: UnitOfWork, actor: Principal, current: Customer, change_request_id: UUID | None
) -> None:
    """Hard delete: removes the customer, its child records and its source records; the
    audit entries stay and record the whole aggregate as it was, and each hierarchy link,
    relationship and assignment that goes with it."""
    customer_id = current.id
    now = utcnow()
    before = snapshot(current)
    record_removed_with(uow, actor, customer_id)
    uow.customers.delete(customer_id)
    remove_match_keys(uow, [customer_id])
    # what its sources sent goes with it (no orphaned source records left behind)
    uow.sources.delete_for_golden([customer_id])
    record_change(
        uow,
        actor,
        operation="delete",
        resource_type="customer",
        resource_id=str(customer_id),
        changes=[{"field": "customer", "before": before, "after": None}],
        event=customer_event(
            "deleted", customer_id, now, {"id": str(customer_id), "number": current.number}
        ),
        change_request_id=change_request_id,
    )
