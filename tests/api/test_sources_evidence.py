"""Exact keys are evidence, not identity (HTTP, SQLite and PostgreSQL): a shared mailbox
of two different companies is not merged, ``on_duplicate=review`` queues every hit, rows
of one file match each other, and keys pointing at two customers go to review."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.test_sources import SAP, csv_file, run_import

#: a sister company using the group's accounts-payable mailbox
SISTER = {
    **SAP,
    "source_system": "salesforce",
    "source_id": "F-77",
    "name": "Pacific Machine Works GmbH",
    "phone": "+49 911 555123",
    "billing_street": "Königstrasse 9",
    "billing_city": "Nürnberg",
    "billing_postal_code": "90402",
}


@pytest.fixture(autouse=True)
def import_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTMASTER_IMPORT_DIR", str(tmp_path / "uploads"))


@pytest.fixture
def manager(client: TestClient, client_as: Callable[..., TestClient]) -> TestClient:
    return client_as("manager", roles=["ar_manager"])


def customers(client: TestClient) -> list[dict[str, object]]:
    items: list[dict[str, object]] = client.get("/api/v1/customers").json()["items"]
    return items


def test_a_shared_mailbox_of_two_companies_is_not_merged(
    client: TestClient, manager: TestClient
) -> None:
    _, (first,) = run_import(client, manager, csv_file(SAP))
    _, (row,) = run_import(client, manager, csv_file(SISTER), on_duplicate="update")
    assert row["outcome"] == "created" and row["customer_id"] != first["customer_id"]
    (warning,) = [w for w in row["warnings"] if w["code"] == "review"]
    assert "dissimilar name" in warning["message"]
    pacific = client.get(f"/api/v1/customers/{first['customer_id']}").json()
    assert pacific["name"] == "Pacific Packaging GmbH"  # untouched
    assert pacific["addresses"][0]["city"] == "Köln"
    assert len(customers(client)) == 2
    (cluster,) = client.get("/api/v1/duplicates").json()["items"]
    assert set(cluster["members"]) == {first["customer_id"], row["customer_id"]}
    (pair,) = cluster["pairs"]
    assert any("dissimilar name" in r for r in pair["reasons"])
    # the steward says: not the same company; it stays that way
    decided = client.post(
        f"/api/v1/duplicates/{cluster['id']}/decision", json={"decision": "not_duplicate"}
    )
    assert decided.status_code == 200, decided.text
    assert len(customers(client)) == 2


def test_another_country_goes_to_review(client: TestClient, manager: TestClient) -> None:
    _, (first,) = run_import(client, manager, csv_file(SAP))
    assert first["outcome"] == "created"
    abroad = {
        **SAP,
        "source_system": "salesforce",
        "source_id": "F-2",
        "billing_city": "Wien",
        "billing_postal_code": "1010",
        "billing_country": "AT",
    }
    _, (row,) = run_import(client, manager, csv_file(abroad), on_duplicate="update")
    assert row["outcome"] == "created"
    assert any("another country" in w["message"] for w in row["warnings"])


def test_on_duplicate_review_queues_every_hit(client: TestClient, manager: TestClient) -> None:
    _, (first,) = run_import(client, manager, csv_file(SAP))
    same = {**SAP, "source_system": "salesforce", "source_id": "F-3"}
    _, (row,) = run_import(client, manager, csv_file(same), on_duplicate="review")
    assert row["outcome"] == "created"
    (cluster,) = client.get("/api/v1/duplicates").json()["items"]
    assert set(cluster["members"]) == {first["customer_id"], row["customer_id"]}
    assert cluster["pairs"][0]["score"] > 0.9


def test_rows_of_one_file_match_each_other(client: TestClient, manager: TestClient) -> None:
    again = {**SAP, "source_system": "salesforce", "source_id": "F-4", "tax_id": "DE136695976"}
    _, (a, b) = run_import(client, manager, csv_file(SAP, again), on_duplicate="update")
    assert a["outcome"] == "created" and b["outcome"] == "updated"
    assert b["customer_id"] == a["customer_id"]
    customer = client.get(f"/api/v1/customers/{a['customer_id']}").json()
    assert customer["tax_id"] == "DE136695976"
    body = client.get(f"/api/v1/customers/{a['customer_id']}/sources").json()
    assert sorted(r["source_system"] for r in body["records"]) == ["salesforce", "sap"]
    # with skip, the later row is kept as a source record of the earlier one's golden record
    third = {**SAP, "source_id": "S-2", "email": "orders@pacific-pack.example"}
    fourth = {**third, "source_system": "hubspot", "source_id": "H-4"}
    _, (c, d) = run_import(client, manager, csv_file(third, fourth))
    assert (c["outcome"], d["outcome"]) == ("created", "skipped")
    body = client.get(f"/api/v1/customers/{c['customer_id']}/sources").json()
    assert sorted(r["source_system"] for r in body["records"]) == ["hubspot", "sap"]


def test_keys_pointing_at_two_customers_go_to_review(
    client: TestClient, manager: TestClient
) -> None:
    mail = {**SAP, "source_id": "S-10", "tax_id": ""}
    tax = {**SAP, "source_id": "S-11", "email": "ap@other.example", "tax_id": "DE129273398"}
    _, (a, b) = run_import(client, manager, csv_file(mail, tax))
    both = {**SAP, "source_system": "salesforce", "source_id": "F-9", "tax_id": "DE129273398"}
    _, (row,) = run_import(client, manager, csv_file(both), on_duplicate="update")
    assert row["outcome"] == "created", row
    (cluster,) = client.get("/api/v1/duplicates").json()["items"]
    assert set(cluster["members"]) == {a["customer_id"], b["customer_id"], row["customer_id"]}
