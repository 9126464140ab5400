"""The MCP server over streamable HTTP at /mcp of the API, served by a real uvicorn on
loopback: authenticated like the API (API keys and OIDC/JWT tokens),
each request acting as its own user."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import anyio
import httpx
import httpx2
import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from custmaster.api.app import create_app
from custmaster.bootstrap import Container
from tests.conftest import new_user
from tests.factories import acme, identity_provider

T = TypeVar("T")


@pytest.fixture
def served(client: TestClient, container: Container) -> Iterator[str]:
    """The API (reference data seeded by ``client``) on a loopback port; yields its URL."""
    config = uvicorn.Config(
        create_app(container), host="127.0.0.1", port=0, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(500):  # bounded: up to 10 s
        if server.started:
            break
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def over_http(url: str, key: str, steps: Callable[[Client], Awaitable[T]], **mode: Any) -> T:
    """Run ``steps`` with an MCP client session on ``url``/mcp sending ``key``."""

    async def run() -> T:
        async with httpx2.AsyncClient(
            headers={"Authorization": f"Bearer {key}"}, timeout=30
        ) as http:
            transport = streamable_http_client(f"{url}/mcp", http_client=http)
            async with Client(transport, **mode) as session:
                return await steps(session)

    return anyio.run(run)


def test_http_refuses_a_request_without_valid_credentials(served: str) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {"Accept": "application/json, text/event-stream"}
    missing = httpx.post(f"{served}/mcp", json=body, headers=headers, timeout=30)
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == "Bearer"
    assert missing.json()["title"] == "Unauthenticated"
    wrong = httpx.post(
        f"{served}/mcp",
        json=body,
        headers={**headers, "Authorization": "Bearer cm_abc_def"},
        timeout=30,
    )
    assert wrong.status_code == 401 and "revoked" in wrong.json()["detail"]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_tools_over_http_act_as_each_requests_user(
    served: str, container: Container, client: TestClient, mode: str
) -> None:
    customer_id = client.post("/api/v1/customers", json=acme()).json()["id"]
    ar_key = new_user(container, "ar", ["ar_manager"])
    gb_key = new_user(container, "gb", ["viewer"], ["GB01"])

    async def as_ar(session: Client) -> tuple[Any, Any, Any]:
        tools = await session.list_tools()
        read = await session.call_tool(
            "get_customer", {"customer_id": customer_id, "entity": "DE01"}
        )
        changed = await session.call_tool(
            "propose_update_customer",
            {
                "customer_id": customer_id,
                "changes": {"notes": "via http"},
                "idempotency_key": f"http-{mode}",
            },
        )
        return tools, read, changed

    tools, read, changed = over_http(served, ar_key, as_ar, mode=mode)
    assert "propose_merge" in {t.name for t in tools.tools}
    assert read.structured_content["credit_limit"] == "80000"
    assert changed.structured_content["outcome"] == "applied"
    history = client.get(f"/api/v1/customers/{customer_id}/history").json()["items"]
    assert history[-1]["actor_name"] == "ar (via MCP agent)"

    async def as_gb(session: Client) -> Any:
        return await session.call_tool(
            "get_customer", {"customer_id": customer_id, "entity": "DE01"}
        )

    refused = over_http(served, gb_key, as_gb, mode=mode)
    assert refused.is_error and refused.structured_content["error"]["code"] == "forbidden"


def test_resources_over_http(served: str, container: Container, client: TestClient) -> None:
    customer_id = client.post("/api/v1/customers", json=acme()).json()["id"]
    key = new_user(container, "de", ["viewer"], ["DE01"])

    async def read(session: Client) -> Any:
        return await session.read_resource(f"customer://{customer_id}")

    contents = over_http(served, key, read).contents
    customer = json.loads(contents[0].text)
    assert customer["id"] == customer_id and set(customer["overrides"]) == {"DE01"}


def test_oidc_bearer_tokens_authenticate_agents_too(
    served: str, container: Container, client: TestClient, tmp_path: Path
) -> None:
    customer_id = client.post("/api/v1/customers", json=acme()).json()["id"]
    private, verifier = identity_provider(tmp_path)
    saved, container.token_verifier = container.token_verifier, verifier
    try:
        claims = {
            "sub": "u-42",
            "name": "Ola",
            "groups": ["mdm-readers"],
            "aud": "custmaster",
            "iss": "https://idp.example",
            "entities": ["DE01"],
            "exp": datetime.now(UTC) + timedelta(minutes=5),
        }
        token = jwt.encode(claims, private, algorithm="RS256")

        async def steps(session: Client) -> tuple[Any, Any]:
            seen = await session.call_tool(
                "get_customer", {"customer_id": customer_id, "entity": "DE01"}
            )
            change = await session.call_tool(
                "propose_update_customer",
                {"customer_id": customer_id, "changes": {"notes": "x"}, "idempotency_key": "oidc"},
            )
            return seen, change

        seen, change = over_http(served, token, steps)
        assert seen.structured_content["entity"] == "DE01"
        assert change.structured_content["error"]["code"] == "forbidden"  # a viewer
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        forged = jwt.encode(claims, other, algorithm="RS256")
        refused = httpx.post(
            f"{served}/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={"Authorization": f"Bearer {forged}"},
            timeout=30,
        )
        assert refused.status_code == 401
    finally:
        container.token_verifier = saved
