"""Profile rules through HTTP on both databases: the shipped version, a new version
proposed, refused when it does not type-check (path and position), approved by a second
person under the shipped policy (or rejected, or conflicted), audited and evented; scores
follow the active version with their explanation, and changed outcomes are events."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any
from uuid import UUID

from fastapi.testclient import TestClient

from custmaster.bootstrap import Container
from custmaster.domain.profile_rules_default import DEFAULT_RULES
from custmaster.services.profile.scoring import EVENT_TYPE, rescore
from tests.factories import create, minimal, outbox_events
from tests.profile_rows import put_profile

API = "/api/v1"
Clients = Callable[..., TestClient]


def strict_rules() -> dict[str, Any]:
    """The defaults with a lower bar for the strategic tier."""
    rules = copy.deepcopy(DEFAULT_RULES)
    rules["tiers"][0]["when"] = "revenue_12m >= 1000.0"
    return rules


def propose(client: TestClient, definition: dict[str, Any]) -> Any:
    return client.post(f"{API}/profile-rules", json={"definition": definition})


def versions(client: TestClient) -> list[tuple[int, bool]]:
    return [(v["version"], v["active"]) for v in client.get(f"{API}/profile-rules").json()["items"]]


def test_the_shipped_rules_are_version_one(client: TestClient) -> None:
    assert versions(client) == [(1, True)]
    one = client.get(f"{API}/profile-rules/1").json()
    assert one["definition"]["default_tier"] == "standard"
    assert client.get(f"{API}/profile-rules/7").status_code == 404


def test_a_version_beyond_any_stored_number_is_bad_input(client: TestClient) -> None:
    for version in ("9223372036854775808", "2147483648", "0"):
        answer = client.get(f"{API}/profile-rules/{version}")
        assert answer.status_code == 422, (version, answer.text)
    assert client.get(f"{API}/profile-rules/2147483647").status_code == 404


def test_a_new_version_needs_a_second_person(
    client: TestClient, client_as: Clients, governed: Container
) -> None:
    ann = client_as("ann", roles=["data_steward"])
    bob = client_as("bob", roles=["data_steward"])
    response = propose(ann, strict_rules())
    assert response.status_code == 202, response.text
    request = response.json()["change_request"]
    assert request["operation"] == "profile_rules_change" and request["status"] == "pending"
    assert versions(client) == [(1, True)]
    own = ann.post(f"{API}/change-requests/{request['id']}/approve", json={})
    assert own.status_code == 403
    approved = bob.post(f"{API}/change-requests/{request['id']}/approve", json={"comment": "ok"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "applied"
    assert versions(client) == [(1, False), (2, True)]
    two = client.get(f"{API}/profile-rules/2").json()
    assert two["created_by"] == "ann" and two["change_request_id"] == request["id"]
    assert two["definition"]["tiers"][0]["when"] == "revenue_12m >= 1000.0"
    activated = [
        e for e in outbox_events(governed) if e["type"] == "custmaster.profile_rules.activated"
    ]
    assert [e["data"]["version"] for e in activated] == [2]
    history = client.get(f"{API}/change-requests/{request['id']}").json()
    assert [s["decided_by"] for s in history["steps"]] == ["bob"]


def test_a_rejected_or_outdated_version_never_lands(
    client: TestClient, client_as: Clients, governed: Container
) -> None:
    ann = client_as("ann", roles=["data_steward"])
    bob = client_as("bob", roles=["data_steward"])
    first = propose(ann, strict_rules()).json()["change_request"]
    second = propose(ann, DEFAULT_RULES).json()["change_request"]
    third = propose(ann, DEFAULT_RULES).json()["change_request"]
    rejected = bob.post(f"{API}/change-requests/{first['id']}/reject", json={"reason": "too low"})
    assert rejected.json()["status"] == "rejected"
    assert (
        bob.post(f"{API}/change-requests/{second['id']}/approve", json={}).json()["status"]
        == "applied"
    )
    late = bob.post(f"{API}/change-requests/{third['id']}/approve", json={}).json()
    assert late["status"] == "conflicted" and late["conflict_fields"] == ["profile_rules"]
    assert versions(client) == [(1, False), (2, True)]


def test_a_rule_that_does_not_check_is_refused_with_its_position(
    client: TestClient, client_as: Clients, governed: Container
) -> None:
    bad = copy.deepcopy(DEFAULT_RULES)
    bad["segments"][1]["when"] = "order_frequency_trend < 0.0 && revenue_yoy < 'low'"
    bad["actions"][0]["when"] = "days_since(oldest_open_complaint_date)"
    response = propose(client_as("ann", roles=["data_steward"]), bad)
    assert response.status_code == 422
    errors = {e["field"]: e for e in response.json()["errors"]}
    assert errors["segments[1].when"]["column"] == 46
    assert "must be a bool" in errors["actions[0].when"]["message"]
    assert client.get(f"{API}/change-requests").json()["items"] == []


def test_who_may_propose(client: TestClient, client_as: Clients, governed: Container) -> None:
    assert propose(client_as("val", roles=["viewer"]), DEFAULT_RULES).status_code == 403
    scoped = client_as("sue", roles=["data_steward"], entities=["DE01"])
    assert propose(scoped, DEFAULT_RULES).status_code == 403


def test_scores_follow_the_active_rules_and_changes_are_events(
    client: TestClient, container: Container
) -> None:
    customer = UUID(create(client, minimal("Scored Inc", "ap@scored.example"))["id"])
    put_profile(
        container.engine,
        customer,
        "*",
        revenue_12m=5000.0,
        order_frequency_trend=-2.0,
        open_quality_complaints=1,
        visits_90d=0,
    )
    put_profile(container.engine, customer, "US01", revenue_12m=5000.0)
    first = rescore(container.uow(), customer)
    assert {e.data["legal_entity"] for e in first} == {"*", "US01"}
    assert rescore(container.uow(), customer) == []  # nothing changed: no event
    assert propose(client, strict_rules()).status_code == 201  # the tests' policy: green
    changed = rescore(container.uow(), customer)
    assert {e.data["legal_entity"] for e in changed} == {"*", "US01"}
    star = next(e for e in changed if e.data["legal_entity"] == "*")
    assert star.type == EVENT_TYPE and star.data["changed"] == ["segments", "tier"]
    assert star.data["after"]["tier"] == "strategic" and star.data["rules_version"] == 2
    stored = [e for e in outbox_events(container) if e["type"] == EVENT_TYPE]
    assert len(stored) == 4
    with container.uow().read_only() as uow:
        scores = uow.profile_rules.scores(customer)
    explanation = scores["*"].explanation
    assert explanation["tier"]["rule"] == "tiers[0]: revenue_12m >= 1000.0"
    assert explanation["rules_version"] == 2
    assert "at_risk_strategic" in scores["*"].segments
