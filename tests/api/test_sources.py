"""Source records through the HTTP API, on SQLite and PostgreSQL: every arriving record
is kept with its lineage, the golden record's values follow the source ranking and the
stewards, ``GET /customers/{id}/sources`` says which source won each field and why, and
an unmerge restores the source records exactly."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

API = "/api/v1/imports"
COLUMNS = [
    "source_system",
    "source_id",
    "kind",
    "name",
    "email",
    "phone",
    "tax_id",
    "billing_street",
    "billing_city",
    "billing_postal_code",
    "billing_country",
]


@pytest.fixture(autouse=True)
def import_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTMASTER_IMPORT_DIR", str(tmp_path / "uploads"))


@pytest.fixture
def manager(client: TestClient, client_as: Callable[..., TestClient]) -> TestClient:
    return client_as("manager", roles=["ar_manager"])


def csv_file(*records: dict[str, str]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    for record in records:
        writer.writerow({"kind": "organization", **record})
    return out.getvalue().encode()


def run_import(
    client: TestClient, manager: TestClient, content: bytes, **options: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Submit (as ``client``), approve (as ``manager``): the job and its row report. The
    rows carry no owning legal entity: the job's (DE01 unless given) applies."""
    options.setdefault("entity", "DE01")
    data = {
        "template": "custmaster",
        **{k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in options.items()},
    }
    response = client.post(API, files=[("file", ("rows.csv", content, "text/csv"))], data=data)
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    job = client.get(f"{API}/{job_id}").json()
    if job["status"] == "awaiting_review":
        approved = manager.post(f"{API}/{job_id}/approve")
        assert approved.status_code == 200, approved.text
        job = client.get(f"{API}/{job_id}").json()
    report = client.get(f"{API}/{job_id}/rows", params={"limit": 500}).json()["items"]
    return job, report


SAP = {
    "source_system": "sap",
    "source_id": "S-1",
    "name": "Pacific Packaging GmbH",
    "email": "ap@pacific-pack.example",
    "phone": "+49 221 1234567",
    "billing_street": "Hohe Strasse 1",
    "billing_city": "Köln",
    "billing_postal_code": "50667",
    "billing_country": "DE",
}


def winners(client: TestClient, customer_id: str) -> dict[str, dict[str, Any]]:
    body = client.get(f"/api/v1/customers/{customer_id}/sources").json()
    return {f["field"]: f for f in body["fields"]}


def test_every_imported_row_is_kept_with_its_lineage(
    client: TestClient, manager: TestClient
) -> None:
    job, report = run_import(client, manager, csv_file(SAP))
    (row,) = report
    assert row["outcome"] == "created"
    response = client.get(f"/api/v1/customers/{row['customer_id']}/sources")
    assert response.status_code == 200, response.text
    (record,) = response.json()["records"]
    assert (record["source_system"], record["source_id"], record["origin"]) == (
        "sap",
        "S-1",
        "import",
    )
    assert record["received"]["name"] == "Pacific Packaging GmbH"
    assert record["received"]["phone"] == "+49 221 1234567"  # as received
    assert record["normalised"]["phone"] == "+492211234567"  # normalised (E.164)
    assert record["lineage"]["job_id"] == job["id"]
    assert record["lineage"]["file"] == "rows.csv" and record["lineage"]["rows"] == [1]
    fields = {f["field"]: f for f in response.json()["fields"]}
    assert fields["name"]["source_system"] == "sap"
    assert fields["name"]["source_id"] == "S-1" and fields["name"]["rule"] == "first_source"


def test_a_golden_record_survives_a_later_lower_ranked_import(
    client: TestClient, manager: TestClient
) -> None:
    _, (first,) = run_import(client, manager, csv_file(SAP))
    customer_id = first["customer_id"]
    hubspot = {
        **SAP,
        "source_system": "hubspot",
        "source_id": "H-9",
        "name": "Pacific Packaging",
        "phone": "+49 221 7654321",
        "tax_id": "DE136695976",
    }
    _, (row,) = run_import(client, manager, csv_file(hubspot), on_duplicate="update")
    assert row["outcome"] == "updated" and row["customer_id"] == customer_id
    kept = {w["field"] for w in row["warnings"] if w["code"] == "value_kept"}
    assert {"name", "phone", "addresses[billing]"} <= kept
    customer = client.get(f"/api/v1/customers/{customer_id}").json()
    assert customer["name"] == "Pacific Packaging GmbH"  # sap ranks above hubspot
    assert customer["phone"] == "+492211234567"
    assert customer["tax_id"] == "DE136695976"  # the gap hubspot filled
    fields = winners(client, customer_id)
    assert fields["name"]["source_system"] == "sap"
    assert fields["tax_id"]["source_system"] == "hubspot"
    assert fields["tax_id"]["rule"] == "fills_gap"
    body = client.get(f"/api/v1/customers/{customer_id}/sources").json()
    assert sorted(r["source_system"] for r in body["records"]) == ["hubspot", "sap"]
    # a steward's value survives even the best-ranked source
    patched = client.patch(f"/api/v1/customers/{customer_id}", json={"phone": "+49 221 5550000"})
    assert patched.status_code == 200, patched.text
    newer_sap = {**SAP, "phone": "+49 221 9999999", "name": "Pacific Packaging GmbH & Co"}
    _, (again,) = run_import(client, manager, csv_file(newer_sap), on_duplicate="update")
    assert again["outcome"] == "updated"
    customer = client.get(f"/api/v1/customers/{customer_id}").json()
    assert customer["phone"] == "+492215550000"  # the steward's
    assert customer["name"] == "Pacific Packaging GmbH & Co"  # the same source's newer value
    fields = winners(client, customer_id)
    assert fields["phone"]["rule"] == "steward" and fields["phone"]["source_system"] is None
    assert fields["name"]["rule"] == "same_source"
    body = client.get(f"/api/v1/customers/{customer_id}/sources").json()
    assert len(body["records"]) == 2  # the sap record arrived again: replaced, not doubled


