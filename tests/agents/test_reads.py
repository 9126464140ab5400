"""Read tools through the SDK's client, in process: each one's answer, and its refusals
(entity scope, role, invalid input with its structured error)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from custmaster.bootstrap import Container
from custmaster.services.dedup.batch import run_batch
from tests.agents.conftest import Agent
from tests.conftest import new_user
from tests.factories import acme, create, minimal

API = "/api/v1"
NOBODY = "00000000-0000-0000-0000-000000000000"


def test_search_pages_and_respects_the_entity_scope(
    agent_as: Callable[..., Agent], client: TestClient
) -> None:
    for i in range(3):
        create(client, minimal(f"Initech {i}", f"ap{i}@initech.example"))
    agent = agent_as("viewer")
    first = agent.ok("search_customers", {"text": "Initech", "limit": 2})
    assert [c["name"] for c in first["items"]] == ["Initech 0", "Initech 1"]
    assert set(first["items"][0]) >= {"id", "number", "status", "owning_entity", "version"}
    rest = agent.ok("search_customers", {"text": "Initech", "cursor": first["next_cursor"]})
    assert [c["name"] for c in rest["items"]] == ["Initech 2"] and rest["next_cursor"] is None
    scoped = agent_as("de-clerk", roles=["viewer"], entities=["DE01"])
    refused = scoped.refused("search_customers", {"entity": "US01"})
    assert refused["code"] == "forbidden" and refused["status"] == 403
    bad = agent.refused("search_customers", {"customer_type": "alien", "limit": 1000})
    fields = {e["field"]: e for e in bad["errors"]}
    assert set(fields) == {"customer_type", "limit"}
    assert "enterprise" in fields["customer_type"]["allowed"]


def test_get_customer_master_and_effective_view(
    agent_as: Callable[..., Agent], acme_id: str
) -> None:
    agent = agent_as("viewer")
    master = agent.ok("get_customer", {"customer_id": acme_id})
    assert master["credit_limit"] == "50000" and set(master["overrides"]) == {"US01", "DE01"}
    view = agent.ok("get_customer", {"customer_id": acme_id, "entity": "DE01"})
    assert view["entity"] == "DE01" and view["credit_limit"] == "80000"
    assert view["overridden_fields"] == ["credit_limit", "currency", "payment_terms"]
    scoped = agent_as("gb-clerk", roles=["viewer"], entities=["GB01"])
    assert scoped.refused("get_customer", {"customer_id": acme_id, "entity": "DE01"})["code"] == (
        "forbidden"
    )
    assert agent.refused("get_customer", {"customer_id": NOBODY})["code"] == "not_found"
    unknown = agent.refused("get_customer", {"customer_id": acme_id, "entity": "FR01"})
    assert unknown["errors"] == [
        {
            "field": "entity",
            "code": "unknown_reference",
            "message": "no legal entity 'FR01' exists",
            "allowed": ["DE01", "GB01", "US01"],
        }
    ]
    malformed = agent.refused("get_customer", {"customer_id": "C000001"})
    assert malformed["errors"][0]["field"] == "customer_id"
    assert malformed["errors"][0]["code"] == "uuid_parsing"


def test_history_pages_the_audit_trail(
    agent_as: Callable[..., Agent], client: TestClient, acme_id: str
) -> None:
    for note in ("one", "two"):
        assert client.patch(f"{API}/customers/{acme_id}", json={"notes": note}).status_code == 200
    # a viewer reads customers but not the audit trail (audit.read): refused like the API
    assert (
        agent_as("viewer").refused("customer_history", {"customer_id": acme_id})["code"]
        == "forbidden"
    )
    agent = agent_as("controller")
    first = agent.ok("customer_history", {"customer_id": acme_id, "limit": 2})
    assert [e["operation"] for e in first["items"]] == ["create", "update"]
    rest = agent.ok("customer_history", {"customer_id": acme_id, "cursor": first["next_cursor"]})
    assert [e["changes"][0]["after"] for e in rest["items"]] == ["two"]
    assert agent.refused("customer_history", {"customer_id": NOBODY})["code"] == "not_found"
    assert (
        agent.refused("customer_history", {"customer_id": acme_id, "cursor": "!"})["errors"][0][
            "field"
        ]
        == "cursor"
    )


def test_hierarchy_relationships_and_account_team(
    agent_as: Callable[..., Agent], client: TestClient, acme_id: str
) -> None:
    child = create(client, minimal("Acme Europe", "ap@acme-eu.example"))["id"]
    link = {"parent_id": acme_id, "child_id": child, "valid_from": "2026-01-01"}
    assert client.post(f"{API}/hierarchies/legal/links", json=link).status_code == 201
    relation = {
        "customer_id": acme_id,
        "related_id": child,
        "relationship_type": "ship_to",
        "valid_from": "2026-01-01",
    }
    assert client.post(f"{API}/relationships", json=relation).status_code == 201
    unit = {"code": "EMEA", "kind": "region", "name": "EMEA", "parent_code": None}
    assert client.post(f"{API}/org-units", json=unit).status_code == 201
    new_user(client.app.state.container, "kim", ["sales_rep"])  # type: ignore[attr-defined]
    assignment = {
        "user_id": "kim",
        "role": "account_manager",
        "valid_from": "2026-01-01",
        "customer_id": acme_id,
    }
    assert client.post(f"{API}/team-assignments", json=assignment).status_code == 201
    agent = agent_as("viewer")

    tree = agent.ok("customer_hierarchy", {"customer_id": child, "as_of": "2026-06-01"})
    assert tree["root_id"] == acme_id and tree["tree"]["children"][0]["id"] == child
    before = agent.ok(
        "customer_hierarchy", {"customer_id": child, "view": "ancestors", "as_of": "2025-06-01"}
    )
    assert before["items"] == []
    wrong = agent.refused("customer_hierarchy", {"customer_id": child, "hierarchy_type": "x"})
    assert wrong["errors"][0]["allowed"] == ["legal", "sales"]

    related = agent.ok("customer_relationships", {"customer_id": acme_id})["items"]
    assert [(r["relationship_type"], r["related"]["id"]) for r in related] == [("ship_to", child)]
    incoming = agent.ok("customer_relationships", {"customer_id": child, "direction": "incoming"})
    assert len(incoming["items"]) == 1
    assert agent.refused("customer_relationships", {"customer_id": NOBODY})["code"] == "not_found"

    members = agent.ok("account_team", {"customer_id": acme_id, "as_of": "2026-06-01"})["members"]
    assert [(m["user_id"], m["role"]) for m in members] == [("kim", "account_manager")]
    assert agent.refused("account_team", {"customer_id": NOBODY})["code"] == "not_found"


def test_match_record_and_the_duplicate_queue(
    agent_as: Callable[..., Agent], client: TestClient, container: Container
) -> None:
    a = create(client, acme(overrides=None))
    b = create(
        client,
        acme(
            name="ACME Corp.",
            email="AP@acme.example",
            overrides=None,
            pricing_tiers=None,
            tax_profiles=None,
            contacts=None,
        ),
    )
    agent = agent_as("viewer")
    found = agent.ok(
        "match_record", {"record": {"name": "Acme Corporation", "tax_id": "94-1234567"}}
    )
    assert {m["customer_id"] for m in found["items"][:2]} == {a["id"], b["id"]}
    assert found["items"][0]["explanation"] and "thresholds" in found
    stray = agent.refused("match_record", {"record": {"name": "X", "colour": "red"}})
    assert stray["errors"] == [
        {
            "field": "record.colour",
            "code": "unknown_field",
            "message": "is not a field of this record",
        }
    ]

    run_batch(container.uow, container.system_principal(), container.service_settings)
    queue = agent.ok("list_duplicates", {})
    [cluster] = queue["items"]
    assert set(cluster["members"]) == {a["id"], b["id"]} and cluster["status"] == "open"
    assert cluster["pairs"][0]["explanation"]
    assert agent.ok("list_duplicates", {"status": "merged"})["items"] == []
    assert agent.refused("list_duplicates", {"status": "maybe"})["errors"][0]["allowed"] == [
        "open",
        "merged",
        "not_duplicate",
        "superseded",
        "all",
    ]


def test_reference_lookups(agent_as: Callable[..., Agent]) -> None:
    agent = agent_as("viewer")
    first = agent.ok("lookup_reference", {"kind": "payment_terms", "limit": 2})
    assert [t["code"] for t in first["items"]] == ["NET30", "NET45"]
    rest = agent.ok("lookup_reference", {"kind": "payment_terms", "cursor": first["next_cursor"]})
    assert [t["code"] for t in rest["items"]] == ["NET60"]
    department = agent.ok("lookup_reference", {"kind": "dimension_types", "code": "department"})
    assert [v["code"] for v in department["values"]] == ["SALES", "SERVICE"]
    assert agent.refused("lookup_reference", {"kind": "tax_codes", "code": "NOPE"})["code"] == (
        "not_found"
    )
    planets = agent.refused("lookup_reference", {"kind": "planets"})
    assert "legal_entities" in planets["errors"][0]["allowed"]


def test_change_requests_are_read_by_those_who_may(
    agent_as: Callable[..., Agent], acme_id: str, governed: Container
) -> None:
    steward = agent_as("steward", roles=["data_steward"])
    agent_as("ar", roles=["ar_manager"])
    agent_as("ctrl", roles=["controller"])
    proposed = steward.ok(
        "propose_update_customer",
        {"customer_id": acme_id, "changes": {"customer_group": "KEYACCT"}, "idempotency_key": "n1"},
    )
    request_id = proposed["change_request"]["id"]
    read = steward.ok("get_change_request", {"request_id": request_id})
    assert read["status"] == "pending" and read["submitted_by"] == "steward"
    refused = agent_as("viewer").refused("get_change_request", {"request_id": request_id})
    assert refused["code"] == "forbidden"
    assert steward.refused("get_change_request", {"request_id": NOBODY})["code"] == "not_found"
