"""Field-level invalidity (HTTP, SQLite and PostgreSQL): a bad tax-id checksum or an
unassigned phone number drops just that field with a warning on the row and its source
record (``on_invalid_field=drop``, the default); the row lands and matches."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.test_sources import SAP, csv_file, run_import


@pytest.fixture(autouse=True)
def import_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTMASTER_IMPORT_DIR", str(tmp_path / "uploads"))


@pytest.fixture
def manager(client: TestClient, client_as: Callable[..., TestClient]) -> TestClient:
    return client_as("manager", roles=["ar_manager"])


BAD_TAX_ID = {**SAP, "tax_id": "DE136695977"}  # checksum off by one


def test_a_row_with_a_bad_tax_id_lands_without_it(client: TestClient, manager: TestClient) -> None:
    job, (row,) = run_import(client, manager, csv_file(BAD_TAX_ID))
    assert row["outcome"] == "created"
    (warning,) = [w for w in row["warnings"] if w["field"] == "tax_id"]
    assert warning["code"] == "invalid_field_drop" and "dropped" in warning["message"]
    customer = client.get(f"/api/v1/customers/{row['customer_id']}").json()
    assert customer["tax_id"] is None and customer["name"] == SAP["name"]
    (record,) = client.get(f"/api/v1/customers/{row['customer_id']}/sources").json()["records"]
    assert record["received"]["tax_id"] == "DE136695977"  # as received
    assert record["normalised"]["tax_id"] is None
    assert [w["code"] for w in record["warnings"] if w["field"] == "tax_id"] == [
        "invalid_field_drop"
    ]
    assert job["summary"]["planned"]["with_warnings"] == 1
    assert job["summary"]["warnings"] == {"invalid_field_drop": 1}  # counted by kind


def test_an_unassigned_phone_is_dropped_and_the_row_still_matches(
    client: TestClient, manager: TestClient
) -> None:
    _, (first,) = run_import(client, manager, csv_file(SAP))
    unassigned = {**SAP, "source_system": "salesforce", "source_id": "F-1", "phone": "+49 000 0000"}
    _, (row,) = run_import(client, manager, csv_file(unassigned), on_duplicate="update")
    assert row["outcome"] in ("updated", "skipped")
    assert row["customer_id"] == first["customer_id"]  # matched by its e-mail
    assert "invalid_field_drop" in {w["code"] for w in row["warnings"] if w["field"] == "phone"}
    body = client.get(f"/api/v1/customers/{first['customer_id']}/sources").json()
    assert sorted(r["source_system"] for r in body["records"]) == ["salesforce", "sap"]


def test_reject_and_draft_keep_the_other_choices(client: TestClient, manager: TestClient) -> None:
    _, (rejected,) = run_import(client, manager, csv_file(BAD_TAX_ID), on_invalid_field="reject")
    assert rejected["outcome"] == "failed"
    assert [e["code"] for e in rejected["errors"]] == ["invalid_tax_id"]
    _, (drafted,) = run_import(
        client,
        manager,
        csv_file(BAD_TAX_ID),
        on_invalid_field="draft",
        keep_incomplete_as_drafts=True,
    )
    assert drafted["outcome"] == "draft"
    assert "invalid_field_draft" in {w["code"] for w in drafted["warnings"]}
    bad = client.post(
        "/api/v1/imports",
        data={"template": "custmaster", "on_invalid_field": "ignore"},
        files=[("file", ("x.csv", csv_file(SAP), "text/csv"))],
    )
    assert bad.status_code == 422
