"""The approval step: the one place that decides whether a change applies at once (green)
or waits for people (a change request), and opens that request.

Every use case under the approval policy calls :func:`open_request` once, between its
opening (load, scope, version check, validation) and its write step: the customer use
cases (``services/customers/create.py``, ``update.py``, ``lifecycle.py``), merges and
unmerges (``governance/merges.py``), structure changes (``structure/governed.py``) and
profile rules (``profile/rules.py``). ``None`` means green: the use case applies the
change itself. When the last approval lands, ``governance/decide.py`` applies the request
with the same write step the green path uses."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from uuid import UUID, uuid4

from custmaster.domain.approvals import (
    ChangeRequest,
    FieldChange,
    Operation,
    Policy,
    ProposedChange,
)
from custmaster.domain.errors import ChangeWarning
from custmaster.domain.events import CloudEvent
from custmaster.domain.permissions import Principal
from custmaster.services.ports import UnitOfWork
from custmaster.services.recording import record_change, utcnow


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
    ``direct``: whether ``actor`` may apply a green change itself
    (``domain.approvals.require_submit``); a propose-only actor's green change still
    opens a request. ``warnings`` computes the change's warnings, stored on the request
    for its approvers (called only when a request is opened)."""
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
