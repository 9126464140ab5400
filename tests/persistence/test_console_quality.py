"""The data quality dashboard's completeness counts: on PostgreSQL the maintained counts
(``customer_quality_counts``, kept by triggers on ``customers``) equal a scan of the
customers after every kind of write; elsewhere the scan answers."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from custmaster.bootstrap import Container
from custmaster.persistence.console_quality import COUNTED, SqlQualityReads
from custmaster.services.console.quality import MEASURED
from tests.factories import acme, create, minimal

API = "/api/v1/customers"


def _both(container: Container) -> tuple[list[Any], list[Any]]:
    with container.engine.connect() as connection:
        reads = SqlQualityReads(connection)
        return reads.counted_completeness(COUNTED), reads.scanned_completeness(COUNTED)


@pytest.fixture
def postgres_only(container: Container) -> None:
    if container.engine.dialect.name != "postgresql":
        pytest.skip("the counts are maintained on PostgreSQL; SQLite scans (see the module)")


def test_the_dashboard_measures_the_fields_the_counts_hold() -> None:
    assert set(MEASURED) <= set(COUNTED)


def test_the_counts_follow_creates_updates_status_changes_and_deletes(
    client: TestClient, container: Container, postgres_only: None
) -> None:
    assert _both(container) == ([], [])
    made = [
        create(client, acme()),
        create(client, minimal("Globex Ltd", "ap@globex.example", phone="+1 512 555 0100")),
        create(client, minimal("Gamma Ltd", "ap@gamma.example", owning_entity="GB01")),
        create(client, minimal("Hooli GmbH", "ap@hooli.example", owning_entity="DE01")),
    ]
    counted, scanned = _both(container)
    assert counted == scanned and sum(e.total for e in counted) == 4
    assert {e.entity for e in counted} == {"US01", "DE01", "GB01"} | {acme()["owning_entity"]}
    patch = {"website": "https://globex.example", "phone": None, "owning_entity": "GB01"}
    changed = client.patch(f"{API}/{made[1]['id']}", json=patch)
    assert changed.status_code == 200, changed.text
    assert client.post(f"{API}/{made[3]['id']}/deactivate").status_code == 200
    assert client.delete(f"{API}/{made[2]['id']}").status_code == 204
    counted, scanned = _both(container)
    assert counted == scanned and sum(e.total for e in counted) == 2  # active ones
    gb01 = next(e for e in counted if e.entity == "GB01")
    assert (gb01.filled["website"], gb01.filled["phone"]) == (1, 0)
    # a write the field rules never see (a raw statement): counted like any other
    with container.engine.begin() as connection:
        connection.execute(text("UPDATE customers SET phone = '0800 1234' WHERE status = 'active'"))
    counted, scanned = _both(container)
    assert counted == scanned and sum(e.invalid["phone"] for e in counted) == 2


def test_many_small_writes_are_folded_and_still_add_up(
    client: TestClient, container: Container, postgres_only: None
) -> None:
    ids = [create(client, minimal(f"Fold {i} Ltd", f"ap@fold{i}.example"))["id"] for i in range(3)]
    with container.engine.begin() as connection:
        connection.execute(text("SELECT setseed(0.25)"))  # the trigger's draws, repeatable
        for i in range(400):
            connection.execute(
                text("UPDATE customers SET website = :w WHERE id = :id"),
                {"w": None if i % 2 else f"https://fold{i}.example", "id": ids[i % 3]},
            )
        rows = connection.execute(text("SELECT count(*) FROM customer_quality_counts")).scalar()
    assert rows is not None and rows < 300  # 400 statements wrote a delta each: folded
    counted, scanned = _both(container)
    assert counted == scanned and counted[0].total == 3
