"""Versioned match models (issue 18): training through the API, the current version used
by online and batch matching, permissions; on both databases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from custmaster.bootstrap import Container
from custmaster.persistence.tables_matching import match_runs
from custmaster.services.matching.batch import run_batch
from tests.factories import create

API = "/api/v1"


def _org(i: int, dup: bool = False) -> dict[str, Any]:
    name = f"Harbor Clinic {i}" + (" Inc" if dup else "")
    return {
        "kind": "organization", "name": name.upper() if dup else name,
        "phone": f"+1 212 555 {1000 + i:04d}", "email": f"clinic{i}{'b' if dup else ''}@gmail.com",
        "addresses": [{"type": "billing", "lines": [f"{100 + i} Harbor Rd"],
                       "postal_code": f"{10001 + i % 9}", "city": "New York",
                       "country": "US", "is_primary": True}],
    }  # fmt: skip


def _seed(client: TestClient, n: int = 40) -> None:
    for i in range(n):
        create(client, _org(i))
        if i % 4 == 0:
            create(client, _org(i, dup=True))


def test_train_stores_a_version_that_online_and_batch_matching_use(
    client: TestClient, container: Container
) -> None:
    _seed(client)
    assert client.get(f"{API}/match/models").json() == {"items": []}
    response = client.post(f"{API}/match/models", json={"sample": 1000})
    assert response.status_code == 201, response.text
    first = response.json()
    assert first["version"] == 1 and response.headers["Location"].endswith("/match/models/1")
    assert first["created_by"] == "tester"
    assert {s["rule"] for s in first["report"]["sessions"]} >= {"same name", "same phone"}
    assert 0 < first["model"]["prior"] < 1
    # without e-mails and tax ids, their levels are neutral and conflicts never reward
    for level in first["model"]["comparisons"]["tax_id"]:
        assert level["m"] == level["u"]
    second = client.post(f"{API}/match/models", json={"use_labels": False}).json()
    assert second["version"] == 2
    listed = client.get(f"{API}/match/models").json()["items"]
    assert [v["version"] for v in listed] == [2, 1]
    assert client.get(f"{API}/match/models/1").json()["model"] == first["model"]
    assert client.get(f"{API}/match/models/99").status_code == 404

    run = run_batch(container.uow, container.system_principal(), container.service_settings)
    assert run.model_version == 2 and run.stats["model_version"] == 2
    with container.engine.connect() as connection:
        stored = connection.execute(
            select(match_runs.c.model_version).where(match_runs.c.id == run.run_id)
        ).scalar_one()
    assert stored == 2
    thresholds = client.post(f"{API}/match", json={"name": "Harbor Clinic 4"}).json()["thresholds"]
    assert thresholds == second["model"]["thresholds"]


def test_training_needs_merge_propose_and_reading_needs_customer_read(
    client: TestClient, client_as: Callable[..., TestClient]
) -> None:
    viewer = client_as("viewer")
    assert viewer.post(f"{API}/match/models", json={}).status_code == 403
    assert viewer.get(f"{API}/match/models").status_code == 200
    assert client.post(f"{API}/match/models", json={"sample": 1}).status_code == 422
    assert client.post(f"{API}/match/models", json={"samples": 5}).status_code == 422
