"""``custmaster mcp``: the stdio server a desktop assistant starts, acting as the user of
an API key; driven by the SDK's client over a real subprocess."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import anyio
from fastapi.testclient import TestClient
from mcp import Client, StdioServerParameters
from typer.testing import CliRunner

import custmaster
from custmaster.bootstrap import Container
from custmaster.cli.app import app as cli
from tests.conftest import new_user
from tests.factories import acme

SRC = str(Path(custmaster.__file__).resolve().parents[1])


def test_mcp_needs_a_valid_key(container: Container, client: TestClient, monkeypatch: Any) -> None:
    monkeypatch.delenv("CUSTMASTER_MCP_API_KEY", raising=False)
    url = container.settings.database_url
    missing = CliRunner().invoke(cli, ["mcp", "--database-url", url])
    assert missing.exit_code == 2 and "CUSTMASTER_MCP_API_KEY" in missing.output
    wrong = CliRunner().invoke(cli, ["mcp", "--database-url", url, "--key", "cm_abc_def"])
    assert wrong.exit_code == 2 and "not signed in" in wrong.output


def test_stdio_session_acts_as_the_keys_user(container: Container, client: TestClient) -> None:
    customer_id = client.post("/api/v1/customers", json=acme()).json()["id"]
    key = new_user(container, "desk", ["viewer"], ["DE01"])
    env = {
        **os.environ,
        "PYTHONPATH": SRC,
        "CUSTMASTER_MCP_API_KEY": key,
        "CUSTMASTER_DATABASE_URL": container.settings.database_url,
    }
    command = "from custmaster.cli.app import main; main()"
    server = StdioServerParameters(command=sys.executable, args=["-c", command, "mcp"], env=env)

    async def session() -> tuple[Any, Any, Any]:
        async with Client(server, read_timeout_seconds=60) as agent:
            tools = await agent.list_tools()
            seen = await agent.call_tool(
                "get_customer", {"customer_id": customer_id, "entity": "DE01"}
            )
            other = await agent.call_tool(
                "get_customer", {"customer_id": customer_id, "entity": "US01"}
            )
            return tools, seen, other

    tools, seen, other = anyio.run(session)
    assert "propose_create_customer" in {t.name for t in tools.tools}
    assert seen.structured_content["credit_limit"] == "80000"
    assert other.is_error and other.structured_content["error"]["code"] == "forbidden"
