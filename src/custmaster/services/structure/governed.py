"""Structure changes under the approval policy.

:func:`submit` plans the change (validating it), checks who may submit it and for which
legal entities, and lets the policy choose the lane: green applies at once; otherwise a
change request opens that lists the change's effect. When its last step is approved,
:func:`apply_request` plans the change again on the structure as it is then: if the
structure it was planned on moved meanwhile (``base`` differs) the request is
conflicted; otherwise the effect is recomputed (a rebase) and the change applied.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar
from uuid import UUID

from custmaster.domain.approvals import (
    STRUCTURE_OPERATIONS,
    ChangeRequest,
    Operation,
    Policy,
    require_submit,
)
from custmaster.domain.approvals.rebase import same_value
from custmaster.domain.permissions import PermissionDenied, Principal
from custmaster.services.governance.approval_step import open_request
from custmaster.services.ports import UnitOfWork
from custmaster.services.structure import assignment_changes as assignments
from custmaster.services.structure import hierarchy_changes as hierarchies
from custmaster.services.structure import relationship_changes as relationships
from custmaster.services.structure.plans import Plan, Planner

T = TypeVar("T")

PLANNERS: Mapping[Operation, Planner] = {
    Operation.HIERARCHY_LINK: hierarchies.plan_link,
    Operation.HIERARCHY_MOVE: hierarchies.plan_move,
    Operation.HIERARCHY_END: hierarchies.plan_end,
    Operation.RELATIONSHIP_CREATE: relationships.plan_create,
    Operation.RELATIONSHIP_END: relationships.plan_end,
    Operation.ORG_UNIT_ASSIGNMENT: assignments.plan_org_unit,
    Operation.TEAM_ASSIGNMENT: assignments.plan_team,
}
assert set(PLANNERS) == STRUCTURE_OPERATIONS


@dataclass(frozen=True, slots=True)
class StructureOutcome(Generic[T]):
    """Either the change applied (``applied``, ``result``) or it waits in ``request``."""

    applied: bool
    result: T | None = None
    request: ChangeRequest | None = None


def entities_of(uow: UnitOfWork, customers: Iterable[UUID]) -> frozenset[str]:
    """The legal entities owning these customers (customers without one add none)."""
    briefs = uow.structure.briefs(customers)
    return frozenset(b.owning_entity for b in briefs.values() if b.owning_entity)


def check_scope(actor: Principal, entities: frozenset[str]) -> None:
    """A scoped principal changes the structure of its entities' customers only."""
    if actor.entities is None:
        return
    outside = sorted(entities - actor.entities)
    if outside:
        raise PermissionDenied(
            f"{actor.user_id} is scoped to {', '.join(sorted(actor.entities)) or 'no entity'} "
            f"and may not change the structure of customers owned by {', '.join(outside)}"
        )


def submit(
    uow: UnitOfWork,
    actor: Principal,
    policy: Policy,
    operation: Operation,
    action: Mapping[str, Any],
) -> StructureOutcome[Any]:
    """Submit one structure change (``action`` is JSON-able: it is stored with the request
    and planned again at approval)."""
    direct = require_submit(actor, operation)
    with uow:
        plan = PLANNERS[operation](uow, action)
        entities = entities_of(uow, (*plan.named, *plan.affected))
        check_scope(actor, entities)
        change = dict(plan.change)
        request = open_request(
            uow,
            actor,
            policy,
            operation,
            customer_id=plan.customer_id,
            changes=[change],
            payload={"action": dict(action), "base": dict(plan.base), "effect": dict(plan.effect)},
            before={"type": plan.type},
            after={"type": plan.type},
            base_version=None,
            entities=entities,
            direct=direct,
        )
        if request is not None:
            return StructureOutcome(False, request=request)
        return StructureOutcome(True, result=plan.apply(uow, actor, None))


def apply_request(uow: UnitOfWork, submitter: Principal, request: ChangeRequest) -> list[str]:
    """Plan the approved change again and apply it; returns the structure paths that moved
    meanwhile (then nothing is applied and the caller marks the request conflicted).

    A change that no longer validates raises the domain error (the caller marks the
    request conflicted with it)."""
    payload = request.change.payload
    plan: Plan[Any] = PLANNERS[request.operation](uow, payload["action"])
    base: Mapping[str, Any] = payload["base"]
    moved = [path for path, value in base.items() if not same_value(value, plan.base.get(path))]
    moved += [path for path in plan.base if path not in base]
    if moved:
        return moved
    request.change = replace(
        request.change,
        payload={**payload, "effect": dict(plan.effect), "submitted_effect": payload["effect"]},
    )
    plan.apply(uow, submitter, request.id)
    return []
