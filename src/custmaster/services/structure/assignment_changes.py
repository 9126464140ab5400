"""Org-unit and account-team assignments under the approval policy: assign, or remove an
assignment (``{"assignment_id", "delete": true}``). Their policy type is the org unit's
kind (org-unit assignments) or the team role (team assignments)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID, uuid4

from custmaster.domain.approvals import Operation
from custmaster.domain.errors import FieldError, NotFound, ValidationFailed
from custmaster.domain.org_units import CustomerAssignment, OrgStructure, TeamAssignment
from custmaster.domain.permissions import Principal
from custmaster.domain.snapshot import jsonable
from custmaster.services.ports import UnitOfWork
from custmaster.services.recording import utcnow
from custmaster.services.structure.common import brief_dict, check_customers, record
from custmaster.services.structure.org_units import (
    LOCK,
    customer_assignment_dict,
    structure_of,
    team_assignment_dict,
)
from custmaster.services.structure.plans import (
    Plan,
    date_of,
    required_date,
    required_uuid,
    uuid_of,
)
from custmaster.services.structure.ports import StoredCustomerAssignment, StoredTeamAssignment


def _customer_base(uow: UnitOfWork, customer_id: UUID) -> dict[str, Any]:
    rows = [
        jsonable(customer_assignment_dict(s))
        for s in uow.structure.customer_assignments(customer_id=customer_id)
    ]
    return {f"org_units.{customer_id}": sorted(rows, key=lambda r: r["id"])}


def _customer_id(stored: StoredCustomerAssignment) -> UUID:
    customer_id = stored.assignment.customer_id
    assert isinstance(customer_id, UUID)
    return customer_id


def plan_org_unit(
    uow: UnitOfWork, action: Mapping[str, Any]
) -> Plan[StoredCustomerAssignment | None]:
    """``{"org_unit", "customer_id", "valid_from", "valid_to"}`` or
    ``{"assignment_id", "delete": true}``."""
    uow.structure.lock(LOCK)
    if action.get("delete"):
        return _remove_org_unit(uow, required_uuid(action, "assignment_id"))
    code = str(action.get("org_unit"))
    customer_id = required_uuid(action, "customer_id")
    valid_from = required_date(action, "valid_from")
    valid_to = date_of(action, "valid_to", optional=True)
    check_customers(uow, {"customer_id": customer_id})
    structure = structure_of(uow, customer_id)
    unit = structure.unit(code)
    assignment = CustomerAssignment(customer_id, code, valid_from, valid_to)
    structure.assign_customer(assignment)
    brief = uow.structure.briefs([customer_id]).get(customer_id)

    def apply(
        uow: UnitOfWork, actor: Principal, request_id: UUID | None
    ) -> StoredCustomerAssignment:
        stored = StoredCustomerAssignment(uuid4(), assignment)
        uow.structure.add_customer_assignment(stored, utcnow())
        record(
            uow,
            actor,
            resource_type="org_unit_assignment",
            resource_id=str(stored.id),
            operation="create",
            before=None,
            after=customer_assignment_dict(stored),
            subject=str(customer_id),
            change_request_id=request_id,
        )
        return stored

    units = [str(u) for u in structure.units_of(customer_id, valid_from)]
    return Plan(
        Operation.ORG_UNIT_ASSIGNMENT,
        str(unit.kind),
        customer_id,
        {"field": f"org_units.{customer_id}", "before": None, "after": code},
        _customer_base(uow, customer_id),
        {
            "customer": brief_dict(brief, customer_id),
            "org_unit": code,
            "kind": unit.kind,
            "as_of": valid_from.isoformat(),
            "org_units_after": units,
        },
        apply,
        named=(customer_id,),
    )


def _remove_org_unit(uow: UnitOfWork, assignment_id: UUID) -> Plan[StoredCustomerAssignment | None]:
    found = [s for s in uow.structure.customer_assignments() if s.id == assignment_id]
    if not found:
        raise NotFound(f"no org unit assignment {assignment_id}")
    stored = found[0]
    customer_id = _customer_id(stored)
    unit = OrgStructure()
    unit.add_units(uow.structure.org_units())
    kind = unit.unit(stored.assignment.org_unit_id).kind
    brief = uow.structure.briefs([customer_id]).get(customer_id)

    def apply(uow: UnitOfWork, actor: Principal, request_id: UUID | None) -> None:
        uow.structure.delete_customer_assignment(assignment_id)
        record(
            uow,
            actor,
            resource_type="org_unit_assignment",
            resource_id=str(assignment_id),
            operation="delete",
            before=customer_assignment_dict(stored),
            after=None,
            subject=str(customer_id),
            change_request_id=request_id,
        )
        return None

    return Plan(
        Operation.ORG_UNIT_ASSIGNMENT,
        str(kind),
        customer_id,
        {
            "field": f"org_units.{customer_id}",
            "before": str(stored.assignment.org_unit_id),
            "after": None,
        },
        _customer_base(uow, customer_id),
        {
            "customer": brief_dict(brief, customer_id),
            "removes": jsonable(customer_assignment_dict(stored)),
        },
        apply,
        named=(customer_id,),
    )


def _team_base(uow: UnitOfWork, customer_id: UUID | None, org_unit: str | None) -> dict[str, Any]:
    rows = [
        jsonable(team_assignment_dict(s))
        for s in uow.structure.team_assignments(customer_id=customer_id, org_unit=org_unit)
    ]
    return {f"team.{customer_id or org_unit}": sorted(rows, key=lambda r: r["id"])}


def plan_team(uow: UnitOfWork, action: Mapping[str, Any]) -> Plan[StoredTeamAssignment | None]:
    """``{"user_id", "role", "valid_from", "valid_to", "customer_id" | "org_unit"}`` or
    ``{"assignment_id", "delete": true}``."""
    uow.structure.lock(LOCK)
    if action.get("delete"):
        return _remove_team(uow, required_uuid(action, "assignment_id"))
    customer_id = uuid_of(action, "customer_id", optional=True)
    org_unit = action.get("org_unit")
    role = str(action.get("role"))
    user_id = str(action.get("user_id"))
    if uow.users.get(user_id) is None:
        raise ValidationFailed(
            [FieldError("user_id", "unknown_reference", f"no user '{user_id}' exists")]
        )
    if customer_id is not None:
        check_customers(uow, {"customer_id": customer_id})
    structure = OrgStructure()
    structure.add_units(uow.structure.org_units())
    if customer_id is not None or org_unit is not None:
        for st in uow.structure.team_assignments(customer_id=customer_id, org_unit=org_unit):
            structure.assign_user(st.assignment)
    assignment = TeamAssignment(
        user_id,
        role,
        required_date(action, "valid_from"),
        date_of(action, "valid_to", optional=True),
        customer_id=customer_id,
        org_unit_id=org_unit,
    )
    structure.assign_user(assignment)
    target = str(customer_id or org_unit)

    def apply(uow: UnitOfWork, actor: Principal, request_id: UUID | None) -> StoredTeamAssignment:
        stored = StoredTeamAssignment(uuid4(), assignment)
        uow.structure.add_team_assignment(stored, utcnow())
        record(
            uow,
            actor,
            resource_type="team_assignment",
            resource_id=str(stored.id),
            operation="create",
            before=None,
            after=team_assignment_dict(stored),
            subject=target,
            change_request_id=request_id,
        )
        return stored

    return Plan(
        Operation.TEAM_ASSIGNMENT,
        role,
        customer_id,
        {"field": f"team.{target}.{role}", "before": None, "after": assignment.user_id},
        _team_base(uow, customer_id, org_unit),
        {
            "target": target,
            "user_id": assignment.user_id,
            "role": role,
            "as_of": assignment.valid_from.isoformat(),
        },
        apply,
        named=(customer_id,) if customer_id else (),
    )


def _remove_team(uow: UnitOfWork, assignment_id: UUID) -> Plan[StoredTeamAssignment | None]:
    found = [s for s in uow.structure.team_assignments() if s.id == assignment_id]
    if not found:
        raise NotFound(f"no team assignment {assignment_id}")
    stored = found[0]
    a = stored.assignment
    customer_id = a.customer_id if isinstance(a.customer_id, UUID) else None
    org_unit = None if a.org_unit_id is None else str(a.org_unit_id)
    target = str(customer_id or org_unit)

    def apply(uow: UnitOfWork, actor: Principal, request_id: UUID | None) -> None:
        uow.structure.delete_team_assignment(assignment_id)
        record(
            uow,
            actor,
            resource_type="team_assignment",
            resource_id=str(assignment_id),
            operation="delete",
            before=team_assignment_dict(stored),
            after=None,
            subject=target,
            change_request_id=request_id,
        )
        return None

    return Plan(
        Operation.TEAM_ASSIGNMENT,
        a.role,
        customer_id,
        {"field": f"team.{target}.{a.role}", "before": str(a.user_id), "after": None},
        _team_base(uow, customer_id, org_unit),
        {"target": target, "removes": jsonable(team_assignment_dict(stored))},
        apply,
        named=(customer_id,) if customer_id else (),
    )
