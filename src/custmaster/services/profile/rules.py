"""Profile rules through the API: read the versions, propose a new one.

A proposal is parsed and type-checked at once (a rule that does not type-check is
refused with its field path and position), then goes through the approval policy as the
operation ``profile_rules_change`` (the shipped policy: yellow, one data steward other
than the submitter). The approval applies it (:func:`apply_request`): the new version is
stored and becomes the active one, audited and announced in the outbox. A request whose
base version is no longer the active one is conflicted (someone else's version landed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

from custmaster.domain.approvals import ChangeRequest, Operation, Policy, require_submit
from custmaster.domain.errors import NotFound
from custmaster.domain.events import CloudEvent
from custmaster.domain.permissions import Permission, PermissionDenied, Principal, require
from custmaster.domain.profile_rules import parse_rule_set
from custmaster.services.governance.approval_step import open_request
from custmaster.services.ports import UnitOfWork
from custmaster.services.profile.active_rules import DEFAULT, active
from custmaster.services.profile.rule_ports import StoredRuleSet
from custmaster.services.recording import record_change, utcnow


def render(stored: StoredRuleSet, active_version: int) -> dict[str, Any]:
    return {
        "version": stored.version,
        "active": stored.version == active_version,
        "created_by": stored.created_by,
        "created_at": stored.created_at.isoformat(),
        "change_request_id": str(stored.change_request_id) if stored.change_request_id else None,
        "definition": dict(stored.definition),
    }


def list_versions(uow: UnitOfWork, actor: Principal) -> list[dict[str, Any]]:
    require(actor, Permission.CUSTOMER_READ)
    with uow.read_only():
        current = active(uow)
        stored = uow.profile_rules.versions() or [current]
    return [render(s, current.version) for s in stored]


def get_version(uow: UnitOfWork, actor: Principal, version: int | None) -> dict[str, Any]:
    """One version (``None``: the active one)."""
    require(actor, Permission.CUSTOMER_READ)
    with uow.read_only():
        current = active(uow)
        found = (
            current
            if version in (None, current.version)
            else (uow.profile_rules.get(version) if version is not None else None)
        )
    if found is None:
        raise NotFound(f"no profile rules version {version}")
    return render(found, current.version)


@dataclass(frozen=True, slots=True)
class Proposal:
    """Either the new version applied at once (``version``) or it waits in ``request``."""

    version: int | None = None
    request: ChangeRequest | None = None


def propose(
    uow: UnitOfWork, actor: Principal, policy: Policy, definition: Mapping[str, Any]
) -> Proposal:
    """Propose ``definition`` as the next version of the profile rules."""
    direct = require_submit(actor, Operation.PROFILE_RULES_CHANGE)
    if actor.entities is not None:
        raise PermissionDenied(
            f"{actor.user_id} is scoped to legal entities; profile rules apply to all of them"
        )
    parse_rule_set(definition)  # refused here, with positions, when it does not check
    with uow:
        base = active(uow).version
        change = {"field": "profile_rules", "before": base, "after": base + 1}
        request = open_request(
            uow,
            actor,
            policy,
            Operation.PROFILE_RULES_CHANGE,
            customer_id=None,
            changes=[change],
            payload={"definition": dict(definition), "base_version": base},
            before={"version": base},
            after={"version": base + 1},
            base_version=base,
            entities=frozenset(),
            direct=direct,
        )
        if request is not None:
            return Proposal(request=request)
        return Proposal(version=_store(uow, actor, dict(definition), base, None))


def _store(
    uow: UnitOfWork,
    actor: Principal,
    definition: dict[str, Any],
    base: int,
    request: ChangeRequest | None,
) -> int:
    parse_rule_set(definition)
    version = base + 1
    at = utcnow()
    if base == DEFAULT.version and uow.profile_rules.get(base) is None:
        uow.profile_rules.add(DEFAULT)  # the shipped rules were never stored (emptied)
    uow.profile_rules.add(
        StoredRuleSet(version, definition, actor.user_id, at, request.id if request else None)
    )
    record_change(
        uow,
        actor,
        operation="activate",
        resource_type="profile_rules",
        resource_id=str(version),
        changes=[{"field": "profile_rules", "before": base, "after": version}],
        event=CloudEvent(
            id=uuid4(),
            type="custmaster.profile_rules.activated",
            subject=str(version),
            time=at,
            data={
                "version": version,
                "previous": base,
                "change_request_id": str(request.id) if request else None,
            },
        ),
        change_request_id=request.id if request else None,
    )
    return version


def apply_request(uow: UnitOfWork, submitter: Principal, request: ChangeRequest) -> list[str]:
    """Store the approved version; returns ``["profile_rules"]`` (nothing applied) when
    another version became active since the proposal."""
    payload = request.change.payload
    if active(uow).version != payload["base_version"]:
        return ["profile_rules"]
    _store(uow, submitter, dict(payload["definition"]), payload["base_version"], request)
    return []
