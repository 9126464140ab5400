"""The MCP server over streamable HTTP at ``/mcp`` on the API (``custmaster serve``).

Each request authenticates like an API request (``Authorization: Bearer <API key or
OIDC/JWT token>``, verified by ``api.deps.verify_bearer``); the verified principal rides
in the request's ASGI state to the tool call (``agents.caller``). The transport is
stateless with JSON answers, so any worker of a multi-worker server answers any request.
The session manager runs inside the API's lifespan (``McpEndpoint.running``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from anyio import to_thread
from fastapi import FastAPI
from fastapi.security.utils import get_authorization_scheme_param
from mcp.server.transport_security import TransportSecuritySettings
from starlette.datastructures import Headers
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from custmaster.agents.caller import STATE_KEY
from custmaster.agents.server import AgentServer, build_server
from custmaster.api.deps import cached_bearer, verify_bearer
from custmaster.bootstrap import Container
from custmaster.domain.errors import Unauthenticated

MCP_PATH = "/mcp"
#: the largest request body the endpoint reads (an import file to validate is the biggest)
MAX_BODY = 8 * 1024 * 1024


async def _problem(send: Send, status: int, title: str, detail: str) -> None:
    body = json.dumps(
        {
            "type": "/problems/unauthenticated" if status == 401 else "/problems/unavailable",
            "title": title,
            "status": status,
            "detail": detail,
            "instance": MCP_PATH,
        }
    ).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class McpEndpoint:
    """The ASGI endpoint at ``/mcp``: authenticates, then hands over to the SDK's
    streamable HTTP app (while the API's lifespan runs it)."""

    def __init__(self, container: Container, server: AgentServer) -> None:
        self.container = container
        self.server = server
        self.handler: ASGIApp | None = None

    def _transport_security(self) -> TransportSecuritySettings:
        hosts = self.container.settings.mcp_allowed_hosts
        # every request needs a bearer token; the Host/Origin check guards a local server
        # from DNS rebinding when the operator lists the names it is reached by
        return TransportSecuritySettings(
            enable_dns_rebinding_protection=bool(hosts),
            allowed_hosts=hosts,
            allowed_origins=self.container.settings.mcp_allowed_origins,
        )

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run a session manager (one per lifespan: the SDK runs each once)."""
        app = self.server.streamable_http_app(
            streamable_http_path=MCP_PATH,
            stateless_http=True,
            json_response=True,
            transport_security=self._transport_security(),
            max_request_body_size=MAX_BODY,
        )
        async with self.server.session_manager.run():
            self.handler = app
            try:
                yield
            finally:
                self.handler = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = self.handler
        if handler is None:
            await _problem(send, 503, "Unavailable", "the MCP endpoint is not running")
            return
        scheme, token = get_authorization_scheme_param(Headers(scope=scope).get("authorization"))
        if not token or scheme.lower() != "bearer":
            await _problem(
                send, 401, "Unauthenticated", "send Authorization: Bearer <API key or token>"
            )
            return
        try:
            principal = cached_bearer(self.container, token) or await to_thread.run_sync(
                verify_bearer, self.container, token
            )
        except Unauthenticated as exc:
            await _problem(send, 401, "Unauthenticated", exc.detail)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        state[STATE_KEY] = principal
        await handler(scope, receive, send)


def install(app: FastAPI, container: Container) -> McpEndpoint:
    """Serve the MCP server at ``/mcp``; the app's lifespan runs ``endpoint.running()``
    (found as ``app.state.mcp``). Effective views are read on the event loop where the
    API reads them so (``app.state.customer_reads``: PostgreSQL)."""
    reads = getattr(app.state, "customer_reads", None)
    endpoint = McpEndpoint(container, build_server(container, reads=reads))
    app.router.routes.append(Route(MCP_PATH, endpoint=endpoint, include_in_schema=False))
    app.state.mcp = endpoint
    return endpoint
