"""The review queue offers the most informative clusters first (active learning,
issue 18): ``GET /duplicates?order=uncertain``; on both databases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from custmaster.bootstrap import Container
from custmaster.services.dedup.ports import NewCluster
from tests.factories import create

API = "/api/v1"
SCORES = [0.99, 0.625, 0.875, 0.375, 0.75, 0.25]


def _queue(client: TestClient, container: Container) -> list[str]:
    ids = [
        create(
            client,
            {
                "kind": "organization",
                "owning_entity": "US01",
                "name": f"Queue Test {i}",
                "email": f"q{i}@queue.example",
            },
        )["id"]
        for i in range(len(SCORES) + 1)
    ]
    clusters = [
        NewCluster(
            "review",
            score,
            [ids[k], ids[k + 1]],
            [{"a": ids[k], "b": ids[k + 1], "score": score, "explanation": []}],
        )
        for k, score in enumerate(SCORES)
    ]
    uow = container.uow()
    with uow:
        uow.matching.add_clusters(None, datetime.now(UTC), clusters)
    return ids


def _all(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(20):
        page = client.get(
            f"{API}/duplicates", params={**params, "cursor": cursor} if cursor else params
        ).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the queue does not end")


def test_the_most_uncertain_clusters_come_first_and_page_by_cursor(
    client: TestClient, container: Container
) -> None:
    _queue(client, container)
    by_id = client.get(f"{API}/duplicates").json()["items"]
    assert [c["score"] for c in by_id] == SCORES
    first = client.get(f"{API}/duplicates", params={"order": "uncertain"}).json()["items"]
    # |score - 0.5|: 0.125, 0.125 (older first), 0.25, 0.25, 0.375, 0.49
    assert [c["score"] for c in first] == [0.625, 0.375, 0.75, 0.25, 0.875, 0.99]
    for limit in (1, 2, 4):  # ties across page boundaries too
        paged = _all(client, order="uncertain", limit=limit)
        assert [c["id"] for c in paged] == [c["id"] for c in first]
    assert _all(client, order="id", limit=4) == by_id
    # a decision takes a cluster off the open queue; the next most uncertain leads
    top = first[0]
    decided = client.post(
        f"{API}/duplicates/{top['id']}/decision", json={"decision": "not_duplicate"}
    )
    assert decided.status_code == 200, decided.text
    after = client.get(f"{API}/duplicates", params={"order": "uncertain"}).json()["items"]
    assert [c["id"] for c in after] == [c["id"] for c in first[1:]]
    rejected = client.get(
        f"{API}/duplicates", params={"order": "uncertain", "status": "not_duplicate"}
    ).json()
    assert [c["id"] for c in rejected["items"]] == [top["id"]]


def test_an_ordered_cursor_from_elsewhere_is_refused(
    client: TestClient, container: Container
) -> None:
    _queue(client, container)
    id_cursor = client.get(f"{API}/duplicates", params={"limit": 1}).json()["next_cursor"]
    response = client.get(f"{API}/duplicates", params={"order": "uncertain", "cursor": id_cursor})
    assert response.status_code == 422
    assert client.get(f"{API}/duplicates", params={"order": "score"}).status_code == 422


def _clinic(i: int, copy: str = "") -> dict[str, Any]:
    """Clinic ``i``; ``copy="same"``: the same clinic from another system (name written
    otherwise, same line and address); ``copy="site"``: another site of the clinic (same
    name, its own line and street in the same postal code)."""
    site = copy == "site"
    name = f"Harbor Clinic {i}"
    return {
        "kind": "organization",
        "owning_entity": "US01",
        "name": f"{name.upper()} INC" if copy == "same" else name,
        "phone": f"+1 212 555 {(5000 if site else 1000) + i:04d}",
        "email": f"clinic{i}{copy}@gmail.com",
        "addresses": [
            {
                "type": "billing",
                "lines": [f"{(700 if site else 100) + i} {'Elm St' if site else 'Harbor Rd'}"],
                "postal_code": f"{10001 + i}",
                "city": "New York",
                "country": "US",
                "is_primary": True,
            }
        ],
    }


def test_decisions_taken_in_uncertain_order_teach_the_model(
    client: TestClient, container: Container
) -> None:
    from custmaster.services.dedup.batch import run_batch

    for i in range(50):
        create(client, _clinic(i))
        create(client, _clinic(i, "same" if i < 25 else "site"))
    before = client.post(f"{API}/match/models", json={"use_labels": False}).json()
    run_batch(container.uow, container.system_principal(), container.service_settings)
    site = _clinic(30, "site")

    def site_probability() -> float:
        body = {k: site[k] for k in ("kind", "name", "phone", "addresses")}
        found = client.post(f"{API}/match", params={"min_score": "0"}, json=body).json()
        return max(
            item["score"]
            for item in found["items"]  # the clinic's main site
            if ("phone", "different") in {(e["field"], e["label"]) for e in item["explanation"]}
        )

    p_before = site_probability()
    queue = _all(client, order="uncertain", limit=100)
    assert len(queue) >= 40
    decided = {"merge": 0, "not_duplicate": 0}
    for cluster in queue:  # the steward knows which are other sites (their own line)
        phones = {client.get(f"{API}/customers/{m}").json()["phone"] for m in cluster["members"]}
        if len(phones) > 1:
            body: dict[str, Any] = {"decision": "not_duplicate"}
        else:
            body = {"decision": "merge", "survivor_id": cluster["members"][0]}
        response = client.post(f"{API}/duplicates/{cluster['id']}/decision", json=body)
        assert response.status_code == 200, response.text
        decided[body["decision"]] += 1
    assert decided["merge"] >= 20 and decided["not_duplicate"] >= 20
    after = client.post(f"{API}/match/models", json={}).json()
    calibration = after["report"]["calibration"]
    assert calibration["calibrated"] and calibration["non_matches"] >= 20
    assert after["model"]["comparisons"] != before["model"]["comparisons"]
    # another site of a clinic now scores lower than before the stewards' decisions
    assert site_probability() < p_before
