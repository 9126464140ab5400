"""Org units (sales organisation, region, territory, branch), assignments of customers
and users with dates and roles, and the effective account team of a customer."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Request, Response

from custmaster.api.deps import PrincipalDep, UowDep
from custmaster.api.http import decode_cursor
from custmaster.api.routers.structure_common import (
    GOVERNED,
    AsOf,
    Cursor,
    Limit,
    created,
    governed,
    made,
    no_content,
    ok,
    page,
)
from custmaster.api.schemas.common import Page, problems
from custmaster.api.schemas.structure import (
    AccountTeamOut,
    CustomerAssignmentIn,
    CustomerAssignmentOut,
    CustomerOrgAssignmentsOut,
    OrgUnitIn,
    OrgUnitOut,
    OrgUnitPatch,
    TeamAssignmentIn,
    TeamAssignmentOut,
    UnitAssignmentsOut,
)
from custmaster.domain.approvals import Operation
from custmaster.services.structure import org_units as o

router = APIRouter(prefix="/api/v1", tags=["org units and account teams"])
UnitCode = Annotated[str, Path(max_length=64)]


@router.post(
    "/org-units",
    status_code=201,
    response_model=OrgUnitOut,
    responses=problems(409),
    summary="Create an org unit (under a parent, or as a root)",
)
def create_unit(payload: OrgUnitIn, request: Request, actor: PrincipalDep, uow: UowDep) -> Response:
    return created(
        request,
        uow,
        actor,
        payload.model_dump(mode="json"),
        lambda: o.create_unit(uow, actor, **payload.model_dump()),
        lambda unit: f"/api/v1/org-units/{unit['code']}",
    )


@router.get(
    "/org-units",
    response_model=Page[OrgUnitOut],
    responses=problems(),
    summary="List org units with their paths",
)
def list_units(
    actor: PrincipalDep, uow: UowDep, cursor: Cursor = None, limit: Limit = 100
) -> Response:
    units = o.list_units(uow, actor, after=decode_cursor(cursor), limit=limit)
    return page(units, "code", limit)


@router.get(
    "/org-units/{code}",
    response_model=OrgUnitOut,
    responses=problems(404),
    summary="Read an org unit",
)
def read_unit(code: UnitCode, actor: PrincipalDep, uow: UowDep) -> Response:
    return ok(o.get_unit(uow, actor, code))


@router.patch(
    "/org-units/{code}",
    response_model=OrgUnitOut,
    responses=problems(404),
    summary="Rename an org unit, change its kind or move it under another parent",
)
def update_unit(
    code: UnitCode, payload: OrgUnitPatch, actor: PrincipalDep, uow: UowDep
) -> Response:
    return ok(o.update_unit(uow, actor, code, payload.model_dump(exclude_unset=True)))


@router.delete(
    "/org-units/{code}",
    status_code=204,
    responses=problems(404, 409),
    summary="Delete an org unit without children or assignments",
)
def delete_unit(code: UnitCode, actor: PrincipalDep, uow: UowDep) -> Response:
    o.delete_unit(uow, actor, code)
    return no_content()


@router.post(
    "/org-units/{code}/customers",
    status_code=201,
    response_model=CustomerAssignmentOut,
    responses={**problems(403, 404), **GOVERNED},
    summary="Assign a customer to the org unit for a period (approval policy: org_unit_assignment)",
)
def assign_customer(
    code: UnitCode,
    payload: CustomerAssignmentIn,
    request: Request,
    actor: PrincipalDep,
    uow: UowDep,
) -> Response:
    return governed(
        request,
        uow,
        actor,
        Operation.ORG_UNIT_ASSIGNMENT,
        {"org_unit": code, **payload.model_dump(mode="json")},
        made(201, lambda a: f"/api/v1/org-unit-assignments/{a['id']}", o.customer_assignment_dict),
    )


@router.get(
    "/org-units/{code}/assignments",
    response_model=UnitAssignmentsOut,
    responses=problems(404),
    summary="The customers and users assigned to the org unit",
)
def unit_assignments(code: UnitCode, actor: PrincipalDep, uow: UowDep) -> Response:
    return ok(o.unit_assignments(uow, actor, code))


@router.delete(
    "/org-unit-assignments/{assignment_id}",
    status_code=204,
    responses={**problems(403, 404), **GOVERNED},
    summary="Remove a customer's org unit assignment (approval policy: org_unit_assignment)",
)
def delete_customer_assignment(
    assignment_id: UUID, request: Request, actor: PrincipalDep, uow: UowDep
) -> Response:
    action = {"assignment_id": str(assignment_id), "delete": True}
    return governed(request, uow, actor, Operation.ORG_UNIT_ASSIGNMENT, action, made(204))


@router.post(
    "/team-assignments",
    status_code=201,
    response_model=TeamAssignmentOut,
    responses={**problems(403), **GOVERNED},
    summary="Assign a user in a role to a customer (direct) or to an org unit, for a period "
    "(approval policy: team_assignment)",
)
def assign_user(
    payload: TeamAssignmentIn, request: Request, actor: PrincipalDep, uow: UowDep
) -> Response:
    return governed(
        request,
        uow,
        actor,
        Operation.TEAM_ASSIGNMENT,
        payload.model_dump(mode="json"),
        made(201, lambda a: f"/api/v1/team-assignments/{a['id']}", o.team_assignment_dict),
    )


@router.delete(
    "/team-assignments/{assignment_id}",
    status_code=204,
    responses={**problems(403, 404), **GOVERNED},
    summary="Remove a user's team assignment (approval policy: team_assignment)",
)
def delete_team_assignment(
    assignment_id: UUID, request: Request, actor: PrincipalDep, uow: UowDep
) -> Response:
    action = {"assignment_id": str(assignment_id), "delete": True}
    return governed(request, uow, actor, Operation.TEAM_ASSIGNMENT, action, made(204))


@router.get(
    "/customers/{customer_id}/org-assignments",
    response_model=CustomerOrgAssignmentsOut,
    responses=problems(404),
    summary="The customer's org units and direct team assignments",
)
def customer_assignments(customer_id: UUID, actor: PrincipalDep, uow: UowDep) -> Response:
    return ok(o.customer_org_assignments(uow, actor, customer_id))


@router.get(
    "/customers/{customer_id}/account-team",
    response_model=AccountTeamOut,
    responses=problems(404),
    summary="The effective account team as of a date, from direct and org unit assignments",
)
def account_team(
    customer_id: UUID, actor: PrincipalDep, uow: UowDep, as_of: AsOf = None
) -> Response:
    return ok(o.account_team(uow, actor, customer_id, as_of=as_of))
