"""Reference integrity (issue 12 item 13): a customer needs an owning legal entity; name
affixes, account tiers and revenue accounts are reference data checked like foreign keys;
unknown query parameters are refused on every route; GET /customers filters by what users
expect."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.test_imports import OWN_LAYOUT, rows, submit
from tests.factories import acme, create, errors_of, minimal
from tests.services.imports.conftest import SAMPLES

API = "/api/v1"


def test_a_customer_needs_an_owning_entity(client: TestClient) -> None:
    missing = client.post(f"{API}/customers", json=minimal(owning_entity=None))
    assert errors_of(missing) == {"owning_entity": "required"}
    unknown = client.post(f"{API}/customers", json=minimal(owning_entity="XX99"))
    assert errors_of(unknown) == {"owning_entity": "unknown_reference"}
    customer = create(client, minimal())
    cleared = client.patch(f"{API}/customers/{customer['id']}", json={"owning_entity": None})
    assert errors_of(cleared) == {"owning_entity": "required"}
    moved = client.patch(f"{API}/customers/{customer['id']}", json={"owning_entity": "GB01"})
    assert moved.status_code == 200 and moved.json()["owning_entity"] == "GB01"


def test_a_name_affix_must_be_a_known_affix(client: TestClient) -> None:
    person = minimal(
        "Dana Lee",
        "dana@lee.example",
        kind="person",
        first_name="Dana",
        last_name="Lee",
        name_affix="Jr.",
    )
    assert errors_of(client.post(f"{API}/customers", json=person)) == {
        "name_affix": "unknown_reference"
    }
    affix = {"code": "Jr.", "name": "Junior", "kind": "suffix"}
    assert client.post(f"{API}/name-affixes", json=affix).status_code == 201
    assert create(client, person)["name_affix"] == "Jr."


@pytest.mark.parametrize(
    ("path", "field"), [("account-tiers", "account_tier"), ("revenue-accounts", "revenue_account")]
)
def test_account_tiers_and_revenue_accounts_are_reference_data(
    client: TestClient, client_as: Callable[..., TestClient], path: str, field: str
) -> None:
    url = f"{API}/{path}"
    unknown = client.post(f"{API}/customers", json=minimal(**{field: "GOLD"}))
    assert errors_of(unknown) == {field: "unknown_reference"}
    viewer = client_as("viewer")
    assert viewer.post(url, json={"code": "GOLD", "name": "Gold"}).status_code == 403
    created = client.post(url, json={"code": "GOLD", "name": "Gold"})
    assert created.status_code == 201, created.text
    assert client.post(url, json={"code": "GOLD", "name": "Gold"}).status_code == 409
    assert client.post(url, json={"code": "SILVER", "name": "Silver"}).status_code == 201
    assert errors_of(client.post(url, json={"code": "bad code!", "name": "x"})) == {
        "code": "invalid_code"
    }
    assert [r["code"] for r in viewer.get(url).json()["items"]] == ["GOLD", "SILVER"]
    renamed = client.patch(f"{url}/GOLD", json={"name": "Gold tier"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Gold tier"
    assert viewer.get(f"{url}/GOLD").json()["name"] == "Gold tier"
    customer = create(client, minimal(**{field: "GOLD"}))
    assert customer[field] == "GOLD"
    assert client.delete(f"{url}/GOLD").status_code == 409  # a customer uses it
    assert client.delete(f"{url}/SILVER").status_code == 204
    assert client.get(f"{url}/SILVER").status_code == 404
    changed = client.patch(f"{API}/customers/{customer['id']}", json={field: "SILVER"})
    assert errors_of(changed) == {field: "unknown_reference"}


def test_an_overrides_revenue_account_is_checked_too(client: TestClient) -> None:
    body = acme(overrides={"DE01": {"revenue_account": "4000-DE"}})
    assert errors_of(client.post(f"{API}/customers", json=body)) == {
        "overrides.DE01.revenue_account": "unknown_reference"
    }
    assert client.post(f"{API}/revenue-accounts", json={"code": "4000-DE", "name": "Revenue DE"})
    customer = create(client, body)
    assert customer["overrides"]["DE01"]["revenue_account"] == "4000-DE"
    in_use = client.delete(f"{API}/revenue-accounts/4000-DE")
    assert in_use.status_code == 409, in_use.text


def _get_routes(client: TestClient) -> list[str]:
    """Every GET route of the application without path parameters (from the route
    table, as the OpenAPI document lists it)."""
    paths: dict[str, Any] = client.get("/openapi.json").json()["paths"]
    return sorted(p for p, ops in paths.items() if "get" in ops and "{" not in p)


def test_unknown_query_parameters_are_refused_on_every_route(client: TestClient) -> None:
    customer = create(client, acme())
    misspelt = client.get(f"{API}/customers", params={"industy": "423830"})
    assert misspelt.status_code == 400, misspelt.text
    assert misspelt.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in misspelt.json()["errors"]] == ["industy"]
    assert "industry" in misspelt.json()["errors"][0]["message"]  # says what is known
    routes = _get_routes(client)
    assert f"{API}/customers" in routes and f"{API}/events" in routes and len(routes) > 10
    for path in routes:
        refused = client.get(path, params={"zz_not_a_parameter": "1"})
        assert refused.status_code == 400, (path, refused.status_code, refused.text)
    for path in (f"{API}/customers/{customer['id']}", f"{API}/customers/{customer['id']}/history"):
        assert client.get(path, params={"entity": "DE01", "x": "1"}).status_code == 400
    # declared parameters still work, and a route without parameters takes none
    assert client.get(f"{API}/customers", params={"limit": 5, "q": "acme"}).status_code == 200
    assert client.get(f"{API}/customers/{customer['id']}", params={"entity": "DE01"}).is_success
    create_with_query = client.post(f"{API}/customers", params={"dry_run": "1"}, json=minimal())
    assert create_with_query.status_code == 400


def _numbers(client: TestClient, **params: Any) -> list[str]:
    response = client.get(f"{API}/customers", params=params)
    assert response.status_code == 200, response.text
    return [c["name"] for c in response.json()["items"]]


def test_the_customer_list_filters_by_what_users_expect(client: TestClient) -> None:
    for code in ("gold", "silver"):
        client.post(f"{API}/account-tiers", json={"code": code, "name": code})
    client.post(f"{API}/industries", json={"code": "311811", "name": "Retail bakeries"})
    create(
        client,
        minimal(
            "Alpha",
            "a@alpha.example",
            industry="423830",
            account_tier="gold",
            relationship_status="active",
            customer_type="wholesale",
            customer_group="KEYACCT",
        ),
    )
    create(
        client,
        minimal(
            "Beta",
            "b@beta.example",
            industry="311811",
            account_tier="silver",
            relationship_status="prospect",
            customer_type="retail",
            customer_group="RETAIL",
            owning_entity="DE01",
        ),
    )
    gamma = create(
        client,
        minimal(
            "Gamma",
            "g@gamma.example",
            industry="423830",
            account_tier="silver",
            relationship_status="at_risk",
            owning_entity="GB01",
            overrides={"DE01": {"currency": "EUR"}},
        ),
    )
    client.post(f"{API}/customers/{gamma['id']}/deactivate")
    assert _numbers(client) == ["Alpha", "Beta"]
    assert _numbers(client, include_inactive=True) == ["Alpha", "Beta", "Gamma"]
    assert _numbers(client, status="inactive") == ["Gamma"]
    assert _numbers(client, industry="423830") == ["Alpha"]
    assert _numbers(client, industry="423830", include_inactive=True) == ["Alpha", "Gamma"]
    assert _numbers(client, account_tier="silver", include_inactive=True) == ["Beta", "Gamma"]
    assert _numbers(client, relationship_status="prospect") == ["Beta"]
    assert _numbers(client, customer_type="wholesale") == ["Alpha"]
    assert _numbers(client, customer_group="RETAIL") == ["Beta"]
    assert _numbers(client, entity="DE01", include_inactive=True) == ["Beta", "Gamma"]
    assert _numbers(client, entity="GB01", include_inactive=True) == ["Gamma"]
    assert _numbers(client, industry="423830", account_tier="gold") == ["Alpha"]
    assert _numbers(client, industry="311811", account_tier="gold") == []
    wrong = client.get(f"{API}/customers", params={"relationship_status": "friendly"})
    assert errors_of(wrong) == {"relationship_status": "enum"}


def test_an_import_gives_every_customer_an_owning_entity(client: TestClient) -> None:
    legacy = SAMPLES / "legacy_erp_kunden.csv"  # no legal entity column, no default
    upload = [("file", (legacy.name, legacy.read_bytes(), "text/csv"))]
    refused = client.post(f"{API}/imports", files=upload, data={"template": "legacy_erp"})
    assert errors_of(refused) == {"entity": "required"}
    accepted = client.post(
        f"{API}/imports", files=upload, data={"template": "legacy_erp", "entity": "DE01"}
    )
    assert accepted.status_code == 202, accepted.text
    # the own layout maps an owning_entity column: a row that leaves it empty fails
    job = submit(client, "custmaster", ("own.csv", OWN_LAYOUT.encode()))
    report = rows(client, job["id"])
    assert "created" not in {r["outcome"] for r in report}
    failed = [r for r in report if r["outcome"] == "failed"]
    assert len(failed) >= 4
    assert all(
        ("owning_entity", "required") in {(e["field"], e["code"]) for e in r["errors"]}
        for r in failed
    )
