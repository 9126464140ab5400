"""Online matching, possible-duplicate warnings and the review queue (issue 4), through
the HTTP API on both databases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from custmaster.bootstrap import Container
from custmaster.matching.model import DEFAULT_MODEL, Thresholds
from custmaster.persistence import matching as persistence_matching
from custmaster.persistence.tables_matching import match_runs
from custmaster.services.dedup.batch import run_batch
from tests.factories import acme, create, minimal

API = "/api/v1"
FIELDS = {
    "name",
    "given_name",
    "family_name",
    "tax_id",
    "contact",
    "phone",
    "address",
    "country",
}


def match(client: TestClient, candidate: dict[str, Any], **params: Any) -> list[dict[str, Any]]:
    response = client.post(f"{API}/match", json=candidate, params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def run(container: Container) -> dict[str, Any]:
    result = run_batch(container.uow, container.system_principal(), container.service_settings)
    return result.stats


def test_match_returns_the_best_customers_with_score_and_explanation(client: TestClient) -> None:
    target = create(client, acme())
    create(client, minimal("Globex Ltd", "ap@globex.example"))
    candidate = {
        "name": "ACME Corp.",
        "email": "AP@acme.example",
        "addresses": [
            {
                "lines": ["100 Market Street"],
                "postal_code": "94105",
                "city": "San Francisco",
                "country": "US",
            }
        ],
    }
    response = client.post(f"{API}/match", json=candidate)
    body = response.json()
    assert set(body["thresholds"]) == {"auto_merge", "review"}
    [best] = body["items"]
    assert best["customer_id"] == target["id"] and best["number"] == target["number"]
    assert best["score"] >= body["thresholds"]["review"] and best["decision"] != "no_match"
    explanation = {e["field"]: e for e in best["explanation"]}
    assert set(explanation) == FIELDS
    assert explanation["contact"]["label"] == "same email"
    assert explanation["contact"]["weight"] > 0
    assert explanation["tax_id"]["level"] == -1 and explanation["tax_id"]["weight"] == 0
    assert explanation["address"]["existing_value"] == "market street 100, 94105, san francisco"
    assert sum(e["weight"] for e in best["explanation"]) > 0


def _thresholds(thresholds: Thresholds) -> dict[str, float]:
    return {"auto_merge": thresholds.auto_merge, "review": thresholds.review}


def test_match_scores_with_the_model_of_the_latest_run(
    client: TestClient, container: Container
) -> None:
    create(client, acme())
    before = client.post(f"{API}/match", json={"tax_id": "941234567"}).json()
    assert before["thresholds"] == _thresholds(DEFAULT_MODEL.thresholds)
    for thresholds in (Thresholds(0.999, 0.9), Thresholds(0.98, 0.6)):
        model = DEFAULT_MODEL.with_thresholds(thresholds)
        run_batch(
            container.uow, container.system_principal(), container.service_settings, model=model
        )
        after = client.post(f"{API}/match", json={"tax_id": "941234567"}).json()
        assert after["thresholds"] == _thresholds(thresholds)


def test_a_run_finished_by_another_process_is_used_after_the_ttl(
    client: TestClient, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(persistence_matching, "LATEST_RUN_TTL_SECONDS", 3600.0)
    create(client, acme())
    assert client.post(f"{API}/match", json={"tax_id": "941234567"}).status_code == 200
    thresholds = Thresholds(0.97, 0.55)
    now = datetime.now(UTC)
    with container.engine.begin() as connection:  # as another process would write it
        connection.execute(
            insert(match_runs).values(
                id=uuid4(),
                started_at=now,
                finished_at=now,
                actor_id="elsewhere",
                model=DEFAULT_MODEL.with_thresholds(thresholds).to_dict(),
                stats={},
            )
        )
    stale = client.post(f"{API}/match", json={"tax_id": "941234567"}).json()
    assert stale["thresholds"] == _thresholds(DEFAULT_MODEL.thresholds)  # within the TTL
    monkeypatch.setattr(persistence_matching, "LATEST_RUN_TTL_SECONDS", 0.0)
    fresh = client.post(f"{API}/match", json={"tax_id": "941234567"}).json()
    assert fresh["thresholds"] == _thresholds(thresholds)


def test_match_accepts_incomplete_records_and_rejects_unknown_fields(client: TestClient) -> None:
    create(client, acme())
    assert match(client, {}) == []
    assert len(match(client, {"tax_id": "941234567"})) == 1
    assert match(client, {"tax_id": "941234567"}, min_score=0.999999) == []
    response = client.post(f"{API}/match", json={"nickname": "Acme"})
    assert response.status_code == 422


def test_match_keys_follow_every_change_in_the_same_transaction(client: TestClient) -> None:
    customer = create(client, minimal("Initech", "ap@initech.example"))
    url = f"{API}/customers/{customer['id']}"
    assert [m["customer_id"] for m in match(client, {"email": "ap@initech.example"})] == [
        customer["id"]
    ]
    patched = client.patch(url, json={"name": "Umbrella", "email": "billing@umbrella.example"})
    assert patched.status_code == 200
    assert match(client, {"email": "ap@initech.example"}) == []
    assert len(match(client, {"email": "billing@umbrella.example"})) == 1
    assert client.post(f"{url}/deactivate").status_code == 200
    assert match(client, {"email": "billing@umbrella.example"}) == []  # inactive: no target
    assert client.post(f"{url}/reactivate").status_code == 200
    assert len(match(client, {"email": "billing@umbrella.example"})) == 1
    assert client.delete(url).status_code == 204
    assert match(client, {"email": "billing@umbrella.example"}) == []


def test_create_warns_of_a_possible_duplicate_without_blocking(client: TestClient) -> None:
    first = create(client, acme())
    response = client.post(
        f"{API}/customers",
        json=acme(name="ACME Corp", email="sales@acme.example", overrides=None),
    )
    assert response.status_code == 201
    [warning] = [w for w in response.json()["warnings"] if w["code"] == "similar_customer"]
    assert "possible duplicate" in warning["message"] and first["number"] in warning["message"]
    unrelated = client.post(f"{API}/customers", json=minimal("Globex Ltd", "ap@globex.example"))
    assert unrelated.json()["warnings"] == []


def _duplicates(client: TestClient) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    a = create(client, acme(overrides=None))
    b = create(
        client,
        acme(
            name="ACME Corp.",
            email="AP@acme.example",
            overrides=None,
            pricing_tiers=None,
            tax_profiles=None,
            contacts=None,
        ),
    )
    c = create(
        client,
        minimal("Globex Ltd", "ap@globex.example", phone="+49 30 1234567", tax_id="DE136695976"),
    )
    create(client, minimal("Globex GmbH", "ap@globex.example", tax_id="DE136695976"))
    return a, b, c


def test_batch_run_fills_the_review_queue_with_scores_and_explanations(
    client: TestClient, container: Container
) -> None:
    a, b, _ = _duplicates(client)
    stats = run(container)
    assert stats["records"] == 4 and stats["clusters"] == 2
    page = client.get(f"{API}/duplicates").json()
    assert page["next_cursor"] is None and len(page["items"]) == 2
    clusters = {frozenset(c["members"]): c for c in page["items"]}
    acme_cluster = clusters[frozenset({a["id"], b["id"]})]
    assert acme_cluster["status"] == "open" and acme_cluster["score"] > 0.8
    [pair] = acme_cluster["pairs"]
    assert {e["field"] for e in pair["explanation"]} == FIELDS
    one = client.get(f"{API}/duplicates/{acme_cluster['id']}")
    assert one.status_code == 200 and one.json() == acme_cluster
    first = client.get(f"{API}/duplicates", params={"limit": 1}).json()
    second = client.get(f"{API}/duplicates", params={"cursor": first["next_cursor"]}).json()
    assert [c["id"] for c in first["items"] + second["items"]] == [c["id"] for c in page["items"]]
    assert client.get(f"{API}/duplicates/999999").status_code == 404


def test_not_a_duplicate_is_remembered_and_never_proposed_again(
    client: TestClient, container: Container
) -> None:
    a, b, _ = _duplicates(client)
    run(container)
    clusters = client.get(f"{API}/duplicates").json()["items"]
    acme_cluster = next(c for c in clusters if a["id"] in c["members"])
    url = f"{API}/duplicates/{acme_cluster['id']}/decision"
    decided = client.post(url, json={"decision": "not_duplicate"})
    assert decided.status_code == 200 and decided.json()["status"] == "not_duplicate"
    assert client.post(url, json={"decision": "not_duplicate"}).status_code == 409
    stats = run(container)
    assert stats["pairs_skipped_not_duplicate"] == 1 and stats["clusters"] == 1
    open_now = client.get(f"{API}/duplicates").json()["items"]
    assert all(a["id"] not in c["members"] for c in open_now)
    superseded = client.get(f"{API}/duplicates", params={"status": "superseded"}).json()
    assert len(superseded["items"]) == 1  # the first run's Globex cluster
    assert b["id"] in {m for c in clusters for m in c["members"]}


def test_merge_decision_merges_the_cluster_into_the_chosen_survivor(
    client: TestClient, container: Container
) -> None:
    a, b, _ = _duplicates(client)
    run(container)
    clusters = client.get(f"{API}/duplicates").json()["items"]
    acme_cluster = next(c for c in clusters if a["id"] in c["members"])
    url = f"{API}/duplicates/{acme_cluster['id']}/decision"
    missing = client.post(url, json={"decision": "merge"})
    assert missing.status_code == 422
    decided = client.post(
        url,
        json={"decision": "merge", "survivor_id": b["id"], "choices": {"name": {"from": a["id"]}}},
    )
    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert body["status"] == "merged" and body["merge_id"] == body["merge"]["merge_id"]
    assert body["merge"]["customer"]["name"] == "Acme Corporation"
    gone = client.get(f"{API}/customers/{a['id']}")
    assert gone.status_code == 410 and gone.json()["survivor_id"] == b["id"]
    # the merged pair is not proposed again: the absorbed record has left the index
    assert run(container)["clusters"] == 1


def test_a_name_alone_finds_the_customer_and_a_top_level_country_is_accepted(
    client: TestClient,
) -> None:
    made = create(client, acme())
    for candidate in ({"name": "Acme Corporation"}, {"name": "ACME Corp", "country": "US"}):
        found = client.post("/api/v1/match", json=candidate)
        assert found.status_code == 200, found.text
        assert [i["customer_id"] for i in found.json()["items"]][:1] == [made["id"]], candidate
    refused = client.post("/api/v1/match", json={"name": "Acme", "country": "USA"})
    assert refused.status_code == 422
