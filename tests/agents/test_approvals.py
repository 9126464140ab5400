"""Approvals stay with people: under the shipped policy an agent's proposal waits for two
human approvals through the REST API and then shows as applied; no agent, through any
tool or through the services, approves a change request (its own or anyone's)."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from custmaster.agents.caller import as_agent
from custmaster.bootstrap import Container
from custmaster.domain.approvals.errors import SegregationOfDuties
from custmaster.services.governance.decide import approve, get_request
from tests.agents.conftest import Agent
from tests.factories import acme, minimal

API = "/api/v1"


def test_a_proposal_waits_for_two_people_and_then_shows_as_applied(
    agent_as: Callable[..., Agent], client_as: Callable[..., TestClient], governed: Container
) -> None:
    ar_manager = client_as("arm", roles=["ar_manager"])
    controller = client_as("ctl", roles=["controller"])
    agent = agent_as("clerk", roles=["ar_manager"])
    proposed = agent.ok("propose_create_customer", {"customer": acme(), "idempotency_key": "a1"})
    assert proposed["outcome"] == "pending_approval"
    request = proposed["change_request"]
    assert request["lane"] == "yellow" and request["status"] == "pending"
    assert [s["role"] for s in request["steps"]] == ["ar_manager", "controller"]
    assert {d["field"] for d in request["diff"]} >= {"name", "email", "overrides.DE01"}
    assert "cannot" in proposed["next"]
    assert agent.ok("search_customers", {"text": "Acme"})["items"] == []

    stored = ar_manager.get(f"{API}/change-requests/{request['id']}").json()
    assert stored["submitted_by"] == "clerk"
    assert stored["change"]["payload"]["submitted_via"] == "mcp"
    first = ar_manager.post(f"{API}/change-requests/{request['id']}/approve", json={})
    assert first.status_code == 200, first.text
    assert agent.ok("get_change_request", {"request_id": request["id"]})["status"] == "pending"
    second = controller.post(f"{API}/change-requests/{request['id']}/approve", json={})
    assert second.status_code == 200, second.text

    applied = agent.ok("get_change_request", {"request_id": request["id"]})
    assert applied["status"] == "applied"
    assert [s["decided_by"] for s in applied["steps"]] == ["arm", "ctl"]
    [found] = agent.ok("search_customers", {"text": "Acme"})["items"]
    history = agent.ok("customer_history", {"customer_id": found["id"]})["items"]
    assert history[0]["change_request_id"] == request["id"]
    assert history[0]["actor_name"] == "clerk (via MCP agent)"  # applied for the proposer


def test_no_agent_approves_a_change_request(
    agent_as: Callable[..., Agent],
    client_as: Callable[..., TestClient],
    governed: Container,
) -> None:
    client_as("arm", roles=["ar_manager"])
    client_as("ctl", roles=["controller"])
    clerk = agent_as("clerk", roles=["ar_manager"])
    request_id = clerk.ok("propose_create_customer", {"customer": acme(), "idempotency_key": "n1"})[
        "change_request"
    ]["id"]
    # an agent acting for an approver with every right to approve the first step
    approver = agent_as("boss", roles=["ar_manager", "controller", "admin"])
    for tool in (
        "approve_change_request",
        "approve",
        "reject_change_request",
        "withdraw_change_request",
    ):
        refused = approver.refused(tool, {"request_id": request_id})
        assert refused["code"] == "unknown_tool" and "people" in refused["hint"]
        assert not [t for t in refused["errors"][0]["allowed"] if "approve" in t]
    # nor through the services: the domain refuses an agent's principal as a decider
    with pytest.raises(SegregationOfDuties, match="agent"):
        approve(
            governed.uow(),
            as_agent(approver.principal),
            UUID(request_id),
            governed.service_settings,
        )
    with pytest.raises(SegregationOfDuties, match="agent"):
        approve(
            governed.uow(), as_agent(clerk.principal), UUID(request_id), governed.service_settings
        )
    still = get_request(governed.uow(), approver.principal, UUID(request_id))
    assert still.status.value == "pending" and not still.can_decide(as_agent(approver.principal))
    assert still.can_decide(approver.principal)  # the person may: the agent for them may not


def test_the_user_behind_an_agent_is_its_proposals_submitter(
    agent_as: Callable[..., Agent],
    client_as: Callable[..., TestClient],
    app: FastAPI,
    governed: Container,
) -> None:
    client_as("arm", roles=["ar_manager"])
    client_as("ctl", roles=["controller"])
    agent = agent_as("lead", roles=["ar_manager", "controller"])
    request_id = agent.ok("propose_create_customer", {"customer": acme(), "idempotency_key": "s1"})[
        "change_request"
    ]["id"]
    person = TestClient(app)  # the user themselves, with the key their agent uses
    person.headers["Authorization"] = f"Bearer {agent.key}"
    own = person.post(f"{API}/change-requests/{request_id}/approve", json={})
    assert own.status_code == 403 and "submitter" in own.json()["detail"]


@pytest.fixture
def two_customers(client: TestClient) -> tuple[str, str]:
    """Two customers made under the tests' direct policy (list it before ``governed``)."""
    made = [
        client.post(f"{API}/customers", json=minimal(name, email))
        for name, email in (
            ("Acme Holding", "ap@holding.example"),
            ("Acme Europe", "ap@europe.example"),
        )
    ]
    assert [m.status_code for m in made] == [201, 201]
    return made[0].json()["id"], made[1].json()["id"]


def test_a_legal_hierarchy_link_waits_like_the_rest_apis(
    agent_as: Callable[..., Agent],
    client_as: Callable[..., TestClient],
    two_customers: tuple[str, str],
    governed: Container,
) -> None:
    """Under the shipped policy the legal hierarchy is yellow: the agent's link is a
    change request with its effect, nothing is linked until people approve."""
    client_as("arm", roles=["ar_manager"])
    client_as("ctl", roles=["controller"])
    parent_id, child_id = two_customers
    agent = agent_as("steward", roles=["data_steward"])
    proposed = agent.ok(
        "propose_hierarchy_link",
        {
            "parent_id": parent_id,
            "child_id": child_id,
            "valid_from": "2026-01-01",
            "idempotency_key": "l1",
        },
    )
    assert proposed["outcome"] == "pending_approval"
    request = proposed["change_request"]
    assert request["operation"] == "hierarchy_link" and request["lane"] == "yellow"
    tree = agent.ok("customer_hierarchy", {"customer_id": child_id, "view": "ancestors"})
    assert tree["items"] == []
