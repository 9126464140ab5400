"""Account structure: typed customer hierarchies (links, moves, reads as of a date, the
flattened hierarchy, roll-up). ``install`` adds every account-structure router."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, FastAPI, Path, Query, Request, Response

from custmaster.api.deps import PrincipalDep, UowDep
from custmaster.api.http import decode_cursor, encode_cursor
from custmaster.api.routers import (
    structure_accounts,
    structure_org,
    structure_reference,
    structure_relationships,
)
from custmaster.api.routers.structure_common import (
    GOVERNED,
    AsOf,
    Cursor,
    Limit,
    governed,
    made,
    ok,
)
from custmaster.api.schemas.common import Page, problems
from custmaster.api.schemas.structure import (
    EndIn,
    FlatRowOut,
    HierarchyOut,
    LinkIn,
    LinkOut,
    MoveIn,
    MoveOut,
    RollupOut,
)
from custmaster.domain.approvals import Operation
from custmaster.domain.errors import FieldError, ValidationFailed
from custmaster.services.structure import hierarchies as h
from custmaster.services.structure.common import DEFAULT_SETTINGS

router = APIRouter(prefix="/api/v1", tags=["hierarchies"])
HierarchyType = Annotated[
    str, Path(max_length=32, description="legal (corporate) or sales (trade)")
]


@router.get(
    "/hierarchy-types",
    response_model=list[str],
    responses=problems(),
    summary="The hierarchy types",
)
def hierarchy_types(actor: PrincipalDep) -> Response:
    return ok(sorted(DEFAULT_SETTINGS.hierarchy_types))


@router.post(
    "/hierarchies/{hierarchy_type}/links",
    status_code=201,
    response_model=LinkOut,
    responses={**problems(403), **GOVERNED},
    summary="Link a child customer under a parent for a period (approval policy: hierarchy_link)",
)
def add_link(
    hierarchy_type: HierarchyType,
    payload: LinkIn,
    request: Request,
    actor: PrincipalDep,
    uow: UowDep,
) -> Response:
    action = {"hierarchy_type": hierarchy_type, **payload.model_dump(mode="json")}
    return governed(
        request,
        uow,
        actor,
        Operation.HIERARCHY_LINK,
        action,
        made(
            201,
            lambda link: f"/api/v1/hierarchies/{hierarchy_type}/links/{link['id']}",
            h.link_dict,
        ),
    )


@router.post(
    "/hierarchies/{hierarchy_type}/links/{link_id}/end",
    response_model=LinkOut,
    responses={**problems(403, 404), **GOVERNED},
    summary="End a link on a date (exclusive; approval policy: hierarchy_end)",
)
def end_link(
    hierarchy_type: HierarchyType,
    link_id: UUID,
    payload: EndIn,
    request: Request,
    actor: PrincipalDep,
    uow: UowDep,
) -> Response:
    action = {
        "hierarchy_type": hierarchy_type,
        "link_id": str(link_id),
        "valid_to": payload.valid_to.isoformat(),
    }
    return governed(
        request, uow, actor, Operation.HIERARCHY_END, action, made(200, None, h.link_dict)
    )


@router.delete(
    "/hierarchies/{hierarchy_type}/links/{link_id}",
    status_code=204,
    responses={**problems(403, 404), **GOVERNED},
    summary="Remove a link (a correction; to end one from a date, end it or move the child; "
    "approval policy: hierarchy_end)",
)
def delete_link(
    hierarchy_type: HierarchyType,
    link_id: UUID,
    request: Request,
    actor: PrincipalDep,
    uow: UowDep,
) -> Response:
    action = {"hierarchy_type": hierarchy_type, "link_id": str(link_id), "valid_to": None}
    return governed(request, uow, actor, Operation.HIERARCHY_END, action, made(204))


@router.get(
    "/hierarchies/{hierarchy_type}/flat",
    response_model=Page[FlatRowOut],
    responses=problems(404),
    summary="The flattened hierarchy as of a date: each node's root, parent, level and path",
)
def flat(
    hierarchy_type: HierarchyType,
    actor: PrincipalDep,
    uow: UowDep,
    as_of: AsOf = None,
    root: Annotated[UUID | None, Query(description="only this customer's subtree")] = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Response:
    offset = _offset(decode_cursor(cursor))
    items, more = h.flatten(
        uow, actor, hierarchy_type, as_of=as_of, root=root, offset=offset, limit=limit
    )
    return ok({"items": items, "next_cursor": encode_cursor(str(offset + limit)) if more else None})


def _offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if not cursor.isdigit() or len(cursor) > 12:
        raise ValidationFailed(
            [FieldError("cursor", "invalid_cursor", "is not a cursor this API returned")]
        )
    return int(cursor)


@router.get(
    "/customers/{customer_id}/hierarchies/{hierarchy_type}",
    response_model=HierarchyOut,
    responses=problems(404),
    summary="The customer's tree, subtree, ancestors or descendants as of a date",
)
def read(
    customer_id: UUID,
    hierarchy_type: HierarchyType,
    actor: PrincipalDep,
    uow: UowDep,
    as_of: AsOf = None,
    view: Annotated[
        Literal["tree", "subtree", "ancestors", "descendants"],
        Query(description="tree: the whole tree from the customer's root"),
    ] = "tree",
) -> Response:
    return ok(h.read_hierarchy(uow, actor, hierarchy_type, customer_id, view=view, as_of=as_of))


@router.get(
    "/customers/{customer_id}/hierarchies/{hierarchy_type}/links",
    response_model=list[LinkOut],
    responses=problems(404),
    summary="Every link of the customer in the hierarchy, over time",
)
def customer_links(
    customer_id: UUID, hierarchy_type: HierarchyType, actor: PrincipalDep, uow: UowDep
) -> Response:
    links = h.customer_links(uow, actor, hierarchy_type, customer_id)
    return ok([h.link_dict(s) for s in links])


@router.post(
    "/customers/{customer_id}/hierarchies/{hierarchy_type}/move",
    response_model=MoveOut,
    responses={**problems(403, 404), **GOVERNED},
    summary="Move the customer and its subtree under a new parent from an effective date "
    "(approval policy: hierarchy_move)",
)
def move(
    customer_id: UUID,
    hierarchy_type: HierarchyType,
    payload: MoveIn,
    request: Request,
    actor: PrincipalDep,
    uow: UowDep,
) -> Response:
    action = {
        "hierarchy_type": hierarchy_type,
        "customer_id": str(customer_id),
        **payload.model_dump(mode="json"),
    }
    return governed(
        request, uow, actor, Operation.HIERARCHY_MOVE, action, made(200, None, h.move_dict)
    )


@router.get(
    "/customers/{customer_id}/rollup",
    response_model=RollupOut,
    responses=problems(404),
    summary="A figure of the customer summed over its subtree as of a date "
    "(credit_limit today; order and revenue figures once the activity profile exists)",
)
def rollup(
    customer_id: UUID,
    actor: PrincipalDep,
    uow: UowDep,
    as_of: AsOf = None,
    figure: Annotated[Literal["credit_limit"], Query()] = "credit_limit",
    hierarchy: Annotated[str, Query(max_length=32)] = "legal",
) -> Response:
    return ok(
        h.rollup(uow, actor, customer_id, hierarchy_type=hierarchy, figure=figure, as_of=as_of)
    )


def install(app: FastAPI) -> None:
    """Add every account-structure router to the application."""
    app.include_router(router)
    app.include_router(structure_relationships.router)
    app.include_router(structure_org.router)
    app.include_router(structure_reference.router)
    app.include_router(structure_accounts.router)
