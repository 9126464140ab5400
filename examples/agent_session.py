"""A real MCP session over HTTP, printed as a Markdown transcript (docs/agents-session.md).

It makes a throw-away SQLite database with the shipped approval policy, the reference
data of DESIGN.md and three users (Ann, who lets an assistant act for her; Bob, an AR
manager; Carol, a controller), serves the API with its /mcp endpoint on a loopback port,
and drives an agent session through the official SDK's client: it reads the policy, looks
up codes, checks for duplicates, proposes a customer (first with a mistake it corrects
from the structured refusal), fails to approve it, and sees it applied once Bob and Carol
approved it through the REST API.

    PYTHONPATH=src python examples/agent_session.py > docs/agents-session.md
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from custmaster.api.app import create_app
from custmaster.bootstrap import Container, build_container
from custmaster.config import Settings
from custmaster.services.auth import add_user
from custmaster.services.reference import create_reference

REFERENCE = {
    "legal_entities": [{"code": "US01", "name": "Acme US Inc.", "country": "US",
                        "currency": "USD"},
                       {"code": "DE01", "name": "Acme Deutschland GmbH", "country": "DE",
                        "currency": "EUR"}],
    "payment_terms": [{"code": "NET30", "name": "Net 30 days", "net_days": 30},
                      {"code": "NET45", "name": "Net 45 days", "net_days": 45}],
}  # fmt: skip
CUSTOMER = {
    "kind": "organization", "name": "Globex Corporation", "email": "ap@globex.example",
    "tax_id": "94-7654321", "customer_type": "enterprise", "owning_entity": "US01",
    "credit_limit": "100000", "payment_terms": "NET 30", "currency": "USD",
    "addresses": [{"type": "billing", "lines": ["1 Globex Way"], "city": "Cypress Creek",
                   "region": "US-CA", "postal_code": "90630", "country": "US",
                   "is_primary": True}],
}  # fmt: skip
LONG = 1500  # answers longer than this are abridged (long lists and texts cut)


def setup(folder: Path) -> tuple[Container, dict[str, str]]:
    settings = Settings(database_url=f"sqlite:///{folder / 'session.db'}",
                        audit_seal_delay_seconds=0)  # fmt: skip
    container = build_container(settings, migrate=True)
    admin = container.system_principal()
    for kind, records in REFERENCE.items():
        for record in records:
            create_reference(container.uow(), admin, kind, record)
    keys = {
        user: add_user(container.uow(), admin, user, roles=[role], name=name)
        for user, role, name in (("ann", "ar_manager", "Ann Example"),
                                 ("bob", "ar_manager", "Bob Example"),
                                 ("carol", "controller", "Carol Example"),
                                 ("erp", "integration", "ERP connector"))
    }  # fmt: skip
    return container, keys


def serve(container: Container) -> tuple[uvicorn.Server, threading.Thread, str]:
    config = uvicorn.Config(create_app(container), host="127.0.0.1", port=0,
                            log_level="warning")  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started:
            break
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, f"http://127.0.0.1:{port}"


def shorten(value: Any) -> Any:
    """Long lists keep their first items, long texts their start."""
    if isinstance(value, dict):
        return {k: shorten(v) for k, v in value.items()}
    if isinstance(value, list):
        kept = [shorten(v) for v in value[:4]]
        return kept + ([f"… {len(value) - 4} more"] if len(value) > 4 else [])
    if isinstance(value, str) and len(value) > 200:
        return value[:200] + "…"
    return value


def abridge(value: Any) -> str:
    text = json.dumps(value, indent=2, ensure_ascii=False)
    if len(text) <= LONG:
        return text
    return json.dumps(shorten(value), indent=2, ensure_ascii=False) + "\n(abridged)"


def show(title: str, request: str, answer: Any) -> None:
    print(f"**{title}**\n\n```text\n{request}\n```\n\n```json\n{abridge(answer)}\n```\n")


async def agent_session(url: str, key: str, people: dict[str, str]) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=60) as h,
        Client(streamable_http_client(f"{url}/mcp", http_client=h)) as agent,
    ):
        info = agent.server_info
        print(
            f"Connected to `{info.name if info else '?'}` over streamable HTTP, protocol "
            f"`{agent.protocol_version}`, as Ann (ar_manager) with her API key.\n"
        )
        tools = await agent.list_tools()
        show("list_tools", "tools/list", sorted(t.name for t in tools.tools))
        policy = json.loads(
            (await agent.read_resource("custmaster://approval-policy")).contents[0].text
        )
        show(
            "read the approval policy",
            "resources/read custmaster://approval-policy",
            {op: policy["operations"][op] for op in ("create", "update")},
        )

        async def call(
            title: str, tool: str, arguments: dict[str, Any], keep: tuple[str, ...] = ()
        ) -> Any:
            result = await agent.call_tool(tool, arguments)
            body = result.structured_content or [getattr(c, "text", c) for c in result.content]
            if keep and isinstance(body, dict):
                body = {k: body[k] for k in keep if k in body}
            shown = json.dumps(arguments, ensure_ascii=False)
            show(
                title,
                f"tools/call {tool} {shown if len(shown) < 400 else '{…}'}"
                + ("  -> isError" if result.is_error else ""),
                body,
            )
            return body

        await call("look up the payment terms", "lookup_reference", {"kind": "payment_terms"})
        record = {k: CUSTOMER[k] for k in ("name", "tax_id", "email")}
        await call("check for duplicates first", "match_record", {"record": record})
        await call(
            "propose the customer (with a mistake)",
            "propose_create_customer",
            {"customer": CUSTOMER, "idempotency_key": "globex-1"},
        )
        fixed = {**CUSTOMER, "payment_terms": "NET30"}
        made = await call(
            "propose it again, corrected from the refusal",
            "propose_create_customer",
            {"customer": fixed, "idempotency_key": "globex-2"},
        )
        request_id = made["change_request"]["id"]
        await call(
            "try to approve it (there is no such tool)",
            "approve_change_request",
            {"request_id": request_id},
        )

        print(
            "**Bob (ar_manager) and Carol (controller) approve in custmaster "
            "(REST API)**\n\n```text"
        )
        for person in ("bob", "carol"):
            response = httpx.post(
                f"{url}/api/v1/change-requests/{request_id}/approve",
                json={"comment": "checked"},
                timeout=60,
                headers={"Authorization": f"Bearer {people[person]}"},
            )
            print(
                f"POST /api/v1/change-requests/{request_id}/approve as {person} -> "
                f"{response.status_code} status={response.json()['status']}"
            )
        print("```\n")
        state = await agent.call_tool("get_change_request", {"request_id": request_id})
        body = state.structured_content or {}
        show("follow the change request",
             f"tools/call get_change_request {{\"request_id\": \"{request_id}\"}}",
             {"status": body["status"], "submitted_by": body["submitted_by"],
              "submitted_via": body["change"]["payload"]["submitted_via"],
              "steps": [{k: s[k] for k in ("role", "state", "decided_by")}
                        for s in body["steps"]]})  # fmt: skip
        found = await call("find the new customer", "search_customers", {"text": "Globex"})
        customer_id = found["items"][0]["id"]
        history = await agent.call_tool("customer_history", {"customer_id": customer_id})
        entries = [{k: e[k] for k in ("operation", "actor_id", "actor_name",
                                      "change_request_id")}
                   for e in (history.structured_content or {})["items"]]  # fmt: skip
        show(
            "the audit trail: applied on approval, for Ann through her agent",
            f'tools/call customer_history {{"customer_id": "{customer_id}"}}',
            {"items": entries},
        )
        await profile_steps(url, people, customer_id, call)


def _activity(customer_id: str, kind: str, days_ago: int, **data: Any) -> dict[str, Any]:
    day = (date.today() - timedelta(days=days_ago)).isoformat()
    return {"specversion": "1.0", "id": f"{kind}-{days_ago}", "source": "/erp/example",
            "type": f"custmaster.activity.{kind}", "time": f"{day}T09:00:00Z",
            "data": {"customer_id": customer_id, "legal_entity": "US01", **data}}  # fmt: skip


async def profile_steps(url: str, people: dict[str, str], customer_id: str, call: Any) -> None:
    """The living profile: the ERP posts orders and a complaint, the agent asks."""
    orders = [_activity(customer_id, "order.placed", d, order_id=f"SO-{d}",
                        order_date=(date.today() - timedelta(days=d)).isoformat(),
                        currency="USD", lines=[{"product": "P-1", "product_group": "pumps",
                                                "quantity": 2, "amount": 1200.0}])
              for d in (150, 140, 130, 120, 20)]  # fmt: skip
    complaint = _activity(customer_id, "complaint.opened", 5, case_id="Q-1",
                          date=(date.today() - timedelta(days=5)).isoformat(),
                          severity="high", subject="scratched housings")  # fmt: skip
    response = httpx.post(f"{url}/api/v1/activities", json=[*orders, complaint], timeout=60,
                          headers={"Authorization": f"Bearer {people['erp']}"})  # fmt: skip
    print("**The ERP posts five orders and a complaint (REST API)**\n\n```text")
    print(f"POST /api/v1/activities -> {response.status_code} "
          f"applied={response.json().get('applied')}\n```\n")  # fmt: skip
    await call(
        "ask a segment question (with a type error)",
        "query_customers",
        {"expression": 'order_frequency_trend < 0 && open_quality_complaints > "x"'},
    )
    await call(
        "ask it again, corrected from the position",
        "query_customers",
        {"expression": "order_frequency_trend < 0 && open_quality_complaints > 0"},
    )
    await call(
        "read the customer's 360 profile",
        "get_customer_profile",
        {"customer_id": customer_id},
        ("name", "entities", "open_cases", "scores", "actions"),
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        container, keys = setup(Path(folder))
        server, thread, url = serve(container)
        try:
            print(
                "# A real agent session\n\nGenerated by `examples/agent_session.py` "
                "(a throw-away database, the shipped approval policy, the SDK's client over "
                "HTTP); long answers are abridged.\n"
            )
            anyio.run(agent_session, url, keys["ann"], keys)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            container.engine.dispose()


if __name__ == "__main__":
    main()
