"""The short path of POST /api/v1/match answers exactly as the FastAPI route does, and
passes every request it cannot vouch for on to the route, on both databases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from custmaster.api import deps, match_lane
from custmaster.api.lanes import MAX_BODY
from custmaster.api.match_lane import MatchLane
from custmaster.bootstrap import Container
from custmaster.domain.errors import Forbidden
from custmaster.services.auth import KeyCache
from tests.conftest import spy_lane_answers
from tests.factories import acme, create, minimal

MATCH = "/api/v1/match"
CANDIDATES: list[dict[str, Any]] = [
    {"name": "ACME Corp.", "email": "AP@acme.example"},
    {"name": "Globex", "addresses": [{"postal_code": "10115", "city": "Berlin", "country": "DE"}]},
    {"tax_id": "941234567"},
    {"kind": "organization", "name": "Nobody Known GmbH", "phone": "+49 30 1234567"},
    {},
]


@pytest.fixture
def lane_answers(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """One entry per POST /match the lane looked at (see ``spy_lane_answers``)."""
    return spy_lane_answers(monkeypatch, MatchLane)


def _answers(client: TestClient, **params: Any) -> list[tuple[int, Any]]:
    out = []
    for candidate in CANDIDATES:
        response = client.post(MATCH, json=candidate, params=params)
        out.append((response.status_code, response.json()))
    return out


def test_the_lane_answers_as_the_route_does(
    client: TestClient,
    container: Container,
    lane_answers: list[bool],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    create(client, acme())
    create(client, minimal("Globex Ltd", "ap@globex.example"))
    # without a key cache no request is the lane's: these are the route's answers
    by_route = _answers(client) + _answers(client, limit=1, min_score=0.5)
    assert not any(lane_answers) and len(lane_answers) == 2 * len(CANDIDATES)
    assert by_route[0][0] == 200 and by_route[0][1]["items"], "the case has a match"

    lane_answers.clear()
    monkeypatch.setattr(container, "key_cache", KeyCache(60))  # restored after the test
    client.get("/api/v1/legal-entities")  # verifies and caches the client's key
    by_lane = _answers(client) + _answers(client, limit=1, min_score=0.5)
    assert all(lane_answers) and len(lane_answers) == 2 * len(CANDIDATES)
    assert by_lane == by_route


@pytest.mark.parametrize(
    ("request_args", "status"),
    [
        ({"json": {"nickname": "Acme"}}, 422),  # unknown field
        ({"json": {"name": 42}}, 422),  # wrong type
        ({"content": b"{not json", "headers": {"Content-Type": "application/json"}}, 422),
        ({"json": {"name": "Acme"}, "params": {"limit": 0}}, 422),
        ({"json": {"name": "Acme"}, "params": {"limit": 51}}, 422),
        ({"json": {"name": "Acme"}, "params": {"min_score": "1.5"}}, 422),
        ({"json": {"name": "Acme"}, "params": {"limit": "ten"}}, 422),
        ({"json": {"name": "Acme"}, "params": {"limit": "1_0"}}, 200),  # the route reads 10
        ({"json": {"name": "Acme"}, "params": {"min_score": "nan"}}, 422),
        ({"json": {"name": "Acme"}, "params": [("limit", "5"), ("limit", "6")]}, 200),
        ({"json": {"name": "Acme"}, "params": {"unknown": "1"}}, 200),  # the route ignores it
        ({"json": {"name": "Acme"}, "headers": {"Authorization": "Bearer cm_no_such"}}, 401),
        ({"json": {"name": "Acme"}, "headers": {"Authorization": "Basic abc"}}, 401),
        ({"content": b'{"name": "Acme"}', "headers": {"Content-Type": "text/plain"}}, 422),
        ({"json": {"name": "Acme", "notes": "x" * MAX_BODY}}, 413),  # over the /match limit
    ],
)
def test_what_the_lane_cannot_vouch_for_gets_the_routes_answer(
    client: TestClient,
    cached_keys: None,
    lane_answers: list[bool],
    request_args: dict[str, Any],
    status: int,
) -> None:
    create(client, acme())
    client.get("/api/v1/legal-entities")  # the client's own key is cached
    response = client.post(MATCH, **request_args)
    assert response.status_code == status, response.text
    assert not any(lane_answers)
    if status != 200:
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == status


def test_a_key_not_yet_verified_goes_the_route_way_then_the_lanes(
    client: TestClient,
    client_as: Callable[..., TestClient],
    cached_keys: None,
    lane_answers: list[bool],
) -> None:
    create(client, acme())
    viewer = client_as("vera", roles=["viewer"])
    first = viewer.post(MATCH, json=CANDIDATES[0])  # the route verifies and caches the key
    second = viewer.post(MATCH, json=CANDIDATES[0])
    assert lane_answers == [False, True]
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json() and first.json()["items"]


def test_a_refused_permission_gets_the_routes_problem(
    client: TestClient, cached_keys: None, lane_answers: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    client.get("/api/v1/legal-entities")

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise Forbidden("not allowed to read customers")

    monkeypatch.setattr(match_lane, "find_matches", refuse)
    response = client.post(MATCH, json={"name": "Acme"})
    assert response.status_code == 403
    assert response.json()["detail"] == "not allowed to read customers"
    assert lane_answers == [False]


def test_with_dependencies_replaced_the_route_answers(
    app: FastAPI,
    client: TestClient,
    container: Container,
    cached_keys: None,
    lane_answers: list[bool],
) -> None:
    client.get("/api/v1/legal-entities")
    app.dependency_overrides[deps.principal] = container.system_principal
    try:
        response = client.post(MATCH, json=CANDIDATES[0])
    finally:
        app.dependency_overrides.clear()
    assert response.status_code == 200
    assert lane_answers == [False]
