"""Versioned match models (issue 18): training through the API, the current version used
by online and batch matching, permissions; on both databases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from custmaster.bootstrap import Container
from custmaster.persistence.tables_matching import match_runs
from custmaster.services.dedup.batch import run_batch
from tests.factories import create

API = "/api/v1"


def _org(i: int, dup: bool = False) -> dict[str, Any]:
    name = f"Harbor Clinic {i}" + (" Inc" if dup else "")
    return {
        "kind": "organization",
        "owning_entity": "US01",
        "name": name.upper() if dup else name,
        "phone": f"+1 212 555 {1000 + i:04d}",
        "email": f"clinic{i}{'b' if dup else ''}@gmail.com",
        "addresses": [
            {
                "type": "billing",
                "lines": [f"{100 + i} Harbor Rd"],
                "postal_code": f"{10001 + i % 9}",
                "city": "New York",
                "country": "US",
                "is_primary": True,
            }
        ],
    }


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


PHILIPS = [
    "Koninklijke Philips N.V.",
    "Philips NV",
    "PHILIPS N.V.",
    "Philips Koninklijke NV",
    "KONINKLIJKE PHILIPS NV",
    "Philips N.V",
]


def test_a_name_alone_finds_candidates(client: TestClient) -> None:
    stored = create(
        client,
        {
            "kind": "organization",
            "owning_entity": "US01",
            "name": "Koninklijke Philips N.V.",
            "email": "ir@philips.example",
            "addresses": [
                {
                    "type": "billing",
                    "lines": ["Amstelplein 2"],
                    "city": "Amsterdam",
                    "postal_code": "1096 BC",
                    "country": "NL",
                    "is_primary": True,
                }
            ],
        },
    )
    found = client.post(f"{API}/match", json={"name": "Philips NV"}).json()["items"]
    assert [item["customer_id"] for item in found] == [stored["id"]]
    assert found[0]["explanation"][0]["label"] == "identical"


def test_a_cluster_larger_than_50_is_queued_whole_and_reviewable(
    client: TestClient, container: Container
) -> None:
    for i in range(60):
        create(
            client,
            {
                "kind": "organization",
                "owning_entity": "US01",
                "name": PHILIPS[i % len(PHILIPS)],
                "email": f"buyer{i}@gmail.com",
            },
        )
    create(
        client,
        {
            "kind": "organization",
            "owning_entity": "US01",
            "name": "Heineken N.V.",
            "email": "x@gmail.com",
        },
    )
    # the default prior (2e-6) matches no name-only records; the trained model's does
    assert client.post(f"{API}/match/models", json={}).status_code == 201
    stats = run_batch(container.uow, container.system_principal(), container.service_settings)
    assert stats.stats["clusters"] == 1
    [cluster] = client.get(f"{API}/duplicates").json()["items"]
    assert len(cluster["members"]) == 60
    assert len(cluster["pairs"]) == 59  # the links that connect it, strongest first
    scores = [p["score"] for p in cluster["pairs"]]
    assert scores == sorted(scores, reverse=True)


def test_steward_decisions_are_labels_that_change_the_model(
    client: TestClient, container: Container
) -> None:
    _seed(client)
    before = client.post(f"{API}/match/models", json={"use_labels": False}).json()
    run_batch(container.uow, container.system_principal(), container.service_settings)
    queue = client.get(f"{API}/duplicates").json()["items"]
    decided = {"merge": 0, "not_duplicate": 0}
    for k, cluster in enumerate(queue):
        if k % 2:  # the steward knows these to be two sites of one clinic
            body: dict[str, Any] = {"decision": "not_duplicate"}
        else:
            body = {"decision": "merge", "survivor_id": cluster["members"][0]}
        response = client.post(f"{API}/duplicates/{cluster['id']}/decision", json=body)
        assert response.status_code == 200, response.text
        decided[body["decision"]] += 1
    assert decided["merge"] and decided["not_duplicate"]
    after = client.post(f"{API}/match/models", json={}).json()
    labels = after["report"]["calibration"]
    assert labels["matches"] >= decided["merge"] and labels["non_matches"] >= 1
    assert after["model"]["comparisons"] != before["model"]["comparisons"]
