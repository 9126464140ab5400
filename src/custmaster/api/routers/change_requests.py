"""/api/v1/change-requests: list (by status, waiting for me), read, approve, reject,
withdraw."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from custmaster.api.deps import ContainerDep, PrincipalDep, UowDep
from custmaster.api.http import MAX_LIMIT, decode_cursor, encode_cursor, json_response
from custmaster.api.schemas.change_requests import ApproveIn, ChangeRequestOut, RejectIn
from custmaster.api.schemas.common import Page, problems
from custmaster.domain.approvals import ChangeRequest, RequestStatus
from custmaster.domain.errors import FieldError, ValidationFailed
from custmaster.domain.permissions import Principal
from custmaster.services.governance.access import visible_request
from custmaster.services.governance.decide import (
    approve,
    get_request,
    list_requests,
    reject,
    withdraw,
)

router = APIRouter(prefix="/api/v1/change-requests", tags=["change requests"])


def _one(request: ChangeRequest, actor: Principal) -> Response:
    return json_response(200, visible_request(actor, request))


def _after(cursor: str | None) -> tuple[datetime, UUID] | None:
    decoded = decode_cursor(cursor)
    if decoded is None:
        return None
    created, _, request_id = decoded.partition("|")
    try:
        return datetime.fromisoformat(created), UUID(request_id)
    except ValueError:
        raise ValidationFailed(
            [FieldError("cursor", "invalid_cursor", "is not a cursor this API returned")]
        ) from None


@router.get(
    "",
    response_model=Page[ChangeRequestOut],
    responses=problems(),
    summary="Change requests, oldest first",
)
def list_all(
    actor: PrincipalDep,
    uow: UowDep,
    status: Annotated[list[RequestStatus] | None, Query()] = None,
    waiting_for_me: Annotated[
        bool, Query(description="pending requests whose current step I may decide")
    ] = False,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> Response:
    found = list_requests(
        uow,
        actor,
        statuses=[s.value for s in status] if status else None,
        waiting_for_me=waiting_for_me,
        after=_after(cursor),
        limit=limit,
    )
    next_cursor = None
    if len(found) == limit:
        next_cursor = encode_cursor(f"{found[-1].created_at.isoformat()}|{found[-1].id}")
    return json_response(
        200, {"items": [visible_request(actor, r) for r in found], "next_cursor": next_cursor}
    )


@router.get("/{request_id}", response_model=ChangeRequestOut, responses=problems(404))
def read(request_id: UUID, actor: PrincipalDep, uow: UowDep) -> Response:
    return _one(get_request(uow, actor, request_id), actor)


@router.post(
    "/{request_id}/approve",
    response_model=ChangeRequestOut,
    responses=problems(404, 409),
    summary="Approve the current step; the last approval applies the change",
)
def approve_step(
    request_id: UUID,
    body: ApproveIn,
    container: ContainerDep,
    actor: PrincipalDep,
    uow: UowDep,
) -> Response:
    return _one(
        approve(uow, actor, request_id, container.service_settings, comment=body.comment), actor
    )


@router.post("/{request_id}/reject", response_model=ChangeRequestOut, responses=problems(404, 409))
def reject_step(request_id: UUID, body: RejectIn, actor: PrincipalDep, uow: UowDep) -> Response:
    return _one(reject(uow, actor, request_id, body.reason), actor)


@router.post(
    "/{request_id}/withdraw",
    response_model=ChangeRequestOut,
    responses=problems(404, 409),
    summary="Withdraw (the submitter only)",
)
def withdraw_request(request_id: UUID, actor: PrincipalDep, uow: UowDep) -> Response:
    return _one(withdraw(uow, actor, request_id), actor)
