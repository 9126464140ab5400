"""A PATCH stores exactly what it answers: the master row gets only its changed columns,
and a value that compares equal but is written differently ("9.50" and "9.5", true and
1) counts as changed, on the master, its child records and its overrides."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import acme, create

API = "/api/v1/customers"


def test_a_patch_of_one_field_leaves_the_rest_of_the_row_as_it_was(client: TestClient) -> None:
    customer = create(client, acme())
    answer = client.patch(f"{API}/{customer['id']}", json={"notes": "called back"})
    assert answer.status_code == 200, answer.text
    stored = client.get(f"{API}/{customer['id']}").json()
    assert stored == {**answer.json(), "warnings": []}
    unchanged = {k: v for k, v in customer.items() if k not in ("notes", "version", "updated_at")}
    assert {k: stored[k] for k in unchanged} == unchanged
    assert stored["notes"] == "called back" and stored["version"] == 2
    assert client.get(API, params={"q": "Acme"}).json()["items"][0]["id"] == customer["id"]


def test_values_equal_in_python_but_written_differently_are_stored(client: TestClient) -> None:
    customer = create(client, acme(metadata={"flag": True, "ratio": 1}))
    tier = customer["pricing_tiers"][0]
    assert tier["unit_price"] == "9.50"
    patch = {
        "credit_limit": "50000.00",
        "metadata": {"flag": 1, "ratio": 1.0},
        "pricing_tiers": [{"action": "update", "id": tier["id"], "unit_price": "9.5"}],
        "overrides": [{"action": "update", "entity": "DE01", "credit_limit": "80000.0"}],
    }
    answer = client.patch(f"{API}/{customer['id']}", json=patch)
    assert answer.status_code == 200, answer.text
    stored = client.get(f"{API}/{customer['id']}").json()
    for body in (answer.json(), stored):
        assert body["credit_limit"] == "50000.00"
        assert body["pricing_tiers"][0]["unit_price"] == "9.5"
        assert body["overrides"]["DE01"]["credit_limit"] == "80000.0"
        assert body["metadata"] == {"flag": 1, "ratio": 1.0}
        assert body["metadata"]["flag"] is not True and isinstance(body["metadata"]["ratio"], float)
    history = client.get(f"{API}/{customer['id']}/history").json()["items"]
    changed = {c["field"] for c in history[-1]["changes"]}
    assert {
        "credit_limit",
        "overrides.DE01.credit_limit",
        f"pricing_tiers[{tier['id']}].unit_price",
    } <= changed


def test_an_override_that_changes_only_its_addresses_stores_them(client: TestClient) -> None:
    customer = create(client, acme())
    berlin = {"type": "billing", "lines": ["Hauptstr. 5"], "city": "Berlin", "country": "DE"}
    for addresses in ([berlin], [berlin, {**berlin, "type": "shipping"}], []):
        patch = {"overrides": [{"action": "update", "entity": "DE01", "addresses": addresses}]}
        answer = client.patch(f"{API}/{customer['id']}", json=patch)
        assert answer.status_code == 200, answer.text
        stored = client.get(f"{API}/{customer['id']}").json()
        assert stored == {**answer.json(), "warnings": []}
        assert [a["type"] for a in stored["overrides"]["DE01"]["addresses"]] == [
            a["type"] for a in addresses
        ]
        assert stored["addresses"] == customer["addresses"]  # the master's stay
