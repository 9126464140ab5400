"""Every tool the MCP server lists, generated from its tool list (no list to keep): a
least-privileged user may only read, a user scoped to GB01 never sees DE01's planted data
through any tool, and bad input is a refusal, never an internal error."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp_types import CallToolResult, Tool

from custmaster.agents.server import build_server
from custmaster.bootstrap import Container
from custmaster.services.auth import authenticate_key
from tests.conftest import new_user
from tests.factories import minimal
from tests.security.world import MARKER, MARKER_LIMIT, World

Call = Callable[[str, dict[str, Any]], CallToolResult]


def _agent(
    container: Container, user_id: str, roles: list[str], entities: list[str] | None
) -> tuple[Call, list[Tool]]:
    key = new_user(container, user_id, roles, entities)
    server = build_server(container, principal=authenticate_key(container.uow(), key))

    def call(tool: str, arguments: dict[str, Any]) -> CallToolResult:
        async def run() -> CallToolResult:
            async with Client(server) as client:
                return await client.call_tool(tool, arguments)

        return anyio.run(run)

    async def listed() -> list[Tool]:
        async with Client(server) as client:
            return list((await client.list_tools()).tools)

    return call, anyio.run(listed)


def _value(name: str, schema: dict[str, Any], world: World) -> Any:
    """A plausible value of a tool argument, pointing at DE01's planted data."""
    kinds = {s.get("type") for s in schema.get("anyOf", [schema])}
    if name.endswith("customer_id") or name in {"survivor_id", "child_id", "parent_id"}:
        return world.values["customer_id"][0]
    if name.endswith("_ids"):
        return [world.values["customer_id"][1]]
    if name == "entity":
        return "DE01"
    if name == "expression":
        return 'name != ""'
    if name == "customer":
        return minimal("Agent Probe Ltd", "ap@agent-probe.example")
    if name == "changes":
        return {"notes": "probe"}
    if "integer" in kinds:
        return 1
    if "array" in kinds:
        return []
    if "object" in kinds:
        return {}
    if "boolean" in kinds:
        return False
    return world.values.get(name, ["x"])[0]


def _arguments(tool: Tool, world: World) -> dict[str, Any]:
    properties: dict[str, Any] = tool.input_schema.get("properties", {})
    wanted = set(tool.input_schema.get("required", [])) | (
        {"customer_id", "entity"} & set(properties)
    )
    return {name: _value(name, properties[name], world) for name in sorted(wanted)}


def _text(result: CallToolResult) -> str:
    parts = [getattr(c, "text", "") for c in result.content]
    return json.dumps(result.structured_content, default=str) + " ".join(parts)


def test_a_viewer_agent_reads_and_every_other_tool_refuses_it(
    container: Container, world: World
) -> None:
    call, tools = _agent(container, "sec-agent-viewer", ["viewer"], None)
    checked = []
    for tool in tools:
        if tool.annotations and tool.annotations.read_only_hint:
            continue
        result = call(tool.name, _arguments(tool, world))
        assert result.is_error, f"{tool.name} let a viewer change data"
        code = (result.structured_content or {}).get("error", {}).get("code")
        # arguments the probe could not make valid are refused before the permission
        assert code in {"forbidden", "invalid_input"}, (tool.name, _text(result))
        if code == "forbidden":
            checked.append(tool.name)
    assert "propose_create_customer" in checked and "propose_update_customer" in checked


def test_no_tool_shows_a_gb01_agent_de01_data(container: Container, world: World) -> None:
    unscoped, tools = _agent(container, "sec-agent-all", ["admin"], None)
    get = next(t for t in tools if t.name == "get_customer")
    assert MARKER in _text(unscoped("get_customer", _arguments(get, world)))  # the probe reaches it
    call, tools = _agent(container, "sec-agent-gb01", ["admin"], ["GB01"])
    for tool in tools:
        text = _text(call(tool.name, _arguments(tool, world)))
        assert MARKER not in text and MARKER_LIMIT not in text, (tool.name, text[:500])


@pytest.mark.parametrize("bad", ["\x00", "x" * 100_000, 12345678901234567890123])
def test_bad_input_to_any_tool_is_a_refusal(container: Container, world: World, bad: Any) -> None:
    call, tools = _agent(container, f"sec-agent-bad-{len(str(bad))}", ["admin"], None)
    for tool in tools:
        arguments = _arguments(tool, world)
        for name in arguments or {"unexpected": None}:
            result = call(tool.name, {**arguments, name: bad})
            text = _text(result)
            assert "Traceback" not in text and "Internal" not in text, (tool.name, name, text)
            if result.is_error:
                assert result.content or result.structured_content, (tool.name, name)
