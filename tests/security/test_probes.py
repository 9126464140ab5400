"""The probes of issue 12, replayed through HTTP on both databases: each answer a hostile
or careless client got, and what it must get instead. (The fixes' own tests live beside
their code; these keep the attacker's view in one place.)"""

from __future__ import annotations

import json

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from custmaster.api.app import create_app
from custmaster.bootstrap import Container, build_container
from custmaster.config import Settings
from custmaster.domain.permissions import Role
from custmaster.services.approval_policy_loader import load_policy
from custmaster.services.auth import KeyCache
from tests.conftest import new_user
from tests.security.routes import Route, all_routes, route_ids
from tests.security.world import API, World

UNREADABLE = ("root:", "daemon:", "/bin/", "/etc/")


def _count(client: TestClient, path: str) -> int:
    response = client.get(path, params={"limit": 500})
    assert response.status_code == 200, response.text
    return len(response.json()["items"])


# -- item 1: any file on the server read through an import ---------------------------


@pytest.mark.parametrize(
    "template", ["/etc/passwd", "../../../../etc/passwd", "file:///etc/passwd", "/dev/zero"]
)
def test_item_1_an_import_template_is_a_name_never_a_path(
    role_clients: dict[Role, TestClient], world: World, template: str
) -> None:
    files = [("file", ("x.csv", b"kind,name,email\n", "text/csv"))]
    response = role_clients[Role.INTEGRATION].post(
        f"{API}/imports", files=files, data={"template": template}
    )
    assert response.status_code == 422, response.text
    for word in UNREADABLE:
        assert word not in response.text.replace(template, "")


# -- item 3 and 5: text a database cannot hold ----------------------------------------

BAD_TEXT = ("Poison \ud800 Ltd", "Nul \x00 Ltd", "Low \udfff")


@pytest.mark.parametrize("text", BAD_TEXT, ids=["surrogate", "nul", "low-surrogate"])
def test_items_3_and_5_unstorable_text_in_a_body_leaves_nothing_behind(
    admin: TestClient, world: World, text: str
) -> None:
    before = (_count(admin, f"{API}/customers"), _count(admin, f"{API}/change-requests"))
    body = json.dumps({"kind": "organization", "name": text, "email": "ap@poison.example"})
    response = admin.post(
        f"{API}/customers", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    after = (_count(admin, f"{API}/customers"), _count(admin, f"{API}/change-requests"))
    assert after == before
    assert admin.get(f"{API}/events", params={"limit": 500}).status_code == 200


@pytest.mark.parametrize(
    ("path", "params"),
    [
        (f"{API}/customers", {"q": "a\x00b"}),
        (f"{API}/customers", {"cursor": "AAAA\x00"}),
        (f"{API}/customers", {"entity": "DE\x0001"}),
        (f"{API}/events", {"after": "0-\x001"}),
        (f"{API}/exports/customers", {"entity": "DE\x0001"}),
    ],
)
def test_item_5_a_nul_in_a_parameter_is_a_clear_422(
    admin: TestClient, world: World, path: str, params: dict[str, str]
) -> None:
    response = admin.get(path, params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


# -- item 6: values the database cannot hold -------------------------------------------


def test_item_6_a_quantity_beyond_64_bits_is_refused(admin: TestClient, world: World) -> None:
    tier = {
        "item": "W-1",
        "unit_price": "1.00",
        "currency": "EUR",
        "min_quantity": 2**63,
        "effective_from": "2026-01-01",
    }
    body = {
        "kind": "organization",
        "name": "Huge Qty Ltd",
        "email": "ap@huge.example",
        "owning_entity": "GB01",
        "pricing_tiers": [tier],
    }
    response = admin.post(f"{API}/customers", json=body)
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    "after",
    ["0-99999999999999999999", "99999999999999999999-0", "-1--1", "x-y"],
)
def test_item_6_an_event_cursor_beyond_64_bits_is_refused(
    admin: TestClient, world: World, after: str
) -> None:
    response = admin.get(f"{API}/events", params={"after": after})
    assert response.status_code in (400, 422), response.text


# -- item 8: deep JSON -----------------------------------------------------------------

DEEP = "[" * 10_000 + "]" * 10_000


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/customers"),
        ("PATCH", "/customers/{id}"),
        ("POST", "/match"),
        ("POST", "/legal-entities"),
    ],
)
def test_item_8_deep_json_is_refused_alike_on_routes_and_fast_paths(
    sec_app: FastAPI, container: Container, world: World, method: str, path: str
) -> None:
    url = API + path.replace("{id}", world.values["customer_id"][0])
    key = new_user(container, f"sec-deep-{method}-{len(path)}", ["admin"])
    client = TestClient(sec_app, raise_server_exceptions=False)
    client.headers["Authorization"] = f"Bearer {key}"
    cache = container.key_cache
    answers = []
    try:
        for trusted in (False, True):  # a verified key lets the fast paths answer
            container.key_cache = KeyCache(60) if trusted else cache
            for body in (DEEP, '{"a":' * 5_000 + "1" + "}" * 5_000):
                response = client.request(
                    method, url, content=body, headers={"Content-Type": "application/json"}
                )
                answers.append(response.status_code)
    finally:
        container.key_cache = cache
    assert set(answers) == {422}, answers


