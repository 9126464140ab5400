"""The living profile's MCP tools through a real MCP client (in process and over the
HTTP transport) on both databases: listed, the segment question answered on activity
planted through the API, a type error refused with its position, entity scope kept."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from mcp import Client

from custmaster.bootstrap import Container
from tests.agents.conftest import Agent
from tests.agents.test_http import over_http, served
from tests.conftest import new_user
from tests.factories import create, minimal
from tests.profile.events import complaint, order

__all__ = ["served"]  # the fixture, imported for the HTTP test
API = "/api/v1"
TODAY = date.today()
QUESTION = 'tier == "strategic" && order_frequency_trend < 0 && open_quality_complaints > 0'


def _post(client: TestClient, events: list[dict[str, Any]]) -> None:
    response = client.post(f"{API}/activities", json=events)
    assert response.status_code == 200, response.text
    assert response.json()["applied"] == len(events)


def _declining(customer_id: str, entity: str, currency: str, amount: float) -> list[Any]:
    """Four orders four to five months ago, one last month: the order trend falls; and
    an open quality complaint."""
    before = [TODAY - timedelta(days=d) for d in (120, 130, 140, 150)]
    events = [order(customer_id, d, amount, entity=entity, currency=currency) for d in before]
    events.append(
        order(customer_id, TODAY - timedelta(days=20), amount, entity=entity, currency=currency)
    )
    events.append(
        complaint(customer_id, TODAY - timedelta(days=5), f"Q-{customer_id[:8]}", entity=entity)
    )
    return events


def _world(client: TestClient) -> dict[str, str]:
    created = client.post(f"{API}/account-tiers", json={"code": "strategic", "name": "Strategic"})
    assert created.status_code == 201, created.text
    ids = {
        "wanted": create(
            client,
            minimal(
                "Declining Strategic",
                "ap@declining.example",
                owning_entity="GB01",
                account_tier="strategic",
            ),
        )["id"],
        "standard": create(
            client, minimal("Declining Standard", "ap@standard.example", owning_entity="GB01")
        )["id"],
        "german": create(
            client,
            minimal(
                "Declining German",
                "ap@german.example",
                owning_entity="DE01",
                account_tier="strategic",
            ),
        )["id"],
    }
    _post(client, _declining(ids["wanted"], "GB01", "GBP", 1234.0))
    _post(client, _declining(ids["standard"], "GB01", "GBP", 50.0))
    _post(client, _declining(ids["german"], "DE01", "EUR", 98765.0))
    return ids


def test_the_profile_tools_are_listed_read_only(agent_as: Callable[..., Agent]) -> None:
    tools = {t.name: t for t in agent_as("viewer").session(lambda c: c.list_tools()).tools}
    for name in ("query_customers", "get_customer_profile", "get_customer_affinity"):
        annotations = tools[name].annotations
        assert annotations is not None and annotations.read_only_hint is True
    assert "expression" in tools["query_customers"].input_schema["required"]


def test_the_question_is_answered_on_planted_activity(
    client: TestClient, agent_as: Callable[..., Agent]
) -> None:
    ids = _world(client)
    agent = agent_as("ar_manager")
    found = agent.ok("query_customers", {"expression": QUESTION})
    assert {i["id"] for i in found["items"]} == {ids["wanted"], ids["german"]}
    assert found["total"] == 2
    page = agent.ok("query_customers", {"expression": QUESTION, "limit": 1})
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = agent.ok(
        "query_customers", {"expression": QUESTION, "limit": 1, "cursor": page["next_cursor"]}
    )
    assert {page["items"][0]["id"], rest["items"][0]["id"]} == {ids["wanted"], ids["german"]}
    gb = agent.ok("query_customers", {"expression": QUESTION, "entity": "GB01"})
    assert [i["id"] for i in gb["items"]] == [ids["wanted"]]
    profile = agent.ok("get_customer_profile", {"customer_id": ids["wanted"]})
    assert profile["entities"] == ["GB01"]
    assert profile["scores"]["GB01"]["tier"] == "strategic"
    assert "declining_orders" in str(profile["scores"]["GB01"])
    assert [c["case_id"] for c in profile["open_cases"]] == [f"Q-{ids['wanted'][:8]}"]
    affinity = agent.ok("get_customer_affinity", {"customer_id": ids["wanted"]})
    assert affinity["customer_id"] == ids["wanted"] and "over" in affinity


def test_a_type_error_is_a_refusal_with_its_position(agent_as: Callable[..., Agent]) -> None:
    agent = agent_as("viewer")
    error = agent.refused(
        "query_customers", {"expression": 'tier == "strategic" && open_quality_complaints > "x"'}
    )
    assert error["code"] == "invalid_input" and error["status"] == 422
    [item] = error["errors"]
    assert item["field"] == "expression" and item["column"] == 50 and item["line"] == 1
    assert "line 1, column 50" in item["message"] and "orders numbers" in item["message"]
    unknown = agent.refused("query_customers", {"expression": "open_quality_complaint > 0"})
    assert "did you mean open_quality_complaints" in unknown["errors"][0]["message"]


def test_a_gb01_agent_never_sees_de01_figures(
    client: TestClient, agent_as: Callable[..., Agent]
) -> None:
    ids = _world(client)
    agent = agent_as("gb-clerk", roles=["viewer"], entities=["GB01"])
    found = agent.ok("query_customers", {"expression": QUESTION})
    assert [i["id"] for i in found["items"]] == [ids["wanted"]]
    assert (
        agent.refused("query_customers", {"expression": QUESTION, "entity": "DE01"})["code"]
        == "forbidden"
    )
    german = agent.ok("get_customer_profile", {"customer_id": ids["german"]})
    assert german["entities"] == [] and german["open_cases"] == []
    assert "98765" not in str(german) and "DE01" not in str(german["scores"])
    own = agent.ok("get_customer_profile", {"customer_id": ids["wanted"]})
    assert own["entities"] == ["GB01"] and "98765" not in str(own)
    refused = agent.refused(
        "get_customer_profile", {"customer_id": ids["german"], "entity": "DE01"}
    )
    assert refused["code"] == "forbidden"
    assert (
        agent.refused("get_customer_affinity", {"customer_id": ids["wanted"]})["code"]
        == "forbidden"
    )


def test_profile_tools_over_http(served: str, container: Container, client: TestClient) -> None:
    ids = _world(client)
    key = new_user(container, "gb-http", ["viewer"], ["GB01"])

    async def steps(session: Client) -> tuple[Any, Any]:
        tools = await session.list_tools()
        found = await session.call_tool("query_customers", {"expression": QUESTION})
        return tools, found

    tools, found = over_http(served, key, steps)
    assert "get_customer_profile" in {t.name for t in tools.tools}
    assert [i["id"] for i in found.structured_content["items"]] == [ids["wanted"]]
