"""Helpers the account-structure routers share: JSON bodies, pages, idempotent creates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import Query, Request, Response

from custmaster.api.http import MAX_LIMIT, encode_cursor, idempotent, json_response
from custmaster.api.outcomes import PENDING
from custmaster.domain.approvals import Operation
from custmaster.domain.permissions import Principal
from custmaster.domain.snapshot import jsonable
from custmaster.services.ports import StoredResponse, UnitOfWork
from custmaster.services.structure.governed import submit

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


#: the extra answer of every structure change: 202 with the change request
GOVERNED = PENDING


def governed(
    request: Request,
    uow: UnitOfWork,
    actor: Principal,
    operation: Operation,
    action: dict[str, Any],
    render: Callable[[Any], StoredResponse],
) -> Response:
    """Submit a structure change under the approval policy (``request.app``'s container
    holds the policy): ``render(result)`` when it applied at once (green), else 202 with
    the change request. A retry with the same Idempotency-Key and body gets the first
    answer."""
    policy = request.app.state.container.policy

    def produce() -> StoredResponse:
        outcome = submit(uow, actor, policy, operation, action)
        if outcome.request is not None:
            body = {**outcome.request.as_dict(), "warnings": []}
            location = f"/api/v1/change-requests/{outcome.request.id}"
            return StoredResponse(202, body, {"Location": location})
        return render(outcome.result)

    response = idempotent(request, uow, actor, {"operation": operation.value, **action}, produce)
    return Response(status_code=204) if response.status_code == 204 else response


def made(
    status: int,
    location: Callable[[Any], str] | None = None,
    shape: Callable[[Any], Any] | None = None,
) -> Callable[[Any], StoredResponse]:
    """A renderer of an applied change: ``status`` with the JSON of ``shape(result)``
    (204: no body), with a Location header when ``location`` is given."""

    def render(result: Any) -> StoredResponse:
        if status == 204:
            return StoredResponse(204, None, {})
        body = jsonable(shape(result) if shape is not None else result)
        headers = {"Location": location(body)} if location is not None else {}
        return StoredResponse(status, body, headers)

    return render
