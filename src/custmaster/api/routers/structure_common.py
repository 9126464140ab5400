"""Helpers the account-structure routers share: JSON bodies, pages, idempotent creates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import Query, Request, Response

from custmaster.api.http import MAX_LIMIT, encode_cursor, idempotent, json_response
from custmaster.domain.permissions import Principal
from custmaster.domain.snapshot import jsonable
from custmaster.services.ports import StoredResponse, UnitOfWork

AsOf = Annotated[date | None, Query(description="the date to read the structure on (today)")]
Cursor = Annotated[str | None, Query(max_length=512)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


def ok(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return json_response(status, jsonable(body), headers)


def no_content() -> Response:
    return Response(status_code=204)


def page(items: list[dict[str, Any]], key: str, limit: int) -> Response:
    """``{"items", "next_cursor"}``: the cursor is the last item's ``key`` when full."""
    next_cursor = encode_cursor(str(items[-1][key])) if len(items) == limit and items else None
    return ok({"items": items, "next_cursor": next_cursor})


def created(
    request: Request,
    uow: UnitOfWork,
    actor: Principal,
    body: Any,
    produce: Callable[[], Any],
    location: Callable[[Any], str],
) -> Response:
    """201 with ``produce()``'s record; a retry with the same Idempotency-Key and body gets
    the first answer."""

    def stored() -> StoredResponse:
        record = jsonable(produce())
        return StoredResponse(201, record, {"Location": location(record)})

    return idempotent(request, uow, actor, body, stored)
