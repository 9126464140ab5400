"""/api/v1/activities: activity events in (CloudEvents 1.0, batches of up to 1,000) and
the dead-letter list."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from custmaster.api.deps import ContainerDep, PrincipalDep, UowDep
from custmaster.api.http import MAX_LIMIT, json_response, request_json
from custmaster.api.schemas.common import problems
from custmaster.domain.errors import FieldError, ValidationFailed
from custmaster.domain.snapshot import jsonable
from custmaster.services.profile import dead_letters
from custmaster.services.profile.intake import APPLIED, DEAD_LETTER, DUPLICATE, ingest

router = APIRouter(prefix="/api/v1/activities", tags=["activities"])


def _events_of(body: Any) -> list[Any]:
    if isinstance(body, list):
        return body
    if isinstance(body, dict) and isinstance(body.get("events"), list):
        return list(body["events"])
    raise ValidationFailed(
        [FieldError("events", "invalid", 'send a JSON array of CloudEvents or {"events": [...]}')]
    )


@router.post(
    "",
    responses=problems(403, 422),
    summary="Apply a batch of activity events (CloudEvents 1.0) exactly once",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
                "application/cloudevents-batch+json": {"schema": {"type": "array"}},
            },
        }
    },
)
async def post_activities(
    request: Request, container: ContainerDep, actor: PrincipalDep
) -> Response:
    try:
        body = await request_json(request)
    except ValueError:
        raise ValidationFailed([FieldError("body", "invalid_json", "is not JSON")]) from None
    events = _events_of(body)
    outcomes = await run_in_threadpool(ingest, container.uow(), actor, events, container.profile)
    counts = {
        s: sum(1 for o in outcomes if o.status == s) for s in (APPLIED, DUPLICATE, DEAD_LETTER)
    }
    return json_response(
        200,
        jsonable(
            {
                "applied": counts[APPLIED],
                "duplicates": counts[DUPLICATE],
                "dead_lettered": counts[DEAD_LETTER],
                "results": [o.as_dict() for o in outcomes],
            }
        ),
    )


def _cursor(after: str | None) -> tuple[datetime, UUID] | None:
    if not after:
        return None
    stamp, _, letter = after.rpartition("~")
    try:
        return datetime.fromisoformat(stamp), UUID(letter)
    except ValueError:
        raise ValidationFailed(
            [FieldError("after", "invalid_cursor", "is not a cursor this API returned")]
        ) from None


@router.get(
    "/dead-letters",
    responses=problems(403),
    summary="Activity events that could not be applied (unknown customer, poison messages)",
)
def list_dead_letters(
    actor: PrincipalDep,
    uow: UowDep,
    status: Annotated[str | None, Query(pattern="^(open|replayed)$")] = "open",
    after: Annotated[str | None, Query(max_length=96)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> Response:
    letters = dead_letters.list_dead_letters(
        uow, actor, status=status, after=_cursor(after), limit=limit
    )
    cursor = f"{letters[-1].created_at.isoformat()}~{letters[-1].id}" if letters else None
    return json_response(
        200, jsonable({"items": [d.as_dict() for d in letters], "next_cursor": cursor})
    )


@router.post(
    "/dead-letters/{letter_id}/replay",
    responses=problems(403, 404, 409),
    summary="Apply a dead letter's event again (e.g. once its cross-reference exists)",
)
def replay_dead_letter(letter_id: UUID, container: ContainerDep, actor: PrincipalDep) -> Response:
    letter, outcome = dead_letters.replay(container.uow(), actor, letter_id, container.profile)
    return json_response(200, jsonable({**letter.as_dict(), "outcome": outcome.as_dict()}))
