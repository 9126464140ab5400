"""The agents' fixtures: an MCP client acting as a given user, in process."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
import pytest
from fastapi.testclient import TestClient
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult

from custmaster.agents.server import AgentServer, build_server
from custmaster.bootstrap import Container
from custmaster.domain.permissions import Principal
from custmaster.services.auth import authenticate_key
from tests.conftest import new_user
from tests.factories import acme

T = TypeVar("T")


@dataclass
class Agent:
    """An MCP client session per call, in process, acting as ``principal``."""

    server: AgentServer
    principal: Principal
    key: str

    def session(self, steps: Callable[[Client], Awaitable[T]]) -> T:
        async def run() -> T:
            async with Client(self.server) as client:
                return await steps(client)

        return anyio.run(run)

    def call(self, tool: str, arguments: dict[str, Any] | None = None) -> CallToolResult:
        return self.session(lambda client: client.call_tool(tool, arguments or {}))

    def ok(self, tool: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        result = self.call(tool, arguments)
        assert not result.is_error, result.content
        assert result.structured_content is not None
        return result.structured_content

    def read(self, uri: str) -> Any:
        """The JSON of a resource."""
        contents = self.session(lambda client: client.read_resource(uri)).contents
        assert contents[0].mime_type == "application/json"
        return json.loads(contents[0].text)

    def read_refused(self, uri: str) -> MCPError:
        """The protocol error reading ``uri`` answers with."""
        try:
            self.session(lambda client: client.read_resource(uri))
        except BaseException as exc:  # the client's task group wraps it in a group
            return _mcp_error(exc)
        raise AssertionError(f"{uri} was read")

    def refused(self, tool: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        result = self.call(tool, arguments)
        assert result.is_error, result.structured_content
        assert result.structured_content is not None
        error: dict[str, Any] = result.structured_content["error"]
        return error


def _mcp_error(exc: BaseException) -> MCPError:
    if isinstance(exc, MCPError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            return _mcp_error(inner)
    raise exc


@pytest.fixture
def agent_as(container: Container, client: TestClient) -> Iterator[Callable[..., Agent]]:
    """``agent_as("ar_manager")`` or ``agent_as("clerk", roles=["data_steward"],
    entities=["DE01"])``: an MCP client acting as a new user (reference data seeded)."""

    def make(
        user_id: str, *, roles: list[str] | None = None, entities: list[str] | None = None
    ) -> Agent:
        key = new_user(container, user_id, roles or [user_id], entities)
        principal = authenticate_key(container.uow(), key)
        return Agent(build_server(container, principal=principal), principal, key)

    yield make


@pytest.fixture
def acme_id(client: TestClient) -> str:
    """Acme Corporation (owned by US01, overrides for US01 and DE01), made through the API."""
    response = client.post("/api/v1/customers", json=acme())
    assert response.status_code == 201, response.text
    customer_id: str = response.json()["id"]
    return customer_id
