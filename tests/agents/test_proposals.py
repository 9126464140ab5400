"""Proposal tools through the SDK's client, in process: each one applies (the tests'
direct policy) or is refused (role, entity scope, invalid input), audited under the user
and marked as made through an agent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from custmaster.bootstrap import Container
from tests.agents.conftest import Agent
from tests.factories import acme, create, minimal

API = "/api/v1"


def history(client: TestClient, customer_id: str) -> list[dict[str, Any]]:
    response = client.get(f"{API}/customers/{customer_id}/history")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_create_applies_and_is_audited_as_made_through_an_agent(
    agent_as: Callable[..., Agent], client: TestClient
) -> None:
    agent = agent_as("ar", roles=["ar_manager"])
    made = agent.ok("propose_create_customer", {"customer": acme(), "idempotency_key": "c1"})
    assert made["outcome"] == "applied"
    customer = made["customer"]
    assert customer["number"] and customer["overrides"]["DE01"]["credit_limit"] == "80000"
    [entry] = history(client, customer["id"])
    assert (entry["actor_id"], entry["actor_name"]) == ("ar", "ar (via MCP agent)")


def test_create_refusals_name_the_fields_and_the_allowed_values(
    agent_as: Callable[..., Agent],
) -> None:
    viewer = agent_as("viewer")
    assert (
        viewer.refused("propose_create_customer", {"customer": acme(), "idempotency_key": "v1"})[
            "code"
        ]
        == "forbidden"
    )
    scoped = agent_as("de-ar", roles=["ar_manager"], entities=["DE01"])
    other = scoped.refused(
        "propose_create_customer", {"customer": acme(overrides=None), "idempotency_key": "s1"}
    )
    assert other["code"] == "forbidden" and "owning_entity" in other["detail"]
    agent = agent_as("ar", roles=["ar_manager"])
    bad = agent.refused(
        "propose_create_customer",
        {
            "customer": acme(
                email="not-an-email",
                payment_terms="NET99",
                customer_type="alien",
                dimensions={"department": "MARKETING"},
            ),
            "idempotency_key": "b1",
        },
    )
    errors = {e["field"]: e for e in bad["errors"]}
    assert errors["customer.customer_type"]["allowed"][0] == "retail"
    assert bad["status"] == 422 and bad["hint"]
    valid_type = agent.refused(
        "propose_create_customer",
        {
            "customer": acme(
                email="not-an-email",
                payment_terms="NET99",
                owning_entity="FR01",
                dimensions={"department": "MARKETING"},
            ),
            "idempotency_key": "b2",
        },
    )
    errors = {e["field"]: e for e in valid_type["errors"]}
    assert errors["customer.email"]["code"] == "invalid_email"
    assert errors["customer.payment_terms"]["allowed"] == ["NET30", "NET45", "NET60"]
    assert errors["customer.owning_entity"]["allowed"] == ["DE01", "GB01", "US01"]
    [dimension] = [e for f, e in errors.items() if f.startswith("customer.dimensions")]
    assert dimension["allowed"] == ["SALES", "SERVICE"]


def test_update_with_action_lists_and_its_refusals(
    agent_as: Callable[..., Agent], client: TestClient, acme_id: str
) -> None:
    agent = agent_as("ar", roles=["ar_manager"])
    changes = {
        "notes": "key account",
        "addresses": [
            {
                "action": "add",
                "type": "shipping",
                "lines": ["1 Dock Rd"],
                "city": "Oakland",
                "country": "US",
            }
        ],
        "overrides": [{"action": "update", "entity": "DE01", "credit_limit": "90000"}],
    }
    updated = agent.ok(
        "propose_update_customer",
        {
            "customer_id": acme_id,
            "changes": changes,
            "idempotency_key": "u1",
            "expected_version": 1,
        },
    )
    customer = updated["customer"]
    assert customer["version"] == 2 and len(customer["addresses"]) == 2
    assert customer["overrides"]["DE01"]["credit_limit"] == "90000"
    assert history(client, acme_id)[-1]["actor_name"] == "ar (via MCP agent)"

    stale = agent.refused(
        "propose_update_customer",
        {
            "customer_id": acme_id,
            "changes": {"notes": "x"},
            "idempotency_key": "u2",
            "expected_version": 1,
        },
    )
    assert stale["code"] == "stale_version" and stale["current_version"] == 2
    steward = agent_as("steward", roles=["data_steward"])
    finance = steward.refused(
        "propose_update_customer",
        {"customer_id": acme_id, "changes": {"credit_limit": "1"}, "idempotency_key": "u3"},
    )
    assert finance["code"] == "forbidden" and "credit_limit" in finance["detail"]
    scoped = agent_as("gb-ar", roles=["ar_manager"], entities=["GB01"])
    assert (
        scoped.refused(
            "propose_update_customer",
            {
                "customer_id": acme_id,
                "changes": {"notes": "x"},
                "idempotency_key": "u4",
            },
        )["code"]
        == "forbidden"
    )
    wrong = agent.refused(
        "propose_update_customer",
        {
            "customer_id": acme_id,
            "changes": {"number": "C1", "email": "bad"},
            "idempotency_key": "u5",
        },
    )
    assert wrong["errors"] == [
        {
            "field": "changes.number",
            "code": "unknown_field",
            "message": "is not a field of this record",
        }
    ]


def test_deactivate_and_reactivate(agent_as: Callable[..., Agent], acme_id: str) -> None:
    agent = agent_as("ar", roles=["ar_manager"])
    off = agent.ok("propose_deactivate_customer", {"customer_id": acme_id, "idempotency_key": "d1"})
    assert off["outcome"] == "applied" and off["customer"]["status"] == "inactive"
    again = agent.refused(
        "propose_deactivate_customer", {"customer_id": acme_id, "idempotency_key": "d2"}
    )
    assert again["code"] == "conflict"
    on = agent.ok("propose_reactivate_customer", {"customer_id": acme_id, "idempotency_key": "r1"})
    assert on["customer"]["status"] == "active"
    sales = agent_as("rep", roles=["sales_rep"])
    assert (
        sales.refused(
            "propose_deactivate_customer", {"customer_id": acme_id, "idempotency_key": "d3"}
        )["code"]
        == "forbidden"
    )


def test_merge_and_unmerge(
    agent_as: Callable[..., Agent], client: TestClient, acme_id: str
) -> None:
    twin = create(
        client,
        acme(
            name="ACME Corp.", overrides=None, contacts=None, pricing_tiers=None, tax_profiles=None
        ),
    )["id"]
    viewer = agent_as("viewer")
    assert (
        viewer.refused(
            "propose_merge",
            {"survivor_id": acme_id, "absorbed_ids": [twin], "idempotency_key": "m0"},
        )["code"]
        == "forbidden"
    )
    agent = agent_as("steward", roles=["data_steward"])
    none = agent.refused(
        "propose_merge", {"survivor_id": acme_id, "absorbed_ids": [], "idempotency_key": "m1"}
    )
    assert none["errors"][0]["field"] == "absorbed_ids"
    merged = agent.ok(
        "propose_merge", {"survivor_id": acme_id, "absorbed_ids": [twin], "idempotency_key": "m2"}
    )
    assert merged["outcome"] == "applied" and merged["absorbed_ids"] == [twin]
    gone = agent.refused("get_customer", {"customer_id": twin})
    assert gone["code"] == "customer_merged" and gone["survivor_id"] == acme_id
    undone = agent.ok("propose_unmerge", {"merge_id": merged["merge_id"], "idempotency_key": "m3"})
    assert [c["id"] for c in undone["restored"]] == [twin]
    twice = agent.refused(
        "propose_unmerge", {"merge_id": merged["merge_id"], "idempotency_key": "m4"}
    )
    assert twice["code"] == "conflict"


def test_hierarchy_link_and_move(
    agent_as: Callable[..., Agent], client: TestClient, acme_id: str
) -> None:
    europe = create(client, minimal("Acme Europe", "ap@acme-eu.example"))["id"]
    holding = create(client, minimal("Acme Holding", "ap@acme-holding.example"))["id"]
    agent = agent_as("ar", roles=["ar_manager"])
    link = agent.ok(
        "propose_hierarchy_link",
        {
            "parent_id": acme_id,
            "child_id": europe,
            "valid_from": "2026-01-01",
            "idempotency_key": "h1",
        },
    )
    assert link["link"]["parent_id"] == acme_id
    cycle = agent.refused(
        "propose_hierarchy_link",
        {
            "parent_id": europe,
            "child_id": acme_id,
            "valid_from": "2026-01-01",
            "idempotency_key": "h2",
        },
    )
    assert cycle["status"] in (409, 422)
    moved = agent.ok(
        "propose_hierarchy_move",
        {
            "customer_id": europe,
            "new_parent_id": holding,
            "effective_date": "2026-07-01",
            "idempotency_key": "h3",
        },
    )
    assert moved["move"]["to_parent_id"] == holding
    tree = agent.ok(
        "customer_hierarchy", {"customer_id": europe, "view": "ancestors", "as_of": "2026-08-01"}
    )
    assert [a["id"] for a in tree["items"]] == [holding]
    viewer = agent_as("viewer")
    assert (
        viewer.refused(
            "propose_hierarchy_move",
            {
                "customer_id": europe,
                "effective_date": "2026-09-01",
                "idempotency_key": "h4",
            },
        )["code"]
        == "forbidden"
    )
    bad_date = agent.refused(
        "propose_hierarchy_link",
        {
            "parent_id": acme_id,
            "child_id": holding,
            "valid_from": "first of May",
            "idempotency_key": "h5",
        },
    )
    assert bad_date["errors"][0]["field"] == "valid_from"


def test_validate_an_import_file_changes_nothing(
    agent_as: Callable[..., Agent], client: TestClient, samples_dir: Any
) -> None:
    content = (samples_dir / "hubspot_companies.csv").read_text(encoding="utf-8")
    lines = content.splitlines()
    sample = "\n".join(lines[:21]) + "\n"
    agent = agent_as("ar", roles=["ar_manager"])
    report = agent.ok(
        "validate_import_file",
        {"template": "hubspot", "filename": "companies.csv", "content": sample, "entity": "US01"},
    )
    assert report["status"] == "done"
    assert report["summary"]["planned"]["failed"] == 20  # HubSpot companies carry no email
    first = report["failed_rows"][0]
    assert first["rows"] == [1] and first["errors"][0]["field"] == "email"
    assert client.get(f"{API}/customers").json()["items"] == []
    unknown = agent.refused(
        "validate_import_file", {"template": "nope", "filename": "x.csv", "content": sample}
    )
    assert unknown["errors"][0]["field"] == "template"
    viewer = agent_as("viewer")
    assert (
        viewer.refused(
            "validate_import_file", {"template": "hubspot", "filename": "x.csv", "content": sample}
        )["code"]
        == "forbidden"
    )


def test_a_retried_proposal_creates_once(
    agent_as: Callable[..., Agent], client: TestClient, container: Container
) -> None:
    agent = agent_as("ar", roles=["ar_manager"])
    arguments = {"customer": acme(), "idempotency_key": "once"}
    first = agent.ok("propose_create_customer", arguments)
    again = agent.ok("propose_create_customer", arguments)
    assert again == first
    assert len(client.get(f"{API}/customers", params={"q": "Acme"}).json()["items"]) == 1
    other = agent.refused(
        "propose_create_customer", {"customer": acme(name="Acme Two"), "idempotency_key": "once"}
    )
    assert other["code"] == "idempotency_key_reused"
