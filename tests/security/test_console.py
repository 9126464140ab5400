"""The steward console's routes, derived from its route table and its one declaration of
what each needs (``web.route_permissions``), like the API's in test_function_level: a new
console page is covered without anyone adding it to a list. Without a session every
protected page sends the browser to sign in (a bearer key is no session: the console has
no second way in); each role gets 403 where it lacks the permission; every state-changing
request needs the session's CSRF token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from custmaster.domain.permissions import PERMISSION_MATRIX, Role
from custmaster.web.route_permissions import CONSOLE_ROUTE_PERMISSIONS, PUBLIC, SIGNED_IN
from tests.security.routes import Route, console_ghost_url, console_routes, route_ids

ROUTES = console_routes()
PROTECTED = tuple(r for r in ROUTES if CONSOLE_ROUTE_PERMISSIONS.get(r.key) is not PUBLIC)
UNSAFE = tuple(r for r in PROTECTED if r.method not in ("GET", "HEAD"))
_TOKEN = re.compile(r'name="csrf-token" content="([^"]+)"')
_LOGIN_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def console_client(app: FastAPI, key: str) -> tuple[TestClient, str]:
    """A browser-like client signed in to the console with ``key``; its CSRF token."""
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    form = client.get("/console/login")
    token = _LOGIN_TOKEN.search(form.text)
    assert token, form.text
    signed = client.post("/console/login", data={"credential": key, "csrf_token": token[1]})
    assert signed.status_code == 303, signed.text
    home = client.get("/console")
    csrf = _TOKEN.search(home.text)
    assert csrf, home.text
    return client, csrf[1]


@pytest.fixture(scope="module")
def _read_sessions() -> Iterator[dict[Role, tuple[TestClient, str]]]:
    """The sessions the tests of reading routes share (filled by ``role_sessions``)."""
    kept: dict[Role, tuple[TestClient, str]] = {}
    yield kept
    for client, _ in kept.values():
        client.close()


@pytest.fixture
def role_sessions(
    request: pytest.FixtureRequest,
    sec_app: FastAPI,
    role_clients: dict[Role, TestClient],
    _read_sessions: dict[Role, tuple[TestClient, str]],
) -> Iterator[dict[Role, tuple[TestClient, str]]]:
    """A signed-in session per role: fresh for a test of a state-changing route (one of
    them signs out), shared by the module's tests of reading routes (a GET or HEAD that
    ended or changed a session would fail the next of them, and is a bug of its own)."""
    route = getattr(request.node, "callspec", None) and request.node.callspec.params.get("route")
    reads = isinstance(route, Route) and route.method in ("GET", "HEAD")
    if reads and _read_sessions:
        yield _read_sessions
        return
    sessions = {
        role: console_client(sec_app, client.headers["Authorization"].removeprefix("Bearer "))
        for role, client in role_clients.items()
    }
    if reads:
        _read_sessions.update(sessions)
        yield sessions
        return
    yield sessions
    for client, _ in sessions.values():
        client.close()


def send(client: TestClient, route: Route, csrf: str | None = None) -> Any:
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    if route.method in ("GET", "HEAD"):
        return client.request(route.method, console_ghost_url(route), headers=headers)
    return client.request(route.method, console_ghost_url(route), headers=headers, data={})


def test_every_console_route_declares_what_it_needs() -> None:
    undeclared = sorted({r.key for r in ROUTES} - set(CONSOLE_ROUTE_PERMISSIONS))
    assert not undeclared, f"declare these in custmaster.web.route_permissions: {undeclared}"
    stale = sorted(set(CONSOLE_ROUTE_PERMISSIONS) - {r.key for r in ROUTES})
    assert not stale, f"declared in web.route_permissions but no such route: {stale}"


def test_only_sign_in_and_static_files_are_public() -> None:
    public = sorted(k for k, v in CONSOLE_ROUTE_PERMISSIONS.items() if v is PUBLIC)
    assert public == ["GET /console/login", "GET /console/static/{name}", "POST /console/login"]


@pytest.mark.parametrize("route", PROTECTED, ids=route_ids(PROTECTED))
def test_without_a_session_the_browser_is_sent_to_sign_in(
    sec_app: FastAPI, role_clients: dict[Role, TestClient], route: Route
) -> None:
    with TestClient(sec_app, raise_server_exceptions=False, follow_redirects=False) as anonymous:
        response = send(anonymous, route)
        assert response.status_code == 303, response.text
        assert response.headers["location"].startswith("/console/login")
        # an API key in the Authorization header is not a console session
        key = role_clients[Role.ADMIN].headers["Authorization"]
        keyed = anonymous.request(
            route.method, console_ghost_url(route), headers={"Authorization": key}
        )
        assert keyed.status_code == 303, keyed.text
    with TestClient(sec_app, raise_server_exceptions=False, follow_redirects=False) as forger:
        forger.cookies.set("cm_console", "forged-session-token", path="/console")
        forged = forger.request(route.method, console_ghost_url(route))
        assert forged.status_code == 303, forged.text


@pytest.mark.parametrize("route", PROTECTED, ids=route_ids(PROTECTED))
def test_each_role_gets_what_its_permissions_allow(
    role_sessions: dict[Role, tuple[TestClient, str]], route: Route
) -> None:
    needed = CONSOLE_ROUTE_PERMISSIONS[route.key]
    assert needed is not None
    wrong: list[str] = []
    for role, (client, csrf) in role_sessions.items():
        response = send(client, route, csrf)
        assert response.status_code < 500, (role, response.text[:500])
        allowed = needed == SIGNED_IN or bool(needed & PERMISSION_MATRIX[role])
        lacks = response.status_code == 403 and " lacks " in response.text
        if allowed and lacks:
            wrong.append(f"{role.value} holds {sorted(needed)} but was refused")
        if not allowed and not lacks:
            wrong.append(f"{role.value} lacks {sorted(needed)} but got {response.status_code}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("route", UNSAFE, ids=route_ids(UNSAFE))
def test_state_changes_need_the_sessions_csrf_token(
    role_sessions: dict[Role, tuple[TestClient, str]], route: Route
) -> None:
    client, csrf = role_sessions[Role.ADMIN]
    for token in (None, "wrong-token", csrf[:-1]):
        response = send(client, route, token)
        assert response.status_code == 403, (token, response.status_code)
        assert "CSRF" in response.text
    _, other_csrf = role_sessions[Role.DATA_STEWARD]
    assert other_csrf != csrf  # bound to its session: another session's token fails too
    assert send(client, route, other_csrf).status_code == 403


def test_pages_forbid_framing_and_foreign_scripts(
    role_sessions: dict[Role, tuple[TestClient, str]],
) -> None:
    client, _ = role_sessions[Role.VIEWER]
    response = client.get("/console")
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
