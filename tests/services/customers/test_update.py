"""An update rewrites the customer's match keys only when what the index stores of it
changes (identity fields, primary address, status, number); its response and history
stay as they were."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from custmaster.services.customers import update
from tests.factories import acme, create

API = "/api/v1/customers"


@pytest.fixture
def refreshes(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    calls: list[Any] = []
    real = update.refresh_match_keys

    def counted(uow: Any, customer: Any) -> None:
        calls.append(customer.id)
        real(uow, customer)

    monkeypatch.setattr(update, "refresh_match_keys", counted)
    return calls


@pytest.mark.parametrize(
    ("patch", "rewrites"),
    [
        ({"notes": "met the buyer"}, False),
        ({"credit_limit": "60000"}, False),
        ({"overrides": [{"action": "add", "entity": "GB01", "payment_terms": "NET60"}]}, False),
        (
            {
                "addresses": [
                    {
                        "action": "add",
                        "type": "shipping",
                        "lines": ["1 Dock Rd"],
                        "city": "Oakland",
                        "country": "US",
                    }
                ]
            },
            False,
        ),
        ({"name": "Acme Corp International"}, True),
        ({"email": "billing@acme.example"}, True),
        ({"phone": "+1 415 555 0199"}, True),
        ({"tax_id": "94-7654321"}, True),
    ],
)
def test_match_keys_are_rewritten_only_when_indexed_fields_change(
    client: TestClient, refreshes: list[Any], patch: dict[str, Any], rewrites: bool
) -> None:
    customer = create(client, acme())
    refreshes.clear()
    answer = client.patch(f"{API}/{customer['id']}", json=patch)
    assert answer.status_code == 200, answer.text
    assert answer.json()["version"] == customer["version"] + 1
    assert len(refreshes) == (1 if rewrites else 0)
    history = client.get(f"{API}/{customer['id']}/history").json()["items"]
    assert [e["operation"] for e in history] == ["create", "update"]


def test_the_answer_to_an_update_is_the_stored_customer(client: TestClient) -> None:
    """The answer reuses the snapshot the update made: it is the customer as read back."""
    customer = create(client, acme())
    answer = client.patch(f"{API}/{customer['id']}", json={"notes": "n", "phone": None})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["warnings"] == [] and body["notes"] == "n" and body["phone"] is None
    assert body == client.get(f"{API}/{customer['id']}").json()
    assert answer.headers["ETag"] == f'"{body["version"]}"'
