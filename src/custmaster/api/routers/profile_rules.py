"""Segment queries (``POST /customers/query``), saved segments, profile rules and a
customer's product affinity."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response

from custmaster.api.deps import ContainerDep, PrincipalDep, UowDep
from custmaster.api.http import json_response
from custmaster.api.schemas.common import problems
from custmaster.api.schemas.profile_rules import QueryIn, RulesIn, SegmentIn, SegmentPatch
from custmaster.services.governance.access import visible_request
from custmaster.services.profile import rules, segments
from custmaster.services.profile.affinity import customer_affinity

router = APIRouter(prefix="/api/v1", tags=["profile"])


@router.post(
    "/customers/query",
    responses=problems(),
    summary="Customers matching an expression (cursor pages and the total)",
)
def query(body: QueryIn, actor: PrincipalDep, uow: UowDep) -> Response:
    found = segments.query_customers(
        uow, actor, body.expression, entity=body.entity, limit=body.limit, cursor=body.cursor
    )
    return json_response(200, found)


@router.get(
    "/customers/{customer_id}/affinity",
    responses=problems(404),
    summary="Products the customer buys more than expected; products similar customers buy",
)
def affinity(customer_id: UUID, actor: PrincipalDep, uow: UowDep) -> Response:
    return json_response(200, customer_affinity(uow, actor, customer_id))


@router.get("/segments", responses=problems(), summary="Saved segments with live counts")
def list_segments(actor: PrincipalDep, uow: UowDep) -> Response:
    return json_response(200, {"items": segments.list_segments(uow, actor)})


@router.post("/segments", status_code=201, responses=problems(409), summary="Save a segment")
def create_segment(body: SegmentIn, actor: PrincipalDep, uow: UowDep) -> Response:
    data = segments.SegmentInput(body.name, body.expression, body.description, body.entity)
    return json_response(201, segments.create_segment(uow, actor, data))


@router.get("/segments/{segment_id}", responses=problems(404), summary="A saved segment")
def get_segment(segment_id: UUID, actor: PrincipalDep, uow: UowDep) -> Response:
    return json_response(200, segments.get_segment(uow, actor, segment_id))


@router.patch(
    "/segments/{segment_id}", responses=problems(404, 409), summary="Change a saved segment"
)
def update_segment(
    segment_id: UUID, body: SegmentPatch, actor: PrincipalDep, uow: UowDep
) -> Response:
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    for required in ("name", "expression"):
        if required in changes and changes[required] is None:
            del changes[required]
    return json_response(200, segments.update_segment(uow, actor, segment_id, changes))


@router.delete(
    "/segments/{segment_id}",
    status_code=204,
    responses=problems(404),
    summary="Delete a saved segment",
)
def delete_segment(segment_id: UUID, actor: PrincipalDep, uow: UowDep) -> Response:
    segments.delete_segment(uow, actor, segment_id)
    return Response(status_code=204)


@router.get(
    "/segments/{segment_id}/customers",
    responses=problems(404),
    summary="The customers of a saved segment",
)
def segment_customers(
    segment_id: UUID,
    actor: PrincipalDep,
    uow: UowDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Response:
    found = segments.segment_members(uow, actor, segment_id, limit=limit, cursor=cursor)
    return json_response(200, found)


@router.get("/profile-rules", responses=problems(), summary="Every version of the profile rules")
def list_rules(actor: PrincipalDep, uow: UowDep) -> Response:
    return json_response(200, {"items": rules.list_versions(uow, actor)})


@router.get(
    "/profile-rules/{version}", responses=problems(404), summary="One version of the profile rules"
)
def get_rules(
    version: Annotated[int, Path(ge=1, le=2**31 - 1)], actor: PrincipalDep, uow: UowDep
) -> Response:
    return json_response(200, rules.get_version(uow, actor, version))


_WAITS: dict[int | str, dict[str, Any]] = {202: {"description": "waits for approval"}}


@router.post(
    "/profile-rules",
    status_code=201,
    responses={**problems(409), **_WAITS},
    summary="Propose a new version of the profile rules (approval policy)",
)
def propose_rules(
    body: RulesIn, actor: PrincipalDep, uow: UowDep, container: ContainerDep
) -> Response:
    proposal = rules.propose(uow, actor, container.policy, body.definition)
    if proposal.request is not None:
        return json_response(202, {"change_request": visible_request(actor, proposal.request)})
    assert proposal.version is not None
    return json_response(201, rules.get_version(uow, actor, proposal.version))
