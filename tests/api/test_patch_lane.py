"""The short path of PATCH /api/v1/customers/{id} (api.patch_lane) answers exactly as the
FastAPI route does, writes a change once, and passes every request it cannot vouch for,
and every change the use case refuses, on to the route, on both databases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from custmaster.api.lanes import MAX_BODY
from custmaster.api.patch_lane import CustomerPatchLane
from custmaster.bootstrap import Container
from tests.conftest import spy_lane_answers
from tests.factories import acme, create, errors_of, outbox_events

API = "/api/v1/customers"
#: what differs between two updates of the same customer that change the same field
MOVING = ("version", "updated_at", "notes")


@pytest.fixture
def lane_answers(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """One entry per PATCH the lane looked at (see ``spy_lane_answers``)."""
    return spy_lane_answers(monkeypatch, CustomerPatchLane)


def _history(client: TestClient, customer_id: str) -> list[dict[str, Any]]:
    response = client.get(f"{API}/{customer_id}/history")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _steady(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in MOVING}


def test_the_lane_and_the_route_answer_and_record_a_patch_alike(
    client: TestClient,
    container: Container,
    lane_answers: list[bool],
    cached_keys: None,
) -> None:
    customer = create(client, acme())
    url = f"{API}/{customer['id']}"
    change = {"notes": "by lane", "addresses": [
        {"action": "add", "type": "shipping", "lines": ["1 Dock Rd"], "city": "Boston",
         "postal_code": "02110", "country": "US"}]}  # fmt: skip
    by_lane = client.patch(url, json=change, headers={"If-Match": '"1"'})
    assert by_lane.status_code == 200, by_lane.text
    assert lane_answers == [True]
    assert by_lane.headers["etag"] == '"2"'
    # a query parameter is the route's (which refuses one it does not declare); another
    # spelling of the id too
    unknown = client.patch(url, params={"unused": "1"}, json={"notes": "x"})
    assert unknown.status_code == 400, unknown.text
    assert lane_answers == [True]  # the lane never looked at it
    routed = client.patch(
        f"{API}/{customer['id'].replace('-', '')}",
        json={"notes": "by route"},
        headers={"If-Match": '"2"'},
    )
    assert routed.status_code == 200, routed.text
    assert lane_answers == [True, False]  # the lane passed it on
    assert routed.headers["etag"] == '"3"'
    assert routed.headers["content-type"] == by_lane.headers["content-type"]
    assert _steady(routed.json()) == _steady(by_lane.json())
    assert by_lane.json()["notes"] == "by lane" and routed.json()["notes"] == "by route"
    assert len(by_lane.json()["addresses"]) == len(customer["addresses"]) + 1
    # each change recorded once: one audit entry and one event each
    history = _history(client, customer["id"])
    assert [h["operation"] for h in history] == ["create", "update", "update"]
    updates = [e for e in outbox_events(container) if e["type"].endswith("customer.updated")]
    assert len(updates) == 2
    assert sorted(c["field"].partition("[")[0] for c in history[1]["changes"]) == [
        "addresses", "notes"]  # fmt: skip
    assert [c["field"] for c in history[2]["changes"]] == ["notes"]


@pytest.mark.parametrize(
    ("request_args", "status", "errors"),
    [
        ({"json": {"nickname": "Acme"}}, 422, {"nickname": "unknown_field"}),
        ({"json": {"id": str(uuid4())}}, 422, None),  # server-owned
        ({"content": b"{not json", "headers": {"Content-Type": "application/json"}}, 422, None),
        ({"content": b'{"notes": "x"}', "headers": {"Content-Type": "text/plain"}}, 422, None),
        ({"json": {"email": "not an email"}}, 422, {"email": "invalid_email"}),
        ({"json": {"payment_terms": "NET999"}}, 422, {"payment_terms": "unknown_reference"}),
        ({"json": {"notes": "x"}, "headers": {"If-Match": '"7"'}}, 412, None),  # stale
        ({"json": {"notes": "x"}, "headers": {"If-Match": "seven"}}, 422, None),
        # too large for the lane to hold
        (
            {
                "content": b'{"notes": "x"' + b" " * MAX_BODY + b"}",
                "headers": {"Content-Type": "application/json"},
            },
            200,
            None,
        ),
    ],
)
def test_what_the_lane_cannot_vouch_for_gets_the_routes_answer(
    client: TestClient,
    lane_answers: list[bool],
    cached_keys: None,
    request_args: dict[str, Any],
    status: int,
    errors: dict[str, str] | None,
) -> None:
    customer = create(client, acme())
    url = f"{API}/{customer['id']}"
    assert client.get("/api/v1/legal-entities").status_code == 200  # caches the key
    response = client.patch(url, **request_args)
    assert response.status_code == status, response.text
    if status != 200:
        assert response.headers["content-type"] == "application/problem+json"
    if errors is not None:
        assert errors_of(response) == errors
    assert lane_answers == [False] or (lane_answers == [] and status == 200)
    # a refused change wrote nothing, a passed-on one was written once
    written = [h["operation"] for h in _history(client, customer["id"])]
    assert written == (["create", "update"] if status == 200 else ["create"])


def test_unknown_customers_ids_and_credentials_get_the_routes_answer(
    client: TestClient,
    client_as: Callable[..., TestClient],
    lane_answers: list[bool],
    cached_keys: None,
) -> None:
    customer = create(client, acme())
    url = f"{API}/{customer['id']}"
    missing = client.patch(f"{API}/{uuid4()}", json={"notes": "x"})
    assert missing.status_code == 404 and missing.json()["instance"].startswith(API)
    assert lane_answers == [False]  # a key verified by the route is cached from now on
    assert client.patch(f"{API}/not-a-uuid", json={"notes": "x"}).status_code == 422
    bare = client.patch(f"{API}/{customer['id'].replace('-', '')}", json={"notes": "bare"})
    assert bare.status_code == 200 and bare.json()["notes"] == "bare"
    assert lane_answers == [False, False, False]  # unknown; not a UUID; not the canonical form
    stranger = client.patch(url, json={"notes": "x"}, headers={"Authorization": "Bearer x"})
    assert stranger.status_code == 401 and stranger.headers["www-authenticate"] == "Bearer"
    viewer = client_as("viewer", roles=["viewer"])
    for _ in range(2):  # the first verifies the key; the second, refused, is the route's too
        assert viewer.patch(url, json={"notes": "x"}).status_code == 403
    assert lane_answers[-2:] == [False, False]
    assert [h["operation"] for h in _history(client, customer["id"])] == ["create", "update"]
