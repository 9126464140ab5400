"""Decide change requests: approve (the last approval re-validates and applies, or
marks the request conflicted), reject, withdraw; and read them."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from custmaster.domain.approvals import (
    ChangeRequest,
    Operation,
    RebaseStatus,
    RequestStatus,
    rebase,
)
from custmaster.domain.errors import DomainError, NotFound, ValidationFailed
from custmaster.domain.permissions import Permission, Principal, require
from custmaster.domain.snapshot import snapshot, value_at
from custmaster.services.customers.common import load_current
from custmaster.services.customers.create import apply_create
from custmaster.services.customers.lifecycle import apply_lifecycle
from custmaster.services.customers.update import apply_update
from custmaster.services.dedup.unmerge import unmerge
from custmaster.services.governance.access import may_see_request
from custmaster.services.governance.approval_step import request_event
from custmaster.services.governance.merges import apply_merge
from custmaster.services.ports import UnitOfWork
from custmaster.services.profile.rules import apply_request as apply_profile_rules
from custmaster.services.recording import record_change, utcnow
from custmaster.services.settings import ServiceSettings
from custmaster.services.sources.erasure import scrub_sources
from custmaster.services.structure.governed import apply_request as apply_structure


def _load(uow: UnitOfWork, request_id: UUID) -> ChangeRequest:
    request = uow.change_requests.get(request_id, for_update=True)
    if request is None:
        raise NotFound(f"no change request {request_id}")
    return request


def _record(
    uow: UnitOfWork,
    actor: Principal,
    request: ChangeRequest,
    operation: str,
    before: dict[str, Any],
) -> None:
    uow.change_requests.save(request)
    record_change(
        uow,
        actor,
        operation=operation,
        resource_type="change_request",
        resource_id=str(request.id),
        changes=[{"field": "change_request", "before": before, "after": request.as_dict()}],
        event=request_event(request, operation),
        change_request_id=request.id,
    )


def _submitter(uow: UnitOfWork, request: ChangeRequest) -> Principal:
    """Who the approved change is applied for: the submitter (through the agent that
    proposed it, if one did, so the audit entries say so)."""
    user = uow.users.get(request.submitted_by)
    if user is not None:
        principal = user.principal
    else:
        principal = Principal(request.submitted_by, request.submitted_by, frozenset())
    via = request.change.payload.get("submitted_via")
    return principal.through(via) if isinstance(via, str) else principal


def approve(
    uow: UnitOfWork,
    actor: Principal,
    request_id: UUID,
    settings: ServiceSettings,
    *,
    comment: str | None = None,
) -> ChangeRequest:
    with uow:
        request = _load(uow, request_id)
        before = request.as_dict()
        request.approve(actor, comment, utcnow())
        _record(uow, actor, request, "approved_step", before)
        if request.status is RequestStatus.APPROVED:
            _apply(uow, request, settings)
        return request


def _apply(uow: UnitOfWork, request: ChangeRequest, settings: ServiceSettings) -> None:
    """Re-validate against the current record and apply, in the approval's transaction,
    with the write step the green path uses (``services/customers/``, ...); a field
    changed meanwhile makes the request conflicted (other fields are rebased)."""
    submitter = _submitter(uow, request)
    before = request.as_dict()
    payload = request.change.payload
    try:
        if request.operation is Operation.CREATE:
            result = apply_create(
                uow, submitter, payload["request"], settings, change_request_id=request.id
            )
            request.customer_id = result.customer.id
        elif request.operation in (Operation.UPDATE, Operation.ERASE_PERSONAL_DATA):
            assert request.customer_id is not None
            customer = load_current(uow, request.customer_id, None)
            current = snapshot(customer)
            fields = request.change.fields
            outcome = rebase(
                request.change.base_values,
                {path: value_at(current, path) for path in fields},
                payload["proposed"],
                base_version=request.change.base_version,
                current_version=current["version"],
            )
            if outcome.status is RebaseStatus.CONFLICTED:
                request.mark_conflicted(outcome.conflicts, utcnow())
                _record(uow, submitter, request, "conflicted", before)
                return
            apply_update(
                uow, submitter, customer, payload["patch"], settings, change_request_id=request.id
            )
            if request.operation is Operation.ERASE_PERSONAL_DATA:
                scrub_sources(uow, request.customer_id, payload["patch"], current)
        elif request.operation is Operation.MERGE:
            assert request.customer_id is not None
            apply_merge(
                uow,
                submitter,
                request.customer_id,
                [UUID(i) for i in payload["absorbed_ids"]],
                payload["choices"],
                cluster_id=payload.get("cluster_id"),
                change_request_id=request.id,
            )
        elif request.operation is Operation.UNMERGE:
            unmerge(uow, submitter, UUID(payload["merge_id"]))
        elif request.operation is Operation.PROFILE_RULES_CHANGE:
            if apply_profile_rules(uow, submitter, request):  # another version landed
                request.mark_conflicted(["profile_rules"], utcnow())
                request.reasons = (*request.reasons, "another rules version became active")
                _record(uow, submitter, request, "conflicted", before)
                return
        elif request.operation.is_structure:
            moved = apply_structure(uow, submitter, request)
            if moved:  # the structure it was planned on changed meanwhile
                request.mark_conflicted(moved, utcnow())
                request.reasons = (*request.reasons, "the structure changed meanwhile")
                _record(uow, submitter, request, "conflicted", before)
                return
        else:
            assert request.customer_id is not None
            apply_lifecycle(
                uow,
                submitter,
                request.operation,
                request.customer_id,
                request.change.base_version,
                request.id,
            )
    except DomainError as error:  # e.g. the record changed so the change no longer applies
        failed = [e.field for e in error.errors] if isinstance(error, ValidationFailed) else []
        request.mark_conflicted(failed or list(request.change.fields), utcnow())
        request.reasons = (*request.reasons, f"could not apply: {error.detail}")
        _record(uow, submitter, request, "conflicted", before)
        return
    request.mark_applied(utcnow())
    _record(uow, submitter, request, "applied", before)


def reject(uow: UnitOfWork, actor: Principal, request_id: UUID, reason: str) -> ChangeRequest:
    with uow:
        request = _load(uow, request_id)
        before = request.as_dict()
        request.reject(actor, reason, utcnow())
        _record(uow, actor, request, "rejected", before)
        return request


def withdraw(uow: UnitOfWork, actor: Principal, request_id: UUID) -> ChangeRequest:
    with uow:
        request = _load(uow, request_id)
        before = request.as_dict()
        request.withdraw(actor, utcnow())
        _record(uow, actor, request, "withdrawn", before)
        return request


def get_request(uow: UnitOfWork, actor: Principal, request_id: UUID) -> ChangeRequest:
    require(actor, Permission.CHANGEREQUEST_READ)
    with uow.read_only():
        request = uow.change_requests.get(request_id)
    if request is None or not _visible(actor, request):
        raise NotFound(f"no change request {request_id}")
    return request


def _visible(actor: Principal, request: ChangeRequest) -> bool:
    return may_see_request(actor, request.entities)


def list_requests(
    uow: UnitOfWork,
    actor: Principal,
    *,
    statuses: list[str] | None,
    waiting_for_me: bool,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[ChangeRequest]:
    """Oldest first; ``waiting_for_me``: pending requests whose current step this actor
    may decide (role, entity scope and segregation of duties)."""
    require(actor, Permission.CHANGEREQUEST_READ)
    found: list[ChangeRequest] = []
    cursor = after
    with uow.read_only():
        while len(found) < limit:
            batch = uow.change_requests.find(
                statuses=statuses,
                waiting_for_roles=[r.value for r in actor.roles] if waiting_for_me else None,
                after=cursor,
                limit=limit * 2,
            )
            for request in batch:
                if not _visible(actor, request):
                    continue
                if waiting_for_me and not request.can_decide(actor):
                    continue
                found.append(request)
                if len(found) == limit:
                    break
            if len(batch) < limit * 2:
                break
            cursor = (batch[-1].created_at, batch[-1].id)
    return found
