"""``custmaster match run --auto-merge`` merges every link at the auto-merge threshold, on
SQLite and PostgreSQL: a strong pair inside a review cluster (a third record is linked to
it only weakly) is merged, and the cluster goes back to the queue with the golden record
the pair became and the third record."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from custmaster.bootstrap import Container
from custmaster.cli.app import app as cli
from tests.api.test_sources import SAP, csv_file, run_import

runner = CliRunner()
#: the same company from the CRM: another mailbox of its domain (no exact key)
CRM = {
    **SAP,
    "source_system": "salesforce",
    "source_id": "F-1",
    "email": "info@pacific-pack.example",
}
#: a record that only may be it: same name and street, another mailbox, no postal code
MAYBE = {
    "source_system": "netsuite",
    "source_id": "N-1",
    "name": "Pacific Packaging GmbH",
    "email": "buyer@other-mail.example",
    "billing_street": "Hohe Strasse 1",
    "billing_city": "Köln",
    "billing_country": "DE",
}


@pytest.fixture(autouse=True)
def import_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTMASTER_IMPORT_DIR", str(tmp_path / "uploads"))


@pytest.fixture
def manager(client: TestClient, client_as: Callable[..., TestClient]) -> TestClient:
    return client_as("manager", roles=["ar_manager"])


def _url(container: Container) -> str:
    return container.engine.url.render_as_string(hide_password=False)


def test_a_strong_pair_inside_a_review_cluster_is_merged_and_the_rest_requeued(
    client: TestClient, manager: TestClient, container: Container
) -> None:
    ids = [run_import(client, manager, csv_file(r))[1][0]["customer_id"] for r in (SAP, CRM, MAYBE)]
    queued = runner.invoke(cli, ["match", "run", "--database-url", _url(container)])
    assert queued.exit_code == 0, queued.output
    (cluster,) = client.get("/api/v1/duplicates").json()["items"]
    assert cluster["proposal"] == "review" and sorted(cluster["members"]) == sorted(ids)
    result = runner.invoke(cli, ["match", "run", "--auto-merge", "--database-url", _url(container)])
    assert result.exit_code == 0, result.output
    assert "1 clusters in the review queue" in result.output
    (left,) = client.get("/api/v1/duplicates").json()["items"]
    absorbed = client.get(f"/api/v1/customers/{ids[1]}", follow_redirects=False)
    assert absorbed.status_code == 410  # merged into the oldest
    assert absorbed.headers["location"] == f"/api/v1/customers/{ids[0]}"
    assert sorted(left["members"]) == sorted([ids[0], ids[2]])
    assert {(p["a"], p["b"]) for p in left["pairs"]} == {tuple(sorted([ids[0], ids[2]]))}
    sources = client.get(f"/api/v1/customers/{ids[0]}/sources").json()["records"]
    assert sorted(r["source_system"] for r in sources) == ["salesforce", "sap"]


#: the CRM's record of the company after its move: same mailbox (consolidated at import),
#: its new phone and address lose to the ERP's (ranked higher)
MOVED = {
    **SAP,
    "source_system": "salesforce",
    "source_id": "F-2",
    "phone": "+49 911 7654321",
    "billing_street": "Königstrasse 5",
    "billing_city": "Nürnberg",
    "billing_postal_code": "90402",
}
#: the marketing list's record of it, with another mailbox: it resembles the CRM's form
#: of the company only
LATER = {
    **MOVED,
    "source_system": "hubspot",
    "source_id": "H-9",
    "email": "buyer@other-mail.example",
}


def test_a_record_like_one_source_of_a_golden_record_finds_it(
    client: TestClient, manager: TestClient, container: Container
) -> None:
    """The batch run matches a golden record with every form its source records gave
    it, not only with its (consolidated) values: the marketing record has the CRM's
    phone and address, which the golden record does not hold."""
    (_, (first,)), (_, (moved,)) = (
        run_import(client, manager, csv_file(SAP)),
        run_import(client, manager, csv_file(MOVED), on_duplicate="update"),
    )
    assert moved["outcome"] == "updated" and moved["customer_id"] == first["customer_id"]
    golden = client.get(f"/api/v1/customers/{first['customer_id']}").json()
    assert golden["phone"] == "+492211234567"  # the ERP's
    _, (later,) = run_import(client, manager, csv_file(LATER))
    assert later["outcome"] == "created"
    queued = runner.invoke(cli, ["match", "run", "--database-url", _url(container)])
    assert queued.exit_code == 0, queued.output
    (cluster,) = client.get("/api/v1/duplicates").json()["items"]
    assert cluster["proposal"] == "auto_merge"
    assert sorted(cluster["members"]) == sorted([first["customer_id"], later["customer_id"]])
    (pair,) = cluster["pairs"]
    records = client.get(f"/api/v1/customers/{first['customer_id']}/sources").json()["records"]
    crm = next(r["id"] for r in records if r["source_system"] == "salesforce")
    assert crm in pair["source_records"]  # linked through the CRM's form
    result = runner.invoke(cli, ["match", "run", "--auto-merge", "--database-url", _url(container)])
    assert result.exit_code == 0 and "0 clusters in the review queue" in result.output
    records = client.get(f"/api/v1/customers/{first['customer_id']}/sources").json()["records"]
    assert sorted(r["source_system"] for r in records) == ["hubspot", "salesforce", "sap"]
