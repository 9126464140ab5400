"""Injection (OWASP API8/API10 in spirit): SQL metacharacters in every query and path
parameter of every GET route never answer 5xx, never echo a database error, and never
return more rows than the same words without the metacharacters."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from custmaster.api.route_permissions import PUBLIC, permissions_for
from tests.security.routes import Route, all_routes, openapi_enum, resolve, route_ids
from tests.security.world import API, World

PAYLOADS = (
    "' OR '1'='1",
    "1; DROP TABLE customers--",
    "%' OR 1=1 --",
    '" OR ""="',
    "1) UNION SELECT NULL, NULL--",
    "\\'; SELECT pg_sleep(0)--",
    "*)(uid=*))(|(uid=*",
)
DATABASE_WORDS = (
    "sqlalchemy",
    "psycopg",
    "sqlite3",
    "syntax error",
    "traceback",
    "operationalerror",
    "programmingerror",
    "unterminated",
)

READS = tuple(
    r for r in all_routes() if r.method == "GET" and permissions_for(r.method, r.path) is not PUBLIC
)


def _text_params(route: Route) -> list[str]:
    """The query parameters that take free text (not enumerations, numbers, booleans)."""
    names = []
    for parameter in route.query_params:
        schema = resolve(parameter.get("schema", {}))
        types = {schema.get("type")} | {resolve(o).get("type") for o in schema.get("anyOf", [])}
        if "string" in types and not openapi_enum(schema) and "format" not in schema:
            names.append(parameter["name"])
    return names


def _rows(response: Any) -> int:
    if response.status_code != 200:
        return 0
    try:
        body = response.json()
    except ValueError:
        return len(response.content.splitlines())
    items = body.get("items", []) if isinstance(body, dict) else body
    return len(items) if isinstance(items, list) else 1


def _plain(payload: str) -> str:
    """The words of a payload without its metacharacters."""
    return re.sub(r"[^\w ]", " ", payload).strip() or "x"


def _clean(response: Any, payload: str = "") -> None:
    assert response.status_code < 500, response.text
    text = response.text.replace(payload, "") if payload else response.text
    lowered = text.lower() if "json" in response.headers.get("content-type", "") else ""
    leaked = [w for w in DATABASE_WORDS if w in lowered and response.status_code >= 400]
    assert not leaked, (leaked, response.text)


@pytest.mark.parametrize("route", READS, ids=route_ids(READS))
def test_sql_metacharacters_in_parameters(admin: TestClient, world: World, route: Route) -> None:
    filling = world.fill(route, admin)[0]
    url = route.url(filling)
    for name in _text_params(route):
        for payload in PAYLOADS:
            baseline = admin.get(url, params={name: _plain(payload)})
            response = admin.get(url, params={name: payload})
            _clean(response, payload)
            assert _rows(response) <= _rows(baseline), (name, payload, response.text[:500])
    for name in route.path_params:
        if route.param_schema(name).get("format") == "uuid":
            continue
        for payload in PAYLOADS:
            response = admin.get(route.url({**filling, name: payload.replace("/", "%2F")}))
            _clean(response, payload)
            assert not 200 <= response.status_code < 300, (name, payload, response.text[:500])


def test_the_tables_survive(admin: TestClient, world: World) -> None:
    for payload in PAYLOADS:
        admin.get(f"{API}/customers", params={"q": payload})
    listed = admin.get(f"{API}/customers", params={"limit": 500, "include_inactive": "true"})
    assert listed.status_code == 200 and len(listed.json()["items"]) >= 3