# -- item 9: limits ----------------------------------------------------------------------


def test_item_9_a_body_beyond_the_limit_is_413(
    admin: TestClient, container: Container, world: World
) -> None:
    limit = container.settings.max_request_bytes
    blob = "x" * (limit + 1)
    body = {
        "kind": "organization",
        "name": "Big",
        "email": "ap@big.example",
        "metadata": {"blob": blob},
    }
    assert admin.post(f"{API}/customers", json=body).status_code == 413
    assert admin.post(f"{API}/match", json={"name": "x" * 70_000}).status_code == 413


def test_item_9_ten_thousand_addresses_are_refused(admin: TestClient, world: World) -> None:
    address = {"type": "shipping", "lines": ["1 Way"], "city": "Leeds", "country": "GB"}
    body = {
        "kind": "organization",
        "name": "Many Docks Ltd",
        "email": "ap@docks.example",
        "owning_entity": "GB01",
        "addresses": [address] * 10_000,
    }
    response = admin.post(f"{API}/customers", json=body)
    assert response.status_code in (413, 422), response.status_code


# -- item 11: failing late --------------------------------------------------------------


def test_item_11_an_unmigrated_database_is_not_healthy(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    url = f"sqlite:///{tmp_path_factory.mktemp('bare') / 'unmigrated.db'}"
    app = create_app(build_container(Settings(database_url=url), migrate=False))
    response = TestClient(app, raise_server_exceptions=False).get("/health")
    assert response.status_code == 503, response.text
    assert "Traceback" not in response.text


# -- item 13: unknown query parameters ---------------------------------------------------

QUERIED = tuple(r for r in all_routes() if r.method == "GET" and r.path != "/health")


@pytest.mark.parametrize("route", QUERIED, ids=route_ids(QUERIED))
def test_item_13_an_unknown_query_parameter_is_refused(
    admin: TestClient, world: World, route: Route
) -> None:
    url = route.url(world.fill(route, admin)[0])
    response = admin.get(url, params={"industry_typo": "423830"})
    assert response.status_code == 400, response.text


# -- item 14 ----------------------------------------------------------------------------


def test_item_14_an_xref_id_with_a_slash_resolves(admin: TestClient, world: World) -> None:
    body = {
        "kind": "organization",
        "name": "Slash Id GmbH",
        "email": "ap@slash.example",
        "owning_entity": "DE01",
        "source_refs": [{"source_system": "d365", "source_id": "demf/DE-0042"}],
    }
    created = admin.post(f"{API}/customers", json=body)
    assert created.status_code == 201, created.text
    found = admin.get(f"{API}/xrefs/d365/demf/DE-0042")
    assert found.status_code == 200, found.text
    assert created.json()["id"] in found.text


def test_item_14_a_second_unmerge_is_a_conflict(
    admin: TestClient, container: Container, world: World
) -> None:
    """Once a merge is undone, unmerging it again is a conflict, also under the shipped
    policy (where it would otherwise open a change request)."""
    merge_id = world.values["merge_id"][0]
    first = admin.post(f"{API}/merges/{merge_id}/unmerge")
    assert first.status_code == 200, first.text
    direct = container.policy
    container.policy = load_policy(None)
    try:
        second = admin.post(f"{API}/merges/{merge_id}/unmerge")
    finally:
        container.policy = direct
    assert second.status_code == 409, second.text
