"""Unknown query parameters are refused (400), on every route.

A client that misspells a filter (``?industy=...``) or sends one the route does not have
must not get an unfiltered answer that looks like a filtered one. The check is one
application-wide dependency (:func:`refuse_unknown_query`, installed by
``api.app.create_app``): it compares the request's query keys with the query parameters
the matched route declares (its own and its dependencies'), so a new route is covered
without anyone remembering to.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel

from custmaster.domain.errors import DomainError, FieldError

#: the attribute of a route that caches its declared query parameter names
_CACHE = "_custmaster_query_names"


class UnknownQueryParameter(DomainError):
    """The request names query parameters the route does not have (answered 400)."""

    title = "Unknown query parameter"

    def __init__(self, names: list[str], allowed: frozenset[str]) -> None:
        known = ", ".join(sorted(allowed)) or "none"
        super().__init__(f"unknown query parameter(s): {', '.join(names)} (known: {known})")
        self.errors = [
            FieldError(
                name,
                "unknown_parameter",
                f"is not a query parameter of this route (known: {known})",
            )
            for name in names
        ]


def declared_query(dependant: Dependant) -> frozenset[str]:
    """The query parameter names (aliases) a route and its dependencies declare."""
    names: set[str] = set()
    stack = [dependant]
    while stack:
        current = stack.pop()
        for param in current.query_params:
            annotation: Any = param.field_info.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                names.update(f.alias or n for n, f in annotation.model_fields.items())
            else:
                names.add(param.alias)
        stack.extend(current.dependencies)
    return frozenset(names)


async def refuse_unknown_query(request: Request) -> None:
    """400 when the query string names a parameter the matched route does not declare
    (async: on the event loop, no worker thread for a check this small)."""
    if not request.url.query:
        return
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    allowed: frozenset[str] | None = getattr(route, _CACHE, None)
    if allowed is None:
        allowed = declared_query(route.dependant)
        setattr(route, _CACHE, allowed)
    unknown = sorted({key for key in request.query_params if key not in allowed})
    if unknown:
        raise UnknownQueryParameter(unknown, allowed)
