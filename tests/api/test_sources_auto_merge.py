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
CRM = {**SAP, "source_system": "salesforce", "source_id": "F-1",
       "email": "info@pacific-pack.example"}  # fmt: skip
#: a record that only may be it: same name and street, another mailbox, no postal code
MAYBE = {"source_system": "netsuite", "source_id": "N-1", "name": "Pacific Packaging GmbH",
         "email": "buyer@other-mail.example", "billing_street": "Hohe Strasse 1",
         "billing_city": "Köln", "billing_country": "DE"}  # fmt: skip


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
    ids = [run_import(client, manager, csv_file(r))[1][0]["customer_id"]
           for r in (SAP, CRM, MAYBE)]  # fmt: skip
    queued = runner.invoke(cli, ["match", "run", "--database-url", _url(container)])
    assert queued.exit_code == 0, queued.output
    (cluster,) = client.get("/api/v1/duplicates").json()["items"]
    assert cluster["proposal"] == "review" and sorted(cluster["members"]) == sorted(ids)
    result = runner.invoke(cli, ["match", "run", "--auto-merge", "--database-url",
                                 _url(container)])  # fmt: skip
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
