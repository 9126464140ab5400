"""Segment queries (``POST /api/v1/customers/query``) and saved segments through HTTP on
both databases: the seed question answered, keyset pages with a total, type errors with
their position, legal-entity scope, saved segments with live counts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from custmaster.bootstrap import Container
from custmaster.services.profile import segments
from custmaster.services.profile.scoring import rescore
from tests.factories import create, minimal
from tests.profile_rows import put_profile

API = "/api/v1"
QUESTION = (
    'tier == "strategic" && industry == "automotive" && order_frequency_trend < 0 '
    "&& open_quality_complaints > 0"
)
Clients = Callable[..., TestClient]


@pytest.fixture
def world(client: TestClient) -> TestClient:
    for kind, body in (
        ("industries", {"code": "automotive", "name": "Automotive"}),
        ("industries", {"code": "retail", "name": "Retail"}),
        ("account-tiers", {"code": "strategic", "name": "Strategic"}),
    ):
        assert client.post(f"{API}/{kind}", json=body).status_code == 201
    return client


def customer(client: TestClient, name: str, **extra: Any) -> str:
    slug = name.lower().replace(" ", "-")
    return str(create(client, minimal(name, f"ap@{slug}.example", **extra))["id"])


def profiled(client: TestClient, name: str, rows: dict[str, dict[str, Any]], **extra: Any) -> str:
    """A customer with these profile rows (entity -> features), scored by the rules."""
    container: Container = client.app.state.container  # type: ignore[attr-defined]
    found = customer(client, name, **extra)
    for entity, features in rows.items():
        put_profile(container.engine, found, entity, **features)
    rescore(container.uow(), UUID(found))
    return found


def ask(client: TestClient, expression: str, **extra: Any) -> Any:
    return client.post(f"{API}/customers/query", json={"expression": expression, **extra})


def test_the_seed_question_is_answered(world: TestClient) -> None:
    declining = {"order_frequency_trend": -1.5, "open_quality_complaints": 2}
    wanted = profiled(
        world, "Autoparts AG", {"*": declining}, industry="automotive", account_tier="strategic"
    )
    profiled(
        world,
        "Growing Motors",
        {"*": {**declining, "order_frequency_trend": 1.0}},
        industry="automotive",
        account_tier="strategic",
    )
    profiled(world, "Shop Ltd", {"*": declining}, industry="retail", account_tier="strategic")
    profiled(world, "Small Motors", {"*": declining}, industry="automotive")  # tier standard
    response = ask(world, QUESTION)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [i["id"] for i in body["items"]] == [wanted]
    assert body["total"] == 1 and body["next_cursor"] is None
    assert body["items"][0]["name"] == "Autoparts AG"


def test_pages_follow_the_cursor_with_a_total(world: TestClient) -> None:
    for i in range(7):
        profiled(world, f"Page {i}", {"*": {"open_service_cases": i}})
    customer(world, "No Profile")
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        body = ask(world, "open_service_cases >= 1", limit=2, cursor=cursor).json()
        assert body["total"] == 6
        seen += [i["number"] for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 6 and seen == sorted(seen)
    assert body["total_exact"] is True
    # master-field questions see customers without a profile too
    assert ask(world, 'name == "No Profile"').json()["total"] == 1
    assert ask(world, 'name.startsWith("Page ") || name == "No Profile"').json()["total"] == 8
    assert ask(world, "x", cursor="%%%").status_code == 422


def test_a_large_total_is_counted_up_to_the_limit_then_estimated(
    world: TestClient, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beyond ``EXACT_TOTAL_UP_TO`` matches PostgreSQL gives the planner's estimate,
    marked ``total_exact: false`` (never below what was counted); SQLite counts."""
    monkeypatch.setattr(segments, "EXACT_TOTAL_UP_TO", 2)
    for i in range(5):
        profiled(world, f"Many {i}", {"*": {"open_service_cases": 1}})
    few = ask(world, 'open_service_cases == 1 && name == "Many 1"', limit=1).json()
    assert (few["total"], few["total_exact"]) == (1, True)
    body = ask(world, "open_service_cases == 1", limit=1).json()
    assert len(body["items"]) == 1 and body["next_cursor"]
    if container.engine.dialect.name == "postgresql":
        assert body["total_exact"] is False and body["total"] >= 3
    else:
        assert (body["total"], body["total_exact"]) == (5, True)
    saved = world.post(
        f"{API}/segments", json={"name": "many", "expression": "open_service_cases == 1"}
    ).json()
    assert saved["count_exact"] is body["total_exact"]