def test_a_higher_ranked_source_takes_over_a_lower_ranked_value(
    client: TestClient, manager: TestClient
) -> None:
    hubspot = {**SAP, "source_system": "hubspot", "source_id": "H-9", "name": "Pacific Pack"}
    _, (first,) = run_import(client, manager, csv_file(hubspot))
    _, (row,) = run_import(client, manager, csv_file(SAP), on_duplicate="update")
    assert row["outcome"] == "updated"
    customer = client.get(f"/api/v1/customers/{first['customer_id']}").json()
    assert customer["name"] == "Pacific Packaging GmbH"
    assert winners(client, customer["id"])["name"]["rule"] == "source_priority"


def test_a_skipped_duplicate_is_kept_as_a_source_record_of_its_golden_record(
    client: TestClient, manager: TestClient
) -> None:
    _, (first,) = run_import(client, manager, csv_file(SAP))
    crm = {**SAP, "source_system": "salesforce", "source_id": "F-1"}
    _, (row,) = run_import(client, manager, csv_file(crm))  # on_duplicate=skip
    assert row["outcome"] == "skipped"
    body = client.get(f"/api/v1/customers/{first['customer_id']}/sources").json()
    assert sorted(r["source_system"] for r in body["records"]) == ["salesforce", "sap"]
    # the same file again brings nothing new: no third record
    run_import(client, manager, csv_file(crm))
    body = client.get(f"/api/v1/customers/{first['customer_id']}/sources").json()
    assert len(body["records"]) == 2


def test_an_api_create_with_a_source_reference_keeps_a_source_record(
    client: TestClient,
) -> None:
    body = {
        "kind": "organization",
        "name": "Initech",
        "email": "ap@initech.example",
        "owning_entity": "US01",
        "source_refs": [{"source_system": "netsuite", "source_id": "N-7"}],
    }
    created = client.post("/api/v1/customers", json=body)
    assert created.status_code == 201, created.text
    found = client.get(f"/api/v1/customers/{created.json()['id']}/sources").json()
    (record,) = found["records"]
    assert record["origin"] == "api" and record["received"] == body
    assert (record["source_system"], record["source_id"]) == ("netsuite", "N-7")


def test_an_unmerge_restores_the_source_records_exactly(
    client: TestClient, manager: TestClient
) -> None:
    other = {
        **SAP,
        "source_system": "salesforce",
        "source_id": "F-1",
        "email": "billing@pacific-pack.example",
        "name": "Pacific Packaging",
    }
    _, report = run_import(client, manager, csv_file(SAP, other))
    a, b = (r["customer_id"] for r in report)
    before_a = client.get(f"/api/v1/customers/{a}/sources").json()
    before_b = client.get(f"/api/v1/customers/{b}/sources").json()
    merged = client.post(f"/api/v1/customers/{a}/merge", json={"absorbed_ids": [b]})
    assert merged.status_code == 200, merged.text
    during = client.get(f"/api/v1/customers/{a}/sources").json()
    assert sorted(r["id"] for r in during["records"]) == sorted(
        r["id"] for r in before_a["records"] + before_b["records"]
    )
    undone = client.post(f"/api/v1/merges/{merged.json()['merge_id']}/unmerge")
    assert undone.status_code == 200, undone.text
    assert client.get(f"/api/v1/customers/{a}/sources").json() == before_a
    assert client.get(f"/api/v1/customers/{b}/sources").json() == before_b


def test_sources_of_an_unknown_customer_and_scope(
    client: TestClient, manager: TestClient, client_as: Callable[..., TestClient]
) -> None:
    missing = client.get("/api/v1/customers/00000000-0000-0000-0000-000000000001/sources")
    assert missing.status_code == 404
    _, (row,) = run_import(client, manager, csv_file({**SAP}), entity="US01")
    scoped = client_as("ctrl", roles=["controller"], entities=["DE01"])
    denied = scoped.get(f"/api/v1/customers/{row['customer_id']}/sources")
    assert denied.status_code == 403
    allowed = client_as("ctrl-us", roles=["controller"], entities=["US01"])
    assert allowed.get(f"/api/v1/customers/{row['customer_id']}/sources").status_code == 200
