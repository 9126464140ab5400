"""The customer rules of issue 2, through the HTTP API, on both databases."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import acme, create, errors_of, minimal

API = "/api/v1/customers"


def test_create_returns_the_master_with_server_fields_children_and_etag(client: TestClient) -> None:
    response = client.post(API, json=acme())
    assert response.status_code == 201
    body = response.json()
    assert body["number"] == "C000001"
    assert body["status"] == "active" and body["version"] == 1
    assert response.headers["etag"] == '"1"'
    assert response.headers["location"] == f"{API}/{body['id']}"
    assert body["phone"] == "+14155550100"
    assert body["tax_id"] == "941234567"
    assert body["credit_limit"] == "50000"
    assert body["pricing_tiers"][0]["unit_price"] == "9.50"
    assert all(
        child["id"]
        for key in ("addresses", "contacts", "pricing_tiers", "tax_profiles")
        for child in body[key]
    )
    assert body["overrides"]["DE01"]["currency"] == "EUR"
    assert body["warnings"] == []
    assert client.get(f"{API}/{body['id']}").json()["overrides"] == body["overrides"]


def test_effective_views_merge_the_override_and_name_its_fields(client: TestClient) -> None:
    customer = create(client, acme())
    us = client.get(f"{API}/{customer['id']}", params={"entity": "US01"}).json()
    assert us["credit_limit"] == "100000" and us["currency"] == "USD"
    assert us["entity"] == "US01" and us["overridden_fields"] == ["credit_limit"]
    de = client.get(f"{API}/{customer['id']}", params={"entity": "DE01"}).json()
    assert (de["credit_limit"], de["currency"], de["payment_terms"]) == ("80000", "EUR", "NET45")
    assert de["overridden_fields"] == ["credit_limit", "currency", "payment_terms"]
    gb = client.get(f"{API}/{customer['id']}", params={"entity": "GB01"}).json()
    assert gb["credit_limit"] == "50000" and gb["overridden_fields"] == []
    unknown = client.get(f"{API}/{customer['id']}", params={"entity": "XX99"})
    assert errors_of(unknown) == {"entity": "unknown_reference"}


def test_override_addresses_replace_the_masters_of_their_type(client: TestClient) -> None:
    de_billing = {
        "type": "billing",
        "lines": ["Hauptstr. 1"],
        "city": "Berlin",
        "postal_code": "10115",
        "country": "DE",
        "region": "BE",
    }
    customer = create(client, acme(overrides={"DE01": {"addresses": [de_billing]}}))
    view = client.get(f"{API}/{customer['id']}", params={"entity": "DE01"}).json()
    assert [a["city"] for a in view["addresses"]] == ["Berlin"]
    assert view["addresses"][0]["region"] == "DE-BE"
    assert view["overridden_fields"] == ["addresses"]


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"name": ""}, "name", "too_short"),
        ({"name": "x" * 256}, "name", "too_long"),
        ({"email": "not-an-email"}, "email", "invalid_email"),
        ({"email": "a@b@c.example"}, "email", "invalid_email"),
        ({"phone": "12"}, "phone", "invalid_phone"),
        ({"tax_id": "94-123"}, "tax_id", "invalid_tax_id"),
        ({"tax_id": "DE123456789"}, "tax_id", "invalid_tax_id"),
        ({"tax_id": "GB123456789"}, "tax_id", "invalid_tax_id"),
        ({"currency": "XYZ"}, "currency", "invalid_currency"),
        ({"credit_limit": "-1"}, "credit_limit", "negative"),
        ({"credit_limit": "lots"}, "credit_limit", "decimal_parsing"),
        ({"customer_type": "friend"}, "customer_type", "enum"),
        ({"payment_terms": "NET99"}, "payment_terms", "unknown_reference"),
        ({"payment_method": "BARTER"}, "payment_method", "unknown_reference"),
        ({"customer_group": "VIP"}, "customer_group", "unknown_reference"),
        ({"tax_code": "NOPE"}, "tax_code", "unknown_reference"),
        ({"industry": "999999"}, "industry", "unknown_reference"),
        ({"owning_entity": "FR01"}, "owning_entity", "unknown_reference"),
        ({"dimensions": {"department": "LEGAL"}}, "dimensions.department", "unknown_reference"),
        ({"dimensions": {"colour": "RED"}}, "dimensions.colour", "unknown_reference"),
        ({"overrides": {"FR01": {"credit_limit": "1"}}}, "overrides.FR01", "unknown_reference"),
        (
            {"overrides": {"DE01": {"currency": "EURO"}}},
            "overrides.DE01.currency",
            "invalid_currency",
        ),
        ({"overrides": {"DE01": {}}}, "overrides.DE01", "empty_override"),
        (
            {"addresses": [{"type": "billing", "lines": ["1 A St"], "country": "XX"}]},
            "addresses[0].country",
            "invalid_country",
        ),
        (
            {
                "addresses": [
                    {"type": "billing", "lines": ["1 A St"], "country": "US", "region": "ZZ"}
                ]
            },
            "addresses[0].region",
            "invalid_region",
        ),
        (
            {
                "addresses": [
                    {"type": "billing", "lines": ["1 A St"], "country": "US", "region": "DE-BY"}
                ]
            },
            "addresses[0].region",
            "region_country_mismatch",
        ),
        (
            {
                "pricing_tiers": [
                    {
                        "item": "W",
                        "unit_price": "1",
                        "currency": "USD",
                        "min_quantity": 10,
                        "max_quantity": 5,
                    }
                ]
            },
            "pricing_tiers[0].max_quantity",
            "range",
        ),
        (
            {
                "pricing_tiers": [
                    {
                        "item": "W",
                        "unit_price": "1",
                        "currency": "USD",
                        "effective_from": "2026-02-01",
                        "effective_to": "2026-01-01",
                    }
                ]
            },
            "pricing_tiers[0].effective_to",
            "range",
        ),
        (
            {
                "tax_profiles": [
                    {
                        "tax_code": "EXEMPT-RESALE",
                        "effective_from": "2027-01-01",
                        "effective_to": "2026-01-01",
                    }
                ]
            },
            "tax_profiles[0].effective_to",
            "range",
        ),
        (
            {"tax_profiles": [{"tax_code": "MISSING"}]},
            "tax_profiles[0].tax_code",
            "unknown_reference",
        ),
    ],
)
def test_each_invalid_field_is_a_422_naming_the_field(
    client: TestClient, changes: dict[str, Any], field: str, code: str
) -> None:
    errors = errors_of(client.post(API, json=acme(**changes)))
    assert errors.get(field) == code, errors
    assert client.get(API, params={"include_inactive": True}).json()["items"] == []


def test_overlapping_pricing_tiers_are_refused_adjacent_ones_accepted(client: TestClient) -> None:
    tier = {
        "item": "W",
        "unit_price": "1",
        "currency": "USD",
        "min_quantity": 1,
        "max_quantity": 99,
        "effective_from": "2026-01-01",
        "effective_to": "2026-06-30",
    }
    overlapping = {**tier, "min_quantity": 50, "max_quantity": 150, "unit_price": "0.9"}
    assert errors_of(client.post(API, json=acme(pricing_tiers=[tier, overlapping]))) == {
        "pricing_tiers[1]": "overlap"
    }
    next_range = {**tier, "min_quantity": 100, "max_quantity": None}
    next_period = {**tier, "effective_from": "2026-07-01", "effective_to": None}
    other_item = {**tier, "item": "V"}
    create(client, acme(pricing_tiers=[tier, next_range, next_period, other_item]))


def test_tax_ids_are_checked_and_compacted_for_their_country(client: TestClient) -> None:
    de = create(client, minimal("Muster GmbH", "a@muster.example", tax_id="DE 136 695 976"))
    gb = create(client, minimal("Muster Ltd", "a@muster-uk.example", tax_id="GB 980 7806 84"))
    us = create(
        client,
        minimal(
            "Muster Inc",
            "a@muster-us.example",
            tax_id="94-1234567",
            addresses=[{"type": "billing", "lines": ["1 Main St"], "country": "US"}],
        ),
    )
    assert (de["tax_id"], gb["tax_id"], us["tax_id"]) == ("DE136695976", "GB980780684", "941234567")


def test_national_phone_numbers_read_with_the_customers_country(client: TestClient) -> None:
    body = minimal(
        phone="030 1234567",
        addresses=[{"type": "billing", "lines": ["Hauptstr. 1"], "country": "DE"}],
    )
    assert create(client, body)["phone"] == "+49301234567"


def test_unknown_and_server_owned_fields_are_rejected(client: TestClient) -> None:
    body = acme(id="5b0e4b8e-1111-4c1c-9c55-000000000000", number="C1", version=3, colour="red")
    errors = errors_of(client.post(API, json=body))
    assert errors == {
        "id": "read_only",
        "number": "read_only",
        "version": "read_only",
        "colour": "unknown_field",
    }
    child = acme(addresses=[{**acme()["addresses"][0], "id": "x"}])
    assert errors_of(client.post(API, json=child)) == {"addresses[0].id": "unknown_field"}
    customer = create(client, acme())
    patch = client.patch(f"{API}/{customer['id']}", json={"status": "inactive"})
    assert errors_of(patch) == {"status": "read_only"}


def test_warnings_for_large_credit_limit_and_similar_name_do_not_block(client: TestClient) -> None:
    create(client, acme())
    response = client.post(
        API, json=minimal("ACME Corporation, Inc.", "other@acme.example", credit_limit="2500000")
    )
    assert response.status_code == 201
    codes = {w["code"] for w in response.json()["warnings"]}
    assert codes == {"large_credit_limit", "similar_customer"}


def test_patch_changes_present_fields_and_null_clears(client: TestClient) -> None:
    customer = create(client, acme())
    url = f"{API}/{customer['id']}"
    response = client.patch(
        url, json={"notes": "VIP", "website": None}, headers={"If-Match": '"1"'}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["notes"] == "VIP" and body["website"] is None and body["version"] == 2
    assert body["name"] == "Acme Corporation" and response.headers["etag"] == '"2"'
    assert errors_of(client.patch(url, json={"name": None})) == {"name": "required"}
    assert client.patch(url, json={}).json()["version"] == 2


def test_patch_with_stale_if_match_is_412(client: TestClient) -> None:
    customer = create(client, acme())
    url = f"{API}/{customer['id']}"
    assert client.patch(url, json={"notes": "a"}, headers={"If-Match": '"1"'}).status_code == 200
    stale = client.patch(url, json={"notes": "b"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.headers["content-type"].startswith("application/problem+json")
    assert client.get(url).json()["notes"] == "a"


def test_patch_action_lists_change_children_in_one_transaction(client: TestClient) -> None:
    customer = create(client, acme())
    url = f"{API}/{customer['id']}"
    tier_id = customer["pricing_tiers"][0]["id"]
    contact_id = customer["contacts"][0]["id"]
    profile_id = customer["tax_profiles"][0]["id"]
    patch = {
        "addresses": [
            {
                "action": "add",
                "type": "shipping",
                "lines": ["1 Dock Rd"],
                "city": "Oakland",
                "region": "CA",
                "postal_code": "94607",
                "country": "US",
            }
        ],
        "pricing_tiers": [{"action": "update", "id": tier_id, "unit_price": "9.25"}],
        "contacts": [{"action": "delete", "id": contact_id}],
        "tax_profiles": [{"action": "update", "id": profile_id, "certificate_number": None}],
        "dimensions": [
            {"action": "update", "type": "department", "value": "SERVICE"},
            {"action": "add", "type": "location", "value": "WEST"},
        ],
        "overrides": [
            {"action": "update", "entity": "DE01", "credit_limit": "90000", "payment_terms": None},
            {"action": "add", "entity": "GB01", "currency": "GBP"},
            {"action": "delete", "entity": "US01"},
        ],
    }
    response = client.patch(url, json=patch)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [a["region"] for a in body["addresses"]] == ["US-CA", "US-CA"]
    assert body["pricing_tiers"][0] == {**customer["pricing_tiers"][0], "unit_price": "9.25"}
    assert body["contacts"] == []
    assert body["tax_profiles"][0]["certificate_number"] is None
    assert body["dimensions"] == {"department": "SERVICE", "location": "WEST"}
    assert set(body["overrides"]) == {"DE01", "GB01"}
    assert body["overrides"]["DE01"]["credit_limit"] == "90000"
    assert body["overrides"]["DE01"]["payment_terms"] is None
    assert client.get(url).json() == {**body, "warnings": []}


def test_a_bad_action_applies_nothing(client: TestClient) -> None:
    customer = create(client, acme())
    url = f"{API}/{customer['id']}"
    patch = {
        "notes": "should not stick",
        "addresses": [{"action": "add", "type": "shipping", "lines": ["x"], "country": "US"}],
        "contacts": [
            {"action": "update", "id": "00000000-0000-0000-0000-000000000000", "role": "x"}
        ],
    }
    assert errors_of(client.patch(url, json=patch)) == {"contacts[0].id": "not_found"}
    overlap = {
        "pricing_tiers": [
            {
                "action": "add",
                "item": "WIDGET-1",
                "unit_price": "1",
                "currency": "USD",
                "min_quantity": 500,
            }
        ]
    }
    assert errors_of(client.patch(url, json=overlap)) == {"pricing_tiers[1]": "overlap"}
    after = client.get(url).json()
    assert after["version"] == 1 and after["notes"] is None and len(after["addresses"]) == 1


def test_deactivate_hides_from_lists_and_reactivate_restores(client: TestClient) -> None:
    customer = create(client, acme())
    other = create(client, minimal())
    url = f"{API}/{customer['id']}"
    response = client.post(f"{url}/deactivate", headers={"If-Match": '"1"'})
    assert response.status_code == 200 and response.json()["status"] == "inactive"
    assert [c["id"] for c in client.get(API).json()["items"]] == [other["id"]]
    inactive = client.get(API, params={"status": "inactive"}).json()["items"]
    assert [c["id"] for c in inactive] == [customer["id"]]
    assert client.get(url).json()["contacts"] == customer["contacts"]
    assert client.post(f"{url}/deactivate").status_code == 409
    assert client.post(f"{url}/reactivate", headers={"If-Match": '"1"'}).status_code == 412
    assert client.post(f"{url}/reactivate").json()["status"] == "active"
    assert len(client.get(API).json()["items"]) == 2


def test_hard_delete_removes_the_customer_and_keeps_its_history(client: TestClient) -> None:
    customer = create(client, acme())
    url = f"{API}/{customer['id']}"
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
    assert client.delete(url).status_code == 404
    history = client.get(f"{url}/history").json()["items"]
    assert [e["operation"] for e in history] == ["create", "delete"]
    assert history[1]["changes"][0]["before"]["name"] == "Acme Corporation"
    again = create(client, acme(email="new@acme.example", tax_id=None))
    assert again["id"] != customer["id"]


def test_history_records_actor_and_before_after_per_field(client: TestClient) -> None:
    customer = create(client, acme())
    url = f"{API}/{customer['id']}"
    tier_id = customer["pricing_tiers"][0]["id"]
    client.patch(
        url,
        json={
            "credit_limit": "60000",
            "pricing_tiers": [{"action": "update", "id": tier_id, "unit_price": "9.00"}],
        },
    )
    entries = client.get(f"{url}/history").json()["items"]
    assert [e["operation"] for e in entries] == ["create", "update"]
    assert entries[1]["actor_id"] == "tester"
    changes = {c["field"]: (c["before"], c["after"]) for c in entries[1]["changes"]}
    assert changes == {
        "credit_limit": ("50000", "60000"),
        f"pricing_tiers[{tier_id}].unit_price": ("9.50", "9.00"),
    }
    assert client.get(f"{API}/00000000-0000-0000-0000-000000000000/history").status_code == 404


def test_a_json_value_of_another_type_is_a_change_though_python_calls_it_equal(
    client: TestClient,
) -> None:
    """true is not 1 and 1.0 is not 1 in a JSON document (Python's == says they are):
    such a change is stored, audited and announced like any other."""
    customer = create(client, acme(metadata={"flag": 1, "ratio": 1, "tags": [0]}))
    url = f"{API}/{customer['id']}"
    response = client.patch(url, json={"metadata": {"flag": True, "ratio": 1.0, "tags": [False]}})
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2
    stored = client.get(url).json()["metadata"]
    assert stored == {"flag": True, "ratio": 1.0, "tags": [False]}
    assert [type(stored[k]) for k in ("flag", "ratio")] == [bool, float]
    assert type(stored["tags"][0]) is bool
    [entry] = client.get(f"{url}/history").json()["items"][1:]
    assert [c["field"] for c in entry["changes"]] == ["metadata"]


def test_list_filters_and_cursor_pagination(client: TestClient) -> None:
    made = [
        create(
            client,
            minimal(
                f"Company {i:02d}",
                f"ap{i}@c{i}.example",
                customer_type="retail" if i % 2 else "wholesale",
                customer_group="RETAIL" if i < 3 else None,
            ),
        )
        for i in range(7)
    ]
    create(client, acme())
    first = client.get(API, params={"limit": 3}).json()
    assert len(first["items"]) == 3 and first["next_cursor"]
    seen = [c["number"] for c in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = client.get(API, params={"limit": 3, "cursor": cursor}).json()
        seen += [c["number"] for c in page["items"]]
        cursor = page["next_cursor"]
    assert seen == sorted(seen) and len(seen) == 8
    retail = client.get(API, params={"customer_type": "retail"}).json()["items"]
    assert {c["id"] for c in retail} == {made[i]["id"] for i in (1, 3, 5)}
    group = client.get(API, params={"customer_group": "RETAIL"}).json()["items"]
    assert len(group) == 3
    assert [c["name"] for c in client.get(API, params={"country": "US"}).json()["items"]] == [
        "Acme Corporation"
    ]
    assert len(client.get(API, params={"entity": "DE01"}).json()["items"]) == 1
    for term in ("acme", "C000008", "ap@acme", "94-1234567"):
        items = client.get(API, params={"q": term}).json()["items"]
        assert [c["name"] for c in items] == ["Acme Corporation"], term
    assert "addresses" not in first["items"][0]
    assert errors_of(client.get(API, params={"cursor": "%%%"})) == {"cursor": "invalid_cursor"}


def test_idempotency_key_replays_the_first_answer(client: TestClient) -> None:
    headers = {"Idempotency-Key": "create-acme-1"}
    first = client.post(API, json=acme(), headers=headers)
    again = client.post(API, json=acme(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["etag"] == first.headers["etag"]
    assert len(client.get(API).json()["items"]) == 1
    other = client.post(API, json=acme(name="Other"), headers=headers)
    assert other.status_code == 422 and other.json()["title"] == "Idempotency key reused"


def test_unknown_customer_is_404_problem(client: TestClient) -> None:
    response = client.get(f"{API}/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert response.json()["status"] == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert client.get(f"{API}/not-a-uuid").status_code == 422


def test_a_sellable_contact_stays_sellable(client: TestClient) -> None:
    contact = {"last_name": "Lee", "email": "lee@acme.example", "sellable": True}
    customer = create(client, acme(contacts=[contact]))
    contact_id = customer["contacts"][0]["id"]
    url = f"{API}/{customer['id']}"
    unset = {"contacts": [{"action": "update", "id": contact_id, "sellable": False}]}
    assert errors_of(client.patch(url, json=unset)) == {
        f"contacts[{contact_id}].sellable": "sellable_is_permanent"
    }
