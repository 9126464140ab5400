"""Relationships between customers (bill_to, ship_to, payer, ... and user-defined types)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request, Response

from custmaster.api.deps import PrincipalDep, UowDep
from custmaster.api.routers.structure_common import (
    GOVERNED,
    AsOf,
    created,
    governed,
    made,
    no_content,
    ok,
)
from custmaster.api.schemas.common import problems
from custmaster.api.schemas.structure import (
    EndIn,
    RelationshipIn,
    RelationshipOut,
    RelationshipTypeIn,
    RelationshipTypeOut,
)
from custmaster.domain.approvals import Operation
from custmaster.services.structure import relationships as r

router = APIRouter(prefix="/api/v1", tags=["relationships"])
TypeCode = Annotated[str, Path(max_length=50)]


@router.get(
    "/relationship-types",
    response_model=list[RelationshipTypeOut],
    responses=problems(),
    summary="The relationship types: built-in, then user-defined",
)
def list_types(actor: PrincipalDep, uow: UowDep) -> Response:
    return ok([r.type_dict(t) for t in r.list_types(uow, actor)])


@router.post(
    "/relationship-types",
    status_code=201,
    response_model=RelationshipTypeOut,
    responses=problems(409),
    summary="Register a user-defined relationship type",
)
def create_type(
    payload: RelationshipTypeIn, request: Request, actor: PrincipalDep, uow: UowDep
) -> Response:
    return created(
        request,
        uow,
        actor,
        payload.model_dump(mode="json"),
        lambda: r.type_dict(r.create_type(uow, actor, payload.code, payload.name)),
        lambda t: f"/api/v1/relationship-types/{t['code']}",
    )


@router.delete(
    "/relationship-types/{code}",
    status_code=204,
    responses=problems(404, 409),
    summary="Delete a user-defined relationship type that no relationship uses",
)
def delete_type(code: TypeCode, actor: PrincipalDep, uow: UowDep) -> Response:
    r.delete_type(uow, actor, code)
    return no_content()


@router.post(
    "/relationships",
    status_code=201,
    response_model=RelationshipOut,
    responses={**problems(403), **GOVERNED},
    summary="Relate two customers for a period (at most one primary of a type at a time; "
    "approval policy: relationship_create)",
)
def create(payload: RelationshipIn, request: Request, actor: PrincipalDep, uow: UowDep) -> Response:
    return governed(
        request,
        uow,
        actor,
        Operation.RELATIONSHIP_CREATE,
        payload.model_dump(mode="json"),
        made(201, lambda rel: f"/api/v1/relationships/{rel['id']}", r.relationship_dict),
    )


@router.get(
    "/relationships/{relationship_id}",
    response_model=RelationshipOut,
    responses=problems(404),
    summary="Read a relationship",
)
def read(relationship_id: UUID, actor: PrincipalDep, uow: UowDep) -> Response:
    return ok(r.relationship_dict(r.get_relationship(uow, actor, relationship_id)))


@router.post(
    "/relationships/{relationship_id}/end",
    response_model=RelationshipOut,
    responses={**problems(403, 404), **GOVERNED},
    summary="End a relationship on a date (exclusive; approval policy: relationship_end)",
)
def end(
    relationship_id: UUID, payload: EndIn, request: Request, actor: PrincipalDep, uow: UowDep
) -> Response:
    action = {"relationship_id": str(relationship_id), "valid_to": payload.valid_to.isoformat()}
    return governed(
        request,
        uow,
        actor,
        Operation.RELATIONSHIP_END,
        action,
        made(200, None, r.relationship_dict),
    )


@router.delete(
    "/relationships/{relationship_id}",
    status_code=204,
    responses={**problems(403, 404), **GOVERNED},
    summary="Delete a relationship (a correction; to stop one from a date, end it; "
    "approval policy: relationship_end)",
)
def delete(relationship_id: UUID, request: Request, actor: PrincipalDep, uow: UowDep) -> Response:
    action = {"relationship_id": str(relationship_id), "valid_to": None}
    return governed(request, uow, actor, Operation.RELATIONSHIP_END, action, made(204))


@router.get(
    "/customers/{customer_id}/relationships",
    response_model=list[RelationshipOut],
    responses=problems(404),
    summary="The customer's relationships: every period, or those active on ?as_of=",
)
def of_customer(
    customer_id: UUID,
    actor: PrincipalDep,
    uow: UowDep,
    as_of: AsOf = None,
    relationship_type: Annotated[str | None, Query(alias="type", max_length=50)] = None,
    direction: Annotated[
        Literal["outgoing", "incoming"],
        Query(description="incoming: where the customer is the related one"),
    ] = "outgoing",
) -> Response:
    found = r.customer_relationships(
        uow,
        actor,
        customer_id,
        as_of=as_of,
        relationship_type=relationship_type,
        incoming=direction == "incoming",
    )
    return ok(found)
