"""A lean handler for the hottest routes: the endpoint is called with arguments resolved
here, without FastAPI's per-request parameter validation and dependency solving, when the
request is of the plain kind whose arguments are certain (a canonical UUID, the expected
query parameter, an API key verified recently). Every other request goes through
FastAPI's own handler, so answers, errors and the OpenAPI document stay the same."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from uuid import UUID

from fastapi import Request, Response
from fastapi.routing import APIRoute

#: the endpoint's keyword arguments, or None: let FastAPI resolve them
LeanArguments = Callable[[Request], dict[str, Any] | None]


class LeanRoute(APIRoute):
    """Subclasses set ``lean_arguments``."""

    lean_arguments: LeanArguments

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        standard = super().get_route_handler()
        endpoint = self.endpoint
        resolve = type(self).lean_arguments

        async def handler(request: Request) -> Response:
            arguments = None if request.app.dependency_overrides else resolve(request)
            if arguments is None:
                return await standard(request)
            answer: Response = await endpoint(**arguments)
            return answer

        return handler


def canonical_uuid(raw: str) -> UUID | None:
    """``raw`` as a UUID when it is in the canonical 8-4-4-4-12 form (which FastAPI's UUID
    parameter accepts too), else None."""
    if len(raw) != 36:
        return None
    try:
        value = UUID(raw)
    except ValueError:
        return None
    return value if str(value) == raw.lower() else None


def only_query_parameter(request: Request, name: str, max_length: int) -> str | None:
    """The value of ``name`` when it is the request's only query parameter, given once,
    not empty and within ``max_length`` characters; else None."""
    items = request.query_params.multi_items()
    if len(items) != 1:
        return None
    key, value = items[0]
    if key != name or not value or len(value) > max_length:
        return None
    return value
