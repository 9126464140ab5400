"""/api/v1/events: the pull change feed (CloudEvents 1.0) for integrations."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from custmaster.api.deps import PrincipalDep, UowDep
from custmaster.api.http import MAX_LIMIT, json_response
from custmaster.api.schemas.common import problems
from custmaster.domain.errors import FieldError, ValidationFailed
from custmaster.services.feed import read_feed
from custmaster.services.ports import FeedPosition

router = APIRouter(prefix="/api/v1", tags=["events"])


class CloudEventOut(BaseModel):
    specversion: str
    id: str
    source: str
    type: str
    subject: str
    time: str
    datacontenttype: str
    data: dict[str, Any]


class EventPage(BaseModel):
    items: list[CloudEventOut]
    next_cursor: str


@router.get(
    "/events",
    response_model=EventPage,
    responses=problems(),
    summary="Changes after a cursor, in commit order; poll again with next_cursor",
)
def events(
    actor: PrincipalDep,
    uow: UowDep,
    after: Annotated[
        str | None, Query(max_length=64, description="next_cursor of the last page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> Response:
    try:
        position = FeedPosition.decode(after) if after else FeedPosition()
    except ValueError:
        raise ValidationFailed(
            [FieldError("after", "invalid_cursor", "is not a cursor this API returned")]
        ) from None
    items = read_feed(uow, actor, position, limit)
    last = items[-1].position if items else position
    return json_response(200, {"items": [i.envelope for i in items], "next_cursor": last.encode()})
