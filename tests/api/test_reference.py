"""Reference data through the HTTP API: create, list, read, update, delete; audited and
evented; codes checked as foreign keys by customers."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.factories import acme, create, errors_of, minimal, outbox_events

API = "/api/v1"


def test_create_list_read_and_duplicates(bare_client: TestClient) -> None:
    body = {"code": "US01", "name": "Acme US Inc.", "country": "us", "currency": "usd"}
    created = bare_client.post(f"{API}/legal-entities", json=body)
    assert created.status_code == 201
    assert (created.json()["country"], created.json()["currency"]) == ("US", "USD")
    assert created.headers["location"] == f"{API}/legal-entities/US01"
    assert bare_client.post(f"{API}/legal-entities", json=body).status_code == 409
    assert bare_client.get(f"{API}/legal-entities/US01").json()["name"] == "Acme US Inc."
    assert bare_client.get(f"{API}/legal-entities/XX01").status_code == 404
    for code in ("NET30", "NET45", "NET60"):
        days = int(code[3:])
        bare_client.post(
            f"{API}/payment-terms", json={"code": code, "name": code, "net_days": days}
        )
    first = bare_client.get(f"{API}/payment-terms", params={"limit": 2}).json()
    second = bare_client.get(f"{API}/payment-terms", params={"cursor": first["next_cursor"]}).json()
    assert [t["code"] for t in first["items"] + second["items"]] == ["NET30", "NET45", "NET60"]


def test_invalid_reference_data_is_a_422_naming_the_field(bare_client: TestClient) -> None:
    bad_entity = {"code": "bad code!", "name": "", "country": "XX", "currency": "EURO"}
    assert errors_of(bare_client.post(f"{API}/legal-entities", json=bad_entity)) == {
        "code": "invalid_code",
        "name": "too_short",
        "country": "invalid_country",
        "currency": "invalid_currency",
    }
    terms = {"code": "NET9999", "name": "Long", "net_days": 9999}
    assert errors_of(bare_client.post(f"{API}/payment-terms", json=terms)) == {
        "net_days": "out_of_range"
    }
    dims = {
        "code": "region",
        "name": "Region",
        "values": [{"code": "N", "name": "North"}, {"code": "N", "name": "Again"}],
    }
    assert errors_of(bare_client.post(f"{API}/dimension-types", json=dims)) == {
        "values[1].code": "duplicate"
    }


def test_update_changes_fields_but_never_the_code(client: TestClient) -> None:
    changed = client.patch(
        f"{API}/payment-terms/NET30", json={"name": "Net thirty", "net_days": 31}
    )
    assert changed.status_code == 200
    assert (changed.json()["name"], changed.json()["net_days"]) == ("Net thirty", 31)
    code_change = client.patch(f"{API}/payment-terms/NET30", json={"code": "X"})
    assert errors_of(code_change) == {"code": "unknown_field"}
    assert client.patch(f"{API}/tax-codes/NOPE", json={"name": "x"}).status_code == 404
    renamed = client.patch(
        f"{API}/dimension-types/department",
        json={
            "values": [{"code": "SALES", "name": "Field sales"}, {"code": "LEGAL", "name": "Legal"}]
        },
    ).json()
    assert {v["code"]: v["name"] for v in renamed["values"]} == {
        "LEGAL": "Legal",
        "SALES": "Field sales",
        "SERVICE": "Service",
    }
    history = outbox_events(client.app.state.container)  # type: ignore[attr-defined]
    assert "custmaster.payment_terms.updated" in {e["type"] for e in history}


def test_delete_refuses_what_customers_use(client: TestClient) -> None:
    create(client, acme())
    assert client.delete(f"{API}/payment-terms/NET30").status_code == 409
    assert client.delete(f"{API}/legal-entities/DE01").status_code == 409  # an override uses it
    assert client.delete(f"{API}/tax-codes/EXEMPT-RESALE").status_code == 409
    assert client.delete(f"{API}/dimension-types/department").status_code == 409
    assert client.delete(f"{API}/dimension-types/location").status_code == 204
    assert client.delete(f"{API}/payment-terms/NET60").status_code == 204
    assert client.get(f"{API}/payment-terms/NET60").status_code == 404
    assert client.delete(f"{API}/payment-terms/NET60").status_code == 404
    unknown = client.post(f"{API}/customers", json=minimal(payment_terms="NET60"))
    assert errors_of(unknown) == {"payment_terms": "unknown_reference"}


def test_viewers_read_reference_data_but_do_not_change_it(
    client: TestClient, client_as: Callable[..., TestClient]
) -> None:
    viewer = client_as("viewer", roles=["viewer"])
    assert viewer.get(f"{API}/tax-codes").status_code == 200
    assert viewer.post(f"{API}/tax-codes", json={"code": "X", "name": "X"}).status_code == 403
    assert viewer.patch(f"{API}/tax-codes/STANDARD", json={"name": "X"}).status_code == 403
    assert viewer.delete(f"{API}/tax-codes/STANDARD").status_code == 403