@pytest.mark.parametrize(
    ("expression", "column", "needle"),
    [
        ('tier == "strategic" && open_quality_complaints > "x"', 50, "orders numbers"),
        ("revenue_12m >", 14, "unexpected end"),
        ("tier == 1", 9, "cannot compare"),
        ("open_quality_complaint > 0", 1, "did you mean open_quality_complaints"),
    ],
)
def test_a_type_error_is_a_422_with_its_position(
    world: TestClient, expression: str, column: int, needle: str
) -> None:
    response = ask(world, expression)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    [error] = response.json()["errors"]
    assert error["field"] == "expression" and error["line"] == 1
    assert error["column"] == column and error["offset"] == column - 1
    assert needle in error["message"]


def test_scope_limits_the_rows_a_question_reads(world: TestClient, client_as: Clients) -> None:
    complaint = {"open_quality_complaints": 1}
    in_de = profiled(world, "German Complaint", {"DE01": complaint, "*": complaint})
    profiled(world, "US Complaint", {"US01": complaint, "*": complaint})
    both = profiled(
        world, "Both", {"US01": complaint, "DE01": {"open_quality_complaints": 0}, "*": complaint}
    )
    german = client_as("hans", roles=["viewer"], entities=["DE01"])
    found = ask(german, "open_quality_complaints > 0").json()
    assert [i["id"] for i in found["items"]] == [in_de]
    assert ask(german, "open_quality_complaints > 0", entity="US01").status_code == 403
    assert ask(german, "open_quality_complaints > 0", entity="*").status_code == 403
    # an unscoped user reads the row over every entity, or one entity's when asked
    assert ask(world, "open_quality_complaints > 0").json()["total"] == 3
    us = ask(world, "open_quality_complaints > 0", entity="US01").json()
    assert {i["name"] for i in us["items"]} == {"US Complaint", "Both"}
    assert both in {i["id"] for i in us["items"]}
    two = client_as("eve", roles=["viewer"], entities=["DE01", "US01"])
    assert ask(two, "open_quality_complaints > 0").json()["total"] == 3


def test_saved_segments_with_live_counts(world: TestClient, client_as: Clients) -> None:
    profiled(world, "Seg One", {"*": {"visits_90d": 0}})
    created = world.post(
        f"{API}/segments", json={"name": "no_visits", "expression": "visits_90d == 0"}
    )
    assert created.status_code == 201, created.text
    segment = created.json()
    assert segment["count"] == 1
    profiled(world, "Seg Two", {"*": {"visits_90d": 0}})
    listed = world.get(f"{API}/segments").json()["items"]
    assert [(s["name"], s["count"]) for s in listed] == [("no_visits", 2)]
    members = world.get(f"{API}/segments/{segment['id']}/customers", params={"limit": 1}).json()
    assert members["total"] == 2 and len(members["items"]) == 1 and members["next_cursor"]
    patched = world.patch(f"{API}/segments/{segment['id']}", json={"expression": "visits_90d > 0"})
    assert patched.status_code == 200 and patched.json()["count"] == 0
    bad = world.patch(f"{API}/segments/{segment['id']}", json={"expression": "visits_90d > 'x'"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["column"] == 14
    again = world.post(f"{API}/segments", json={"name": "no_visits", "expression": "true"})
    assert again.status_code == 409
    other = client_as("rita", roles=["sales_rep"])
    assert other.get(f"{API}/segments/{segment['id']}").status_code == 200
    assert other.delete(f"{API}/segments/{segment['id']}").status_code == 403
    assert world.delete(f"{API}/segments/{segment['id']}").status_code == 204
    assert world.get(f"{API}/segments/{segment['id']}").status_code == 404


def test_segments_of_an_entity_stay_in_scope(world: TestClient, client_as: Clients) -> None:
    us = world.post(
        f"{API}/segments", json={"name": "us_only", "expression": "true", "entity": "US01"}
    ).json()
    german = client_as("hans", roles=["viewer"], entities=["DE01"])
    assert german.get(f"{API}/segments/{us['id']}").status_code == 404
    assert german.get(f"{API}/segments").json()["items"] == []
    refused = german.post(
        f"{API}/segments", json={"name": "mine", "expression": "true", "entity": "US01"}
    )
    assert refused.status_code == 403
    mine = german.post(f"{API}/segments", json={"name": "mine", "expression": "true"})
    assert mine.status_code == 201
