"""Authentication and function-level authorisation of every route (OWASP API2 and API5),
derived from the route table and the one declaration of what each route needs
(``api.route_permissions``) and what each role holds (``domain.permissions``)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from custmaster.api.route_permissions import (
    AUTHENTICATED,
    PUBLIC,
    ROUTE_PERMISSIONS,
    permissions_for,
)
from custmaster.domain.permissions import PERMISSION_MATRIX, Role
from tests.security.routes import Route, all_routes, other_routes, route_ids

ROUTES = all_routes()
PROTECTED = tuple(r for r in ROUTES if permissions_for(r.method, r.path) is not PUBLIC)


def send(client: TestClient, route: Route, url: str | None = None, **kwargs: Any) -> Any:
    """The route called with an empty JSON object as its body when it takes one."""
    if route.has_body and "json" not in kwargs and "content" not in kwargs:
        kwargs["json"] = {}
    return client.request(route.method, url or route.ghost_url(), **kwargs)


def test_every_route_declares_what_it_needs() -> None:
    keys = {r.key for r in ROUTES}
    undeclared = sorted(keys - set(ROUTE_PERMISSIONS))
    assert not undeclared, (
        f"declare the permission of these routes in custmaster.api.route_permissions: {undeclared}"
    )


def test_every_declaration_names_a_route() -> None:
    def plain(key: str) -> str:  # ``{id:path}`` and ``{id}`` name the same route
        return key.replace(":path}", "}")

    keys = {plain(r.key) for r in ROUTES}
    stale = sorted(k for k in ROUTE_PERMISSIONS if plain(k) not in keys)
    assert not stale, f"declared in api.route_permissions but no such route: {stale}"


def test_only_health_is_public() -> None:
    public = sorted(
        r.key for r in ROUTES if r.key in ROUTE_PERMISSIONS and ROUTE_PERMISSIONS[r.key] is PUBLIC
    )
    assert public == ["GET /health"]


@pytest.mark.parametrize("route", PROTECTED, ids=route_ids(PROTECTED))
def test_without_credentials_401(anonymous: TestClient, route: Route) -> None:
    response = send(anonymous, route)
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers.get("www-authenticate", "").lower().startswith("bearer")


@pytest.mark.parametrize("route", PROTECTED, ids=route_ids(PROTECTED))
def test_with_an_unknown_key_401(anonymous: TestClient, route: Route) -> None:
    headers = {"Authorization": "Bearer cm_not-a-key-of-this-server"}
    response = send(anonymous, route, headers=headers)
    assert response.status_code == 401, response.text
    other_scheme = send(anonymous, route, headers={"Authorization": "Basic dXNlcjpwdw=="})
    assert other_scheme.status_code == 401, other_scheme.text


def _refused_for_lack_of_permission(response: Any) -> bool:
    return response.status_code == 403 and "lacks" in response.json().get("detail", "")


@pytest.mark.parametrize("route", PROTECTED, ids=route_ids(PROTECTED))
def test_each_role_gets_what_its_permissions_allow(
    role_clients: dict[Role, TestClient], route: Route
) -> None:
    """A role without any of the route's permissions gets 403 before anything else (the
    body is not validated, the object not looked up); a role holding one is never refused
    for lack of a permission (it may get 404 or 422 for the placeholder request)."""
    needed = permissions_for(route.method, route.path)
    assert needed is not None
    wrong: list[str] = []
    for role, client in role_clients.items():
        response = send(client, route)
        assert response.status_code < 500, (role, response.text)
        allowed = needed == AUTHENTICATED or bool(needed & PERMISSION_MATRIX[role])
        if allowed and _refused_for_lack_of_permission(response):
            wrong.append(f"{role.value} holds {sorted(needed)} but got {response.text}")
        if not allowed and response.status_code != 403:
            wrong.append(f"{role.value} lacks {sorted(needed)} but got {response.status_code}")
    assert not wrong, "\n".join(wrong)


OTHERS = other_routes()


@pytest.mark.parametrize(("method", "path"), OTHERS, ids=[f"{m} {p}" for m, p in OTHERS])
def test_other_endpoints_want_credentials_too(sec_app: FastAPI, method: str, path: str) -> None:
    """Endpoints outside the API's route table (the MCP server's, which runs in the
    application's lifespan) answer 401 too."""
    with TestClient(sec_app, raise_server_exceptions=False) as anonymous:
        response = anonymous.request(method, path, json={})
        assert response.status_code == 401, response.text
        wrong = anonymous.request(
            method, path, json={}, headers={"Authorization": "Bearer cm_not-a-key-of-this-server"}
        )
        assert wrong.status_code == 401, wrong.text
