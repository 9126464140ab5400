"""Activity batches through HTTP: a batch holding an event that cannot apply still applies
the others, a replayed batch changes nothing, and a batch recomputes and re-scores each
customer it touches once, whatever the number of its events."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from custmaster.bootstrap import Container
from custmaster.persistence.profile_rules import SqlProfileRulesRepository
from custmaster.persistence.tables import outbox
from custmaster.services.profile import features, hooks
from tests.factories import create, minimal
from tests.profile.events import complaint, invoice, order, payment

API = "/api/v1"
TODAY = date.today()


def _post(client: TestClient, events: list[dict[str, Any]]) -> dict[str, Any]:
    response = client.post(f"{API}/activities", json=events)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _profile(client: TestClient, customer_id: str) -> dict[str, Any]:
    response = client.get(f"{API}/customers/{customer_id}/profile")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _events(customer_id: str, n: int) -> list[dict[str, Any]]:
    orders = [order(customer_id, TODAY - timedelta(days=9 * i), 10.0 + i) for i in range(n)]
    return [
        *orders,
        invoice(customer_id, TODAY - timedelta(days=50), TODAY - timedelta(days=20), 90, "I-1"),
        payment(customer_id, TODAY - timedelta(days=2), "I-1", 40),
        complaint(customer_id, TODAY - timedelta(days=3), "Q-1"),
    ]


def _outbox_rows(container: Container) -> int:
    with container.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(outbox)).scalar_one())


def test_an_event_of_an_unknown_customer_does_not_hold_back_its_batch(
    client: TestClient,
) -> None:
    first = create(client, minimal("Batch One Ltd", "ap@one.example"))["id"]
    second = create(client, minimal("Batch Two Ltd", "ap@two.example"))["id"]
    unknown = order({"source_system": "sap", "source_id": "GONE-1"}, TODAY, 5.0)
    batch = [*_events(first, 4), unknown, *_events(second, 2)]
    body = _post(client, batch)
    assert (body["applied"], body["duplicates"], body["dead_lettered"]) == (len(batch) - 1, 0, 1)
    statuses = [r["status"] for r in body["results"]]
    assert statuses[7] == "dead_letter" and statuses.count("applied") == len(batch) - 1
    assert _profile(client, first)["features"]["US01"]["orders_12m"] == 4
    assert _profile(client, second)["features"]["US01"]["orders_12m"] == 2
    letters = client.get(f"{API}/activities/dead-letters").json()["items"]
    assert [d["event_id"] for d in letters] == [unknown["id"]]
    assert letters[0]["reason"] == "unknown customer sap/GONE-1"


def test_a_replayed_batch_changes_nothing(client: TestClient, container: Container) -> None:
    customer = create(client, minimal("Replayed Ltd", "ap@replayed.example"))["id"]
    batch = _events(customer, 6)
    assert _post(client, batch)["applied"] == len(batch)
    before, events_before = _profile(client, customer), _outbox_rows(container)
    for replay in (batch, list(reversed(batch)), batch[2:5] + batch):
        body = _post(client, replay)
        assert body["applied"] == 0 and body["duplicates"] == len(replay)
    after = _profile(client, customer)
    assert after["features"] == before["features"]  # updated_at included: not rewritten
    assert after["scores"] == before["scores"]
    assert _outbox_rows(container) == events_before  # no event in the outbox either


def test_a_batch_recomputes_and_rescores_each_customer_once(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    customers = [
        create(client, minimal(f"Once {i} Ltd", f"ap@once{i}.example"))["id"] for i in range(3)
    ]
    batch = [e for c in customers for e in _events(c, 10)]  # 13 events a customer
    batch = batch[::2] + batch[1::2]  # interleaved
    computed: list[list[str]] = []
    rescored: list[list[str]] = []
    saved: list[list[str]] = []
    compute_rows, features_changed = features.compute_rows, hooks.features_changed
    save_scores_of = SqlProfileRulesRepository.save_scores_of

    def spy_compute(uow: Any, states: Any, *args: Any) -> Any:
        computed.append(sorted(str(c) for c in states))
        return compute_rows(uow, states, *args)

    def spy_changed(uow: Any, ids: Any) -> Any:
        rescored.append(sorted(str(c) for c in ids))
        return features_changed(uow, ids)

    def spy_save(self: Any, scores_of: Any, at: Any) -> None:
        saved.append(sorted(str(c) for c in scores_of))
        save_scores_of(self, scores_of, at)

    monkeypatch.setattr("custmaster.services.profile.intake.compute_rows", spy_compute)
    monkeypatch.setattr(hooks, "features_changed", spy_changed)
    monkeypatch.setattr(SqlProfileRulesRepository, "save_scores_of", spy_save)
    assert _post(client, batch)["applied"] == len(batch)
    assert computed == [sorted(customers)]
    assert rescored == [sorted(customers)]
    assert saved == [sorted(customers)]
    for customer in customers:
        profile = _profile(client, customer)
        assert profile["features"]["US01"]["orders_12m"] == 10
        assert set(profile["scores"]) == set(profile["features"])
