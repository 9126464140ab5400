"""A short path for ``GET /api/v1/customers/{id}?entity=CODE``, the effective view read
by every system that prices, bills or ships for a legal entity: the ordinary answer
without the framework's per-request machinery (middleware layers, route matching,
dependency solving), on the event loop.

It answers only what it can vouch for: a canonical UUID, ``entity`` as the only query
parameter within its bounds, an API key already verified and cached in this process, a
PostgreSQL database (SQLite reads in a thread, on the route) and a read that succeeds.
Anything else (no or unknown credential, other parameters, a refused permission, an
unknown customer or entity) goes on to the FastAPI route, which gives the documented
answer, problem details included. Both produce the answer with the same code
(:func:`custmaster.api.routers.customers.view_response`); the tests check that they agree.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from custmaster.api.deps import cached_principal
from custmaster.api.lanes import canonical_uuid
from custmaster.api.routers.customers import ENTITY_MAX_LENGTH, view_response
from custmaster.domain.errors import DomainError
from custmaster.services.customers.read import AsyncCustomerReads, read_effective_view

PREFIX = "/api/v1/customers/"


def _entity(query_string: bytes) -> str | None:
    """``entity`` when it is the only query parameter (as the route parses it), given
    once, not empty and within its length; else None."""
    items = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    if len(items) != 1:
        return None
    name, value = items[0]
    if name != "entity" or not value or len(value) > ENTITY_MAX_LENGTH:
        return None
    return value


class CustomerViewLane:
    """ASGI middleware: the short path of the effective view, else ``app``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            path: str = scope["path"]
            if path.startswith(PREFIX) and not scope.get("root_path"):
                answer = await self._answer(scope, path[len(PREFIX) :])
                if answer is not None:
                    await answer(scope, receive, send)
                    return
        await self.app(scope, receive, send)

    async def _answer(self, scope: Scope, raw_id: str) -> Response | None:
        customer_id = canonical_uuid(raw_id)
        entity = _entity(scope.get("query_string", b""))
        if customer_id is None or entity is None:
            return None
        request = Request(scope)
        reads: AsyncCustomerReads | None = request.app.state.customer_reads
        if reads is None or request.app.dependency_overrides:
            return None
        actor = cached_principal(request)
        if actor is None:
            return None
        uow = request.app.state.container.uow()
        try:
            customer, view = await read_effective_view(reads, uow, actor, customer_id, entity)
        except DomainError:
            return None  # the route answers it (problem details)
        return view_response(customer, view)
