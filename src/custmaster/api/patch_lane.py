"""A short path for ``PATCH /api/v1/customers/{id}``, the update every connected system
sends: the ordinary answer without the framework's per-request machinery (middleware
layers, nested route matching, dependency solving).

It answers only what it can vouch for: a canonical UUID, no query parameters, a JSON body
the request model accepts, and an API key already verified and cached in this process.
Anything else (no or unknown credential, a bad body, a body over ``MAX_BODY``) goes on,
body replayed, to the FastAPI route. So does a change the use case refuses (unknown
customer, stale If-Match, a failed rule, a refused permission): the use case raised before
its transaction committed, so nothing was written, and the route runs it again to give the
documented answer, problem details included. Both answer through the same code
(:func:`custmaster.api.routers.customers.patch_response`); the tests check that they agree.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from custmaster.api.customer_lane import PREFIX
from custmaster.api.deps import cached_principal
from custmaster.api.lanes import canonical_uuid, json_request, parsed, read_body, replay
from custmaster.api.routers.customers import patch_response
from custmaster.api.schemas.customers import CustomerPatch
from custmaster.bootstrap import Container
from custmaster.domain.errors import DomainError


class CustomerPatchLane:
    """ASGI middleware: the short path of a customer PATCH, else ``app``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "PATCH"
            and scope["path"].startswith(PREFIX)
            and not scope.get("root_path")
            and not scope.get("query_string")
        ):
            body, messages = await read_body(receive)
            answer = None if body is None else await self._answer(scope, body)
            if answer is not None:
                await answer(scope, receive, send)
                return
            receive = replay(messages, receive)
        await self.app(scope, receive, send)

    async def _answer(self, scope: Scope, body: bytes) -> Response | None:
        customer_id = canonical_uuid(scope["path"][len(PREFIX) :])
        request = Request(scope)
        if customer_id is None or not json_request(request):
            return None
        actor = cached_principal(request)
        if actor is None:
            return None
        payload = parsed(CustomerPatch, body)
        if payload is None:
            return None
        container: Container = request.app.state.container
        if_match = request.headers.get("if-match")
        try:
            return await run_in_threadpool(
                patch_response, container, actor, container.uow(), customer_id, payload,
                if_match,
            )  # fmt: skip
        except DomainError:
            return None  # rolled back: the route answers it the documented way
