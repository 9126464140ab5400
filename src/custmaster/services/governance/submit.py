"""Submit a change under the approval policy: green changes apply at once, others open
a change request (validated now, re-validated when the last approval applies it)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from uuid import UUID, uuid4

from custmaster.domain.approvals import (
    ChangeRequest,
    FieldChange,
    Operation,
    Policy,
    ProposedChange,
    require_submit,
)
from custmaster.domain.build import new_customer
from custmaster.domain.context import ParseContext
from custmaster.domain.errors import ChangeWarning, ValidationFailed
from custmaster.domain.events import CloudEvent
from custmaster.domain.permissions import Principal
from custmaster.domain.snapshot import diff, snapshot
from custmaster.services.customers.common import (
    change_warnings,
    check_references,
    check_version,
    load,
)
from custmaster.services.customers.create import CustomerResult, write_new
from custmaster.services.customers.lifecycle import (
    deactivate_customer,
    delete_customer,
    reactivate_customer,
)
from custmaster.services.customers.update import prepare_update, write_update
from custmaster.services.governance.access import (
    check_change_access,
    touched_entities,
    visible_customer,
    visible_snapshot,
)
from custmaster.services.ports import UnitOfWork
from custmaster.services.recording import record_change, utcnow
from custmaster.services.settings import ServiceSettings


@dataclass
class Outcome:
    """Either the change applied (``result``; ``None`` for a hard delete) or it waits
    for approval in ``request``."""

    applied: bool
    result: CustomerResult | None = None
    request: ChangeRequest | None = None
    warnings: list[ChangeWarning] = field(default_factory=list)


def applied(actor: Principal, result: CustomerResult | None) -> Outcome:
    """The change applied at once, showing ``actor`` only the overrides it may see."""
    if result is not None and actor.entities is not None:
        made = result.snapshot
        result = replace(
            result,
            customer=visible_customer(actor, result.customer),
            snapshot=None if made is None else visible_snapshot(actor, made),
        )
    return Outcome(True, result)


def pending(request: ChangeRequest) -> Outcome:
    """The change waits for approval in ``request`` (its warnings are the request's)."""
    warnings = [ChangeWarning(w.get("field"), w["code"], w["message"]) for w in request.warnings]
    return Outcome(False, request=request, warnings=warnings)


def request_event(request: ChangeRequest, operation: str) -> CloudEvent:
    return CloudEvent(
        id=uuid4(),
        type=f"custmaster.change_request.{operation}",
        subject=str(request.id),
        time=utcnow(),
        data=request.as_dict(),
    )


def open_request(
    uow: UnitOfWork,
    actor: Principal,
    policy: Policy,
    operation: Operation,
    *,
    customer_id: UUID | None,
    changes: list[dict[str, Any]],
    payload: dict[str, Any],
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    base_version: int | None,
    entities: frozenset[str],
    direct: bool,
    warnings: Callable[[], list[ChangeWarning]] | None = None,
) -> ChangeRequest | None:
    """The change request the policy asks for, or ``None`` when the change is green.
    ``warnings`` computes the change's warnings, stored on the request for its approvers
    (called only when a request is opened)."""
    field_changes = [FieldChange(c["field"], c["before"], c["after"]) for c in changes]
    decision = policy.evaluate(operation, field_changes, before, after, direct=direct)
    if not decision.needs_approval:
        return None
    # before the audit append below, which holds the chain's lock until the commit
    found = warnings() if warnings is not None else []
    proposed = {c["field"]: c["after"] for c in changes}
    if actor.via is not None:  # proposed by an agent acting for the submitter
        payload = {**payload, "submitted_via": actor.via}
    request = ChangeRequest.submit(
        operation=operation,
        customer_id=customer_id,
        submitter=actor,
        decision=decision,
        change=ProposedChange(
            payload={**payload, "proposed": proposed},
            fields=tuple(c["field"] for c in changes),
            base_version=base_version,
            base_values={c["field"]: c["before"] for c in changes},
        ),
        entities=entities,
        eligible_approvers=uow.users.active_principals(),
        warnings=[w.as_dict() for w in found],
    )
    uow.change_requests.add(request)
    record_change(
        uow,
        actor,
        operation="submit",
        resource_type="change_request",
        resource_id=str(request.id),
        changes=[{"field": "change_request", "before": None, "after": request.as_dict()}],
        event=request_event(request, "submitted"),
        change_request_id=request.id,
    )
    return request


def submit_create(
    uow: UnitOfWork,
    actor: Principal,
    policy: Policy,
    data: Mapping[str, Any],
    settings: ServiceSettings,
) -> Outcome:
    direct = require_submit(actor, Operation.CREATE)
    with uow:
        ctx = ParseContext()
        draft = new_customer(data, customer_id=uuid4(), number="", now=utcnow(), ctx=ctx)
        check_references(uow, ctx)
        if draft is None or ctx.errors:
            raise ValidationFailed(ctx.errors.errors)
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
        if request is None:
            # green: store what was validated above (no second parse)
            result = write_new(uow, actor, draft, settings, warnings=ctx.warnings, received=data)
            return applied(actor, result)
        return pending(request)


def submit_update(
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
    """An update (or, with ``operation=ERASE_PERSONAL_DATA``, an anonymising patch)."""
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
        if request is None:
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
        return pending(request)


_STATUS_CHANGES = {
    Operation.DEACTIVATE: ("status", "active", "inactive"),
    Operation.REACTIVATE: ("status", "inactive", "active"),
}


def submit_lifecycle(
    uow: UnitOfWork,
    actor: Principal,
    policy: Policy,
    operation: Operation,
    customer_id: UUID,
    *,
    expected_version: int | None = None,
) -> Outcome:
    """Deactivate, reactivate or hard delete under the policy."""
    direct = require_submit(actor, operation)
    with uow:
        current = load(uow, customer_id, for_update=True)
        check_version(current, expected_version)
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
            return Outcome(False, request=request)
        return applied(actor, apply_lifecycle(uow, actor, operation, customer_id, None, None))


def apply_lifecycle(
    uow: UnitOfWork,
    actor: Principal,
    operation: Operation,
    customer_id: UUID,
    expected_version: int | None,
    change_request_id: UUID | None,
) -> CustomerResult | None:
    if operation is Operation.DEACTIVATE:
        return deactivate_customer(
            uow,
            actor,
            customer_id,
            expected_version=expected_version,
            change_request_id=change_request_id,
        )
    if operation is Operation.REACTIVATE:
        return reactivate_customer(
            uow,
            actor,
            customer_id,
            expected_version=expected_version,
            change_request_id=change_request_id,
        )
    delete_customer(
        uow,
        actor,
        customer_id,
        expected_version=expected_version,
        change_request_id=change_request_id,
    )
    return None
