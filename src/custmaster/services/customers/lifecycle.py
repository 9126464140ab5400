"""Deactivate (soft delete), reactivate and hard delete."""

from __future__ import annotations

import copy
from uuid import UUID

from custmaster.domain.errors import Conflict
from custmaster.domain.events import customer_event
from custmaster.domain.model import CustomerStatus
from custmaster.domain.permissions import Principal
from custmaster.domain.snapshot import snapshot
from custmaster.services.customers.common import check_version, load
from custmaster.services.customers.create import CustomerResult
from custmaster.services.dedup.index import refresh_match_keys, remove_match_keys
from custmaster.services.ports import UnitOfWork
from custmaster.services.recording import record_change, utcnow
from custmaster.services.structure.cascade import record_removed_with


def _set_status(
    uow: UnitOfWork,
    actor: Principal,
    customer_id: UUID,
    status: CustomerStatus,
    expected_version: int | None,
    change_request_id: UUID | None = None,
) -> CustomerResult:
    operation = "deactivate" if status is CustomerStatus.INACTIVE else "reactivate"
    with uow:
        current = load(uow, customer_id, for_update=True)
        check_version(current, expected_version)
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
            resource_id=str(customer_id),
            changes=changes,
            event=customer_event(
                f"{operation}d",
                customer_id,
                now,
                {"changes": changes, "customer": snapshot(updated)},
            ),
            change_request_id=change_request_id,
        )
        return CustomerResult(updated)


def deactivate_customer(
    uow: UnitOfWork,
    actor: Principal,
    customer_id: UUID,
    *,
    expected_version: int | None = None,
    change_request_id: UUID | None = None,
) -> CustomerResult:
    """Soft delete: hidden from default lists, everything kept, reversible."""
    return _set_status(
        uow, actor, customer_id, CustomerStatus.INACTIVE, expected_version, change_request_id
    )


def reactivate_customer(
    uow: UnitOfWork,
    actor: Principal,
    customer_id: UUID,
    *,
    expected_version: int | None = None,
    change_request_id: UUID | None = None,
) -> CustomerResult:
    return _set_status(
        uow, actor, customer_id, CustomerStatus.ACTIVE, expected_version, change_request_id
    )


def delete_customer(
    uow: UnitOfWork,
    actor: Principal,
    customer_id: UUID,
    *,
    expected_version: int | None = None,
    change_request_id: UUID | None = None,
) -> None:
    """Hard delete: removes the customer, its child records and its source records; the
    audit entries stay and record the whole aggregate as it was, and each hierarchy link,
    relationship and assignment that goes with it."""
    with uow:
        current = load(uow, customer_id, for_update=True)
        check_version(current, expected_version)
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
