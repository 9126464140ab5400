"""The short path of GET /customers/{id}?entity=CODE (api.customer_lane, PostgreSQL)
answers exactly as the FastAPI route does (which serves every request the lane leaves to
it, and everything on SQLite), on both databases."""

from __future__ import annotations

from collections.abc import Callable
from uuid import uuid4

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.factories import acme, create, errors_of

API = "/api/v1/customers"


def _never() -> None:  # pragma: no cover - never called
    """A dependency override: with any in place the lane leaves every request to the route."""


def test_the_lane_and_the_route_give_the_same_effective_view(
    cached_keys: None, app: FastAPI, client: TestClient
) -> None:
    customer = create(client, acme())
    url = f"{API}/{customer['id']}"
    lean = client.get(url, params={"entity": "DE01"})
    assert lean.status_code == 200, lean.text
    assert lean.json()["overridden_fields"] == ["credit_limit", "currency", "payment_terms"]
    app.dependency_overrides[_never] = _never
    routed = client.get(url, params={"entity": "DE01"})
    app.dependency_overrides.clear()
    # an unknown query parameter: the route, which refuses it
    unknown = client.get(url, params={"entity": "DE01", "unused": "1"})
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["field"] == "unused"
    # another spelling of the id: the route
    for other in (
        routed,
        client.get(f"{API}/{customer['id'].replace('-', '')}", params={"entity": "DE01"}),
        client.get(f"{API}/{customer['id'].upper()}", params={"entity": "DE01"}),
    ):
        assert other.status_code == 200
        assert other.json() == lean.json()
        assert other.headers["etag"] == lean.headers["etag"] == '"1"'
        assert other.headers["content-type"] == lean.headers["content-type"]
    assert client.get(url, params={"entity": "US01"}).json()["credit_limit"] == "100000"


def test_the_lane_keeps_every_error_answer(
    cached_keys: None, client: TestClient, client_as: Callable[..., TestClient]
) -> None:
    customer = create(client, acme())
    url = f"{API}/{customer['id']}"
    unknown = client.get(url, params={"entity": "XX99"})
    assert unknown.status_code == 422
    assert unknown.headers["content-type"] == "application/problem+json"
    assert errors_of(unknown) == {"entity": "unknown_reference"}
    assert client.get(url, params={"entity": "E" * 65}).status_code == 422  # too long
    assert errors_of(client.get(url, params={"entity": ""})) == {"entity": "unknown_reference"}
    missing = client.get(f"{API}/{uuid4()}", params={"entity": "DE01"})
    assert missing.status_code == 404 and missing.json()["instance"].startswith(API)
    assert client.get(f"{API}/not-a-uuid", params={"entity": "DE01"}).status_code == 422
    scoped = client_as("us_viewer", roles=["viewer"], entities=["US01"])
    for _ in range(2):  # the first verifies the key, the second is served from the cache
        assert scoped.get(url, params={"entity": "DE01"}).status_code == 403
        assert scoped.get(url, params={"entity": "US01"}).status_code == 200
    stranger = client.get(url, params={"entity": "DE01"}, headers={"Authorization": "Bearer x"})
    assert stranger.status_code == 401
    assert stranger.headers["www-authenticate"] == "Bearer"
    anonymous = client.get(url, params={"entity": "DE01"}, headers={"Authorization": ""})
    assert anonymous.status_code == 401
