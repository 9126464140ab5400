"""Values no column can hold are refused at the edge (issue 12, item 6), through HTTP on
SQLite and PostgreSQL: integers beyond 64 bits anywhere in a JSON body, amounts with more
decimal places than an amount keeps, and cursors that are no position this API returned
answer 422 (never a 500, never a change request that fails forever when approved)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from custmaster.bootstrap import Container
from custmaster.services.approval_policy_loader import load_policy
from tests.factories import acme, create, minimal

API = "/api/v1"
HUGE = 2**63


def refused(response: Any, field: str, code: str = "out_of_range") -> None:
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert (field, code) in [(e["field"], e["code"]) for e in errors], errors


def tier(**changes: Any) -> dict[str, Any]:
    return {"item": "W-1", "unit_price": "9.50", "currency": "USD", "min_quantity": 1, **changes}


def test_integers_beyond_64_bits_are_refused_before_any_change_request(
    client: TestClient,
    client_as: Callable[..., TestClient],
    container: Container,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, role in (
        ("ar", "ar_manager"),
        ("ar2", "ar_manager"),
        ("ctrl", "controller"),
        ("ctrl2", "controller"),
    ):
        client_as(name, roles=[role])
    monkeypatch.setattr(container, "policy", load_policy(None))
    body = acme(pricing_tiers=[tier(min_quantity=HUGE)])
    refused(client.post(f"{API}/customers", json=body), "pricing_tiers[0].min_quantity")
    refused(client.post(f"{API}/customers", json=minimal(metadata={"n": -HUGE - 1})), "metadata.n")
    refused(
        client.post(f"{API}/payment-terms", json={"code": "NET9", "name": "x", "net_days": HUGE}),
        "net_days",
    )
    assert client.get(f"{API}/change-requests").json()["items"] == []
    fits = client.post(f"{API}/customers", json=acme(pricing_tiers=[tier(min_quantity=HUGE - 1)]))
    assert fits.status_code == 202, fits.text


def test_the_fast_path_refuses_them_as_the_route_does(client: TestClient) -> None:
    customer = create(client, minimal())
    url = f"{API}/customers/{customer['id']}"
    patch = {"pricing_tiers": [{"action": "add", **tier(max_quantity=HUGE * 10)}]}
    refused(client.patch(url, json=patch), "pricing_tiers[0].max_quantity")
    assert client.get(url).json()["version"] == customer["version"]


@pytest.mark.parametrize("amount", ["1e-100000", "0.1234567", "1E+400", "123456789012345678"])
def test_amounts_beyond_what_an_amount_keeps_are_refused(client: TestClient, amount: str) -> None:
    refused(client.post(f"{API}/customers", json=minimal(credit_limit=amount)), "credit_limit")


def test_trailing_zeros_beyond_the_scale_are_kept_as_the_value(client: TestClient) -> None:
    made = create(client, minimal(credit_limit="1.50000000000"))
    assert made["credit_limit"] == "1.500000"


@pytest.mark.parametrize(
    ("target", "field"),
    [
        ("/events?after=0-99999999999999999999", "after"),
        ("/events?after=99999999999999999999-0", "after"),
        ("/events?after=-1-5", "after"),
        ("/events?after=%201-5", "after"),
    ],
)
def test_feed_positions_beyond_64_bits_are_a_422(
    client: TestClient, target: str, field: str
) -> None:
    refused(client.get(f"{API}{target}"), field, "invalid_cursor")


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("path", "raw"),
    [
        ("/duplicates", "99999999999999999999"),
        ("/imports", "not a time"),
    ],
)
def test_cursors_that_hold_no_position_are_a_422(client: TestClient, path: str, raw: str) -> None:
    refused(client.get(f"{API}{path}", params={"cursor": _cursor(raw)}), "cursor", "invalid_cursor")


def test_an_import_rows_cursor_beyond_64_bits_is_a_422(
    client: TestClient, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUSTMASTER_IMPORT_DIR", str(tmp_path))
    upload = [("file", ("x.csv", b"source_id,name,email\nA1,A,a@a.example\n", "text/csv"))]
    job = client.post(f"{API}/imports", files=upload, data={"template": "custmaster"}).json()
    for raw in ("99999999999999999999", "-5"):
        refused(
            client.get(f"{API}/imports/{job['id']}/rows", params={"cursor": _cursor(raw)}),
            "cursor",
            "invalid_cursor",
        )
