"""The server an agent sees: its tools and their schemas, resources and prompts."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import pytest

from tests.agents.conftest import Agent

READS = {
    "search_customers",
    "get_customer",
    "customer_history",
    "customer_hierarchy",
    "customer_relationships",
    "account_team",
    "match_record",
    "list_duplicates",
    "lookup_reference",
    "get_change_request",
    "query_customers",
    "get_customer_profile",
    "get_customer_affinity",
}
PROPOSALS = {
    "propose_create_customer",
    "propose_update_customer",
    "propose_deactivate_customer",
    "propose_reactivate_customer",
    "propose_merge",
    "propose_unmerge",
    "propose_hierarchy_link",
    "propose_hierarchy_move",
}


def test_lists_the_read_and_proposal_tools_and_none_that_decides(
    agent_as: Callable[..., Agent],
) -> None:
    agent = agent_as("viewer")
    tools = {t.name: t for t in agent.session(lambda c: c.list_tools()).tools}
    assert set(tools) == READS | PROPOSALS | {"validate_import_file"}
    assert not [n for n in tools if any(w in n for w in ("approve", "reject", "withdraw"))]
    for name, tool in tools.items():
        assert tool.description and len(tool.description) > 60, name
        assert tool.input_schema["type"] == "object"
        assert tool.annotations is not None
        assert tool.annotations.read_only_hint is (name in READS), name
    for name in PROPOSALS:
        assert "idempotency_key" in tools[name].input_schema["required"], name
    # precise schemas: the create proposal carries the API's customer schema
    create = tools["propose_create_customer"].input_schema
    customer = create["$defs"]["CustomerCreate"]
    assert {"kind", "name", "email"} <= set(customer["required"])
    assert customer["additionalProperties"] is False
    get = tools["get_customer"].input_schema["properties"]["customer_id"]
    assert get["format"] == "uuid"


def test_server_says_what_it_is_and_that_it_cannot_approve(agent_as: Callable[..., Agent]) -> None:
    agent = agent_as("viewer")
    instructions = agent.session(lambda c: _instructions(c))
    assert "cannot approve" in instructions


async def _instructions(client: object) -> str:
    found = getattr(client, "instructions", None)
    return str(found)


def test_reads_a_customer_resource_the_schema_the_policy_and_reference_data(
    agent_as: Callable[..., Agent], acme_id: str
) -> None:
    agent = agent_as("clerk", roles=["viewer"], entities=["US01"])
    templates = agent.session(lambda c: c.list_resource_templates()).resource_templates
    assert {t.uri_template for t in templates} == {
        "customer://{customer_id}",
        "custmaster://reference/{kind}",
    }
    static = {str(r.uri) for r in agent.session(lambda c: c.list_resources()).resources}
    assert static == {"custmaster://schema/customer", "custmaster://approval-policy"}

    customer = agent.read(f"customer://{acme_id}")
    assert isinstance(customer, dict)
    assert customer["name"] == "Acme Corporation"
    assert set(customer["overrides"]) == {"US01"}  # DE01's override is not in the scope
    schema = agent.read("custmaster://schema/customer")
    assert isinstance(schema, dict)
    assert "overrides" in schema["create"]["properties"]
    policy = agent.read("custmaster://approval-policy")
    assert isinstance(policy, dict)
    assert set(policy["operations"]) >= {"create", "update", "merge"}
    entities = agent.read("custmaster://reference/legal_entities")
    assert isinstance(entities, dict)
    assert [e["code"] for e in entities["items"]] == ["DE01", "GB01", "US01"]


def test_resource_refusals(agent_as: Callable[..., Agent], acme_id: str) -> None:
    viewer = agent_as("viewer")
    missing = viewer.read_refused("customer://00000000-0000-0000-0000-000000000000")
    assert json.loads(missing.message)["error"]["code"] == "not_found"
    malformed = viewer.read_refused("customer://not-an-id")
    assert json.loads(malformed.message)["error"]["errors"][0]["field"] == "customer_id"
    assert "legal_entities" in viewer.read_refused("custmaster://reference/planets").message
    scoped = agent_as("de-viewer", roles=["viewer"], entities=["DE01"])
    assert scoped.read(f"customer://{acme_id}")["overrides"].keys() == {"DE01"}


def test_prompts_walk_through_the_tools(agent_as: Callable[..., Agent]) -> None:
    agent = agent_as("viewer")
    prompts = {p.name for p in agent.session(lambda c: c.list_prompts()).prompts}
    assert prompts == {"onboard_customer", "credit_review", "duplicate_cleanup"}
    onboard = agent.session(
        lambda c: c.get_prompt("onboard_customer", {"name": "Globex", "entity": "DE01"})
    )
    text = onboard.messages[0].content.text
    assert "Globex" in text and "DE01" in text
    assert "match_record" in text and "propose_create_customer" in text
    assert "never approve" in text
    review = agent.session(lambda c: c.get_prompt("credit_review", {"customer_id": "X"}))
    assert "customer_history" in review.messages[0].content.text
    cleanup = agent.session(lambda c: c.get_prompt("duplicate_cleanup", {}))
    assert "propose_merge" in cleanup.messages[0].content.text


def test_every_call_is_logged_with_its_user_and_outcome(
    agent_as: Callable[..., Agent], acme_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    agent = agent_as("viewer")
    with caplog.at_level(logging.INFO, logger="custmaster.agents.calls"):
        agent.ok("get_customer", {"customer_id": acme_id})
        agent.refused(
            "propose_deactivate_customer", {"customer_id": acme_id, "idempotency_key": "k"}
        )
        agent.refused("no_such_tool", {})
    lines = [r.getMessage() for r in caplog.records if r.name == "custmaster.agents.calls"]
    assert [line.split(" ms=")[0] for line in lines] == [
        "tool=get_customer user=viewer via=mcp outcome=ok",
        "tool=propose_deactivate_customer user=viewer via=mcp outcome=refused:forbidden",
        "tool=no_such_tool user=viewer via=mcp outcome=refused:unknown_tool",
    ]
