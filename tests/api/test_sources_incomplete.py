"""Incomplete source records take part in matching, through HTTP and the CLI, on SQLite
and PostgreSQL: a record without e-mail joins its company online at import, or in batch
(``custmaster match run --auto-merge``, or a steward's decision in the review queue)."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from custmaster.bootstrap import Container
from custmaster.cli.app import app as cli
from custmaster.services.sources.training import source_features
from tests.api.test_sources import SAP, csv_file, run_import

runner = CliRunner()
#: the marketing list's row of the same company: no e-mail, another phone format
NO_MAIL = {
    **SAP,
    "source_system": "hubspot",
    "source_id": "H-5",
    "email": "",
    "name": "Pacific Packaging GmbH",
    "phone": "0221 1234567",
}


@pytest.fixture(autouse=True)
def import_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTMASTER_IMPORT_DIR", str(tmp_path / "uploads"))


@pytest.fixture
def manager(client: TestClient, client_as: Callable[..., TestClient]) -> TestClient:
    return client_as("manager", roles=["ar_manager"])


def test_a_record_without_email_joins_its_company_at_import(
    client: TestClient, manager: TestClient
) -> None:
    _, (first,) = run_import(client, manager, csv_file(SAP))
    _, (row,) = run_import(
        client, manager, csv_file({**NO_MAIL, "tax_id": "DE136695976"}), on_duplicate="update"
    )
    assert row["outcome"] == "updated", row
    assert row["customer_id"] == first["customer_id"]
    customer = client.get(f"/api/v1/customers/{first['customer_id']}").json()
    assert customer["tax_id"] == "DE136695976" and customer["email"] == SAP["email"]
    body = client.get(f"/api/v1/customers/{first['customer_id']}/sources").json()
    joined = next(r for r in body["records"] if r["source_system"] == "hubspot")
    assert joined["missing"] == ["email"] and joined["normalised"] is None


def _url(container: Container) -> str:
    return container.engine.url.render_as_string(hide_password=False)


def test_a_pending_record_joins_its_company_in_a_batch_run(
    client: TestClient, manager: TestClient, container: Container
) -> None:
    _, (draft,) = run_import(client, manager, csv_file(NO_MAIL), keep_incomplete_as_drafts=True)
    assert draft["outcome"] == "draft"
    _, (created,) = run_import(client, manager, csv_file(SAP))
    assert created["outcome"] == "created"  # exact keys only at import for complete rows
    queued = runner.invoke(cli, ["match", "run", "--database-url", _url(container)])
    assert queued.exit_code == 0, queued.output
    clusters = client.get("/api/v1/duplicates").json()["items"]
    assert len(clusters) == 1 and created["customer_id"] in clusters[0]["members"]
    (pending_id,) = set(clusters[0]["members"]) - {created["customer_id"]}
    assert clusters[0]["pending_members"] == [pending_id]  # the queue marks it
    one = client.get(f"/api/v1/duplicates/{clusters[0]['id']}").json()
    assert one["pending_members"] == [pending_id]
    # the clusters exported with their members' source ids: CLI (jsonl, csv) and API
    jsonl = runner.invoke(cli, ["match", "clusters", "--database-url", _url(container)])
    assert jsonl.exit_code == 0, jsonl.output
    (exported,) = [json.loads(line) for line in jsonl.output.splitlines()]
    kinds = {m["id"]: (m["kind"], m["source_ids"]) for m in exported["members"]}
    assert kinds == {
        created["customer_id"]: ("customer", ["sap/S-1"]),
        pending_id: ("source_record", ["hubspot/H-5"]),
    }
    table = runner.invoke(
        cli, ["match", "clusters", "--format", "csv", "--database-url", _url(container)]
    )
    lines = list(csv.DictReader(io.StringIO(table.output)))
    assert {(r["member_kind"], r["source_ids"]) for r in lines} == {
        ("customer", "sap/S-1"),
        ("source_record", "hubspot/H-5"),
    }
    api = client.get("/api/v1/clusters/export", params={"format": "jsonl"})
    assert api.status_code == 200 and json.loads(api.text.splitlines()[0]) == exported
    api_csv = client.get("/api/v1/clusters/export", params={"format": "csv"})
    assert list(csv.DictReader(io.StringIO(api_csv.text))) == lines
    result = runner.invoke(cli, ["match", "run", "--auto-merge", "--database-url", _url(container)])
    assert result.exit_code == 0, result.output
    assert "0 clusters in the review queue" in result.output  # the merged one left it
    assert client.get("/api/v1/duplicates").json()["items"] == []
    body = client.get(f"/api/v1/customers/{created['customer_id']}/sources").json()
    assert sorted(r["source_system"] for r in body["records"]) == ["hubspot", "sap"]
    assert pending_id in {r["id"] for r in body["records"]}
    assert len(client.get("/api/v1/customers").json()["items"]) == 1
    again = runner.invoke(cli, ["match", "run", "--database-url", _url(container)])
    assert again.exit_code == 0 and "0 clusters in the review queue" in again.output


def test_a_pending_record_with_an_invalid_value_joins_without_it(
    client: TestClient, manager: TestClient, container: Container
) -> None:
    """A pending record whose tax id the import dropped as invalid joins its company in
    ``match run --auto-merge`` (it failed with the checksum error and stayed pending);
    the dropped value stays on the record, never on the golden record."""
    bad = {**NO_MAIL, "tax_id": "DE136695975"}  # checksum wrong
    _, (draft,) = run_import(client, manager, csv_file(bad), keep_incomplete_as_drafts=True)
    assert draft["outcome"] == "draft"
    # matched with the value as received (evidence), not the value set aside
    (pending,) = source_features(container.uow, container.system_principal())
    assert pending.tax_id == "DE136695975"
    _, (created,) = run_import(client, manager, csv_file(SAP))
    result = runner.invoke(cli, ["match", "run", "--auto-merge", "--database-url", _url(container)])
    assert result.exit_code == 0, result.output
    assert "0 clusters in the review queue" in result.output
    body = client.get(f"/api/v1/customers/{created['customer_id']}/sources").json()
    joined = next(r for r in body["records"] if r["source_system"] == "hubspot")
    assert joined["received"]["tax_id"] == "DE136695975"
    assert "invalid_field_drop" in {w["code"] for w in joined["warnings"]}
    customer = client.get(f"/api/v1/customers/{created['customer_id']}").json()
    assert customer["tax_id"] is None and customer["phone"] == "+492211234567"


def test_a_steward_merges_a_pending_record_from_the_review_queue(
    client: TestClient, manager: TestClient, container: Container
) -> None:
    run_import(client, manager, csv_file(NO_MAIL), keep_incomplete_as_drafts=True)
    _, (created,) = run_import(client, manager, csv_file({**SAP, "phone": ""}))
    assert runner.invoke(cli, ["match", "run", "--database-url", _url(container)]).exit_code == 0
    (cluster,) = client.get("/api/v1/duplicates").json()["items"]
    decided = client.post(
        f"/api/v1/duplicates/{cluster['id']}/decision",
        json={"decision": "merge", "survivor_id": created["customer_id"]},
    )
    assert decided.status_code == 200, decided.text
    customer = client.get(f"/api/v1/customers/{created['customer_id']}").json()
    assert customer["phone"] == "+492211234567"  # the gap the marketing record filled
    body = client.get(f"/api/v1/customers/{created['customer_id']}/sources").json()
    assert sorted(r["source_system"] for r in body["records"]) == ["hubspot", "sap"]


def test_training_reads_the_source_records_duplicates_included(
    client: TestClient, manager: TestClient, container: Container
) -> None:
    """``custmaster match train`` estimates on the golden and pending records and the
    other forms their source records gave them (the CRM's record, consolidated at import,
    with its own phone and address)."""
    run_import(client, manager, csv_file(SAP))
    crm = {
        **SAP,
        "source_system": "salesforce",
        "source_id": "F-1",
        "phone": "+49 911 7654321",
        "billing_street": "Königstrasse 5",
        "billing_city": "Nürnberg",
        "billing_postal_code": "90402",
    }
    run_import(client, manager, csv_file(crm), on_duplicate="update")
    run_import(client, manager, csv_file(NO_MAIL), keep_incomplete_as_drafts=True)
    assert len(client.get("/api/v1/customers").json()["items"]) == 1
    found = source_features(container.uow, container.system_principal())
    assert len(found) == 3  # the sap, salesforce and hubspot records
    assert sorted(f.email or "" for f in found) == ["", SAP["email"], SAP["email"]]
    trained = runner.invoke(
        cli, ["match", "train", "--no-labels", "--database-url", _url(container)]
    )
    assert trained.exit_code == 0, trained.output
    # the golden record and the forms its CRM and marketing records gave it
    assert re.search(r"records\W+3 of 3", trained.output), trained.output
    version = client.get("/api/v1/match/models").json()["items"][0]
    assert version["report"]["population"] == 3


def test_pending_records_matched_together_settle_as_one_group(
    client: TestClient, manager: TestClient, container: Container
) -> None:
    """Two incomplete records of one company (neither has an e-mail) are one pending
    group after ``match run --auto-merge``; the company's complete record, which only
    resembles one of them, brings in both."""
    legacy = {
        "source_system": "legacy_erp",
        "source_id": "L-1",
        "name": SAP["name"],
        "phone": "0221 1234567",
        "billing_city": "Köln",
        "billing_country": "DE",
    }
    run_import(client, manager, csv_file(NO_MAIL, legacy), keep_incomplete_as_drafts=True)
    first = runner.invoke(cli, ["match", "run", "--auto-merge", "--database-url", _url(container)])
    assert first.exit_code == 0, first.output
    assert client.get("/api/v1/customers").json()["items"] == []  # still no e-mail
    _, (created,) = run_import(client, manager, csv_file({**SAP, "phone": "+49 221 9999999"}))
    queued = runner.invoke(cli, ["match", "run", "--database-url", _url(container)])
    assert queued.exit_code == 0, queued.output
    jsonl = runner.invoke(cli, ["match", "clusters", "--database-url", _url(container)])
    (cluster,) = [json.loads(line) for line in jsonl.output.splitlines()]
    members = {m["kind"]: m["source_ids"] for m in cluster["members"]}
    assert len(cluster["members"]) == 2  # the group counts as one
    assert members == {"customer": ["sap/S-1"], "source_record": ["hubspot/H-5", "legacy_erp/L-1"]}
    merged = runner.invoke(cli, ["match", "run", "--auto-merge", "--database-url", _url(container)])
    assert merged.exit_code == 0, merged.output
    body = client.get(f"/api/v1/customers/{created['customer_id']}/sources").json()
    assert sorted(r["source_system"] for r in body["records"]) == ["hubspot", "legacy_erp", "sap"]
