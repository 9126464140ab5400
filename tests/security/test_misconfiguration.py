"""Security misconfiguration (OWASP API8) and unrestricted resource consumption (API4):
errors say nothing about the server's insides, the documentation holds no secret, and
every list is bounded."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from custmaster.api.app import create_app
from custmaster.bootstrap import Container, build_container
from custmaster.config import Settings
from custmaster.domain.permissions import Role
from tests.conftest import new_user
from tests.security.routes import Route, all_routes, route_ids
from tests.security.world import API, World

SECRET = "s3cr3t-detail-/etc/shadow-line-42"
INSIDES = ("Traceback", 'File "', "site-packages", "/src/custmaster", SECRET)


def _fail(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError(SECRET)


def test_a_500_is_a_problem_without_insides(
    admin: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("custmaster.api.routers.customers.search_customers", _fail)
    response = admin.get(f"{API}/customers")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 500
    for inside in INSIDES:
        assert inside not in response.text


def test_a_500_closes_the_connection(
    admin: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("custmaster.api.routers.customers.search_customers", _fail)
    response = admin.get(f"{API}/customers")
    assert response.status_code == 500
    assert response.headers.get("connection", "").lower() == "close"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/v1/no-such-thing", 404),
        ("PUT", f"{API}/customers", 405),
        ("GET", "/api/../../etc/passwd", 404),
    ],
)
def test_framework_errors_are_problems(
    admin: TestClient, method: str, path: str, status: int
) -> None:
    response = admin.request(method, path)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "root:" not in response.text


def test_malformed_json_is_a_client_error(admin: TestClient, world: World) -> None:
    for body in (b"{", b'{"name": "x",}', b"\xff\xfe", b"[" * 100 + b"]" * 100, b"null"):
        response = admin.post(
            f"{API}/customers", content=body, headers={"Content-Type": "application/json"}
        )
        assert 400 <= response.status_code < 500, (body[:20], response.text)


def test_the_documentation_holds_no_secret(
    sec_app: FastAPI, container: Container, role_clients: dict[Role, TestClient]
) -> None:
    anonymous = TestClient(sec_app, raise_server_exceptions=False)
    key = new_user(container, "sec-docs-probe", ["viewer"])
    secrets = [key, container.settings.database_url]
    secrets += [c.headers["Authorization"].split()[1] for c in role_clients.values()]
    for path in ("/openapi.json", "/docs", "/redoc"):
        response = anonymous.get(path)
        assert response.status_code == 200
        for secret in secrets:
            assert secret not in response.text, path
    document = json.dumps(anonymous.get("/openapi.json").json()).lower()
    for word in ("password", "secret_key", "private_key", "api_key_value"):
        assert word not in document


def test_health_says_no_more_than_it_must(anonymous: TestClient) -> None:
    body = anonymous.get("/health").json()
    assert set(body) <= {"status", "database", "schema_revision"}
    assert "://" not in json.dumps(body)


LISTS = tuple(
    r
    for r in all_routes()
    if r.method == "GET" and any(p["name"] == "limit" for p in r.query_params)
)


@pytest.mark.parametrize("route", LISTS, ids=route_ids(LISTS))
def test_every_list_is_bounded(admin: TestClient, world: World, route: Route) -> None:
    """API4: a list's limit has a maximum in its schema, and one more is refused."""
    limit = next(p for p in route.query_params if p["name"] == "limit")
    maximum = limit.get("schema", {}).get("maximum")
    assert maximum is not None and maximum <= 1000, route
    url = route.url(world.fill(route, admin)[0])
    assert admin.get(url, params={"limit": maximum + 1}).status_code == 422
    assert admin.get(url, params={"limit": 0}).status_code == 422


def test_an_unreachable_database_is_not_described_to_anonymous_clients() -> None:
    """/health is public: its 503 names no host, port or database user (the log does)."""
    url = "postgresql://secprobeuser@127.0.0.1:1/secprobedb?connect_timeout=2"
    app = create_app(build_container(Settings(database_url=url), migrate=False))
    response = TestClient(app, raise_server_exceptions=False).get("/health")
    assert response.status_code == 503, response.text
    for detail in ("secprobeuser", "secprobedb", "127.0.0.1", "port 1", "Traceback"):
        assert detail not in response.text
