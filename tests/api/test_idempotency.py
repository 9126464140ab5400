"""Idempotency-Key under concurrency: many clients sending one create with one key at
once get one change and every one of them the first answer (or 409 while it is still in
flight), never a 500 from the key's unique constraint."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from custmaster.bootstrap import Container
from custmaster.persistence import idempotency
from tests.factories import acme

API = "/api/v1"
CLIENTS = 20


def _race(client: TestClient, key: str, body: dict[str, Any]) -> list[Any]:
    """``CLIENTS`` threads post ``body`` with ``key`` at the same moment."""
    start = threading.Barrier(CLIENTS, timeout=60)

    def post(_: int) -> Any:
        start.wait()
        return client.post(f"{API}/customers", json=body, headers={"Idempotency-Key": key})

    with ThreadPoolExecutor(CLIENTS) as pool:
        futures = [pool.submit(post, n) for n in range(CLIENTS)]
        return [future.result(timeout=120) for future in futures]


def _first_answer_or_in_flight(responses: list[Any], status: int) -> dict[str, Any]:
    codes = sorted(r.status_code for r in responses)
    assert set(codes) <= {status, 409}, codes
    answered = [r for r in responses if r.status_code == status]
    assert answered, codes
    first = answered[0]
    for response in answered:
        assert response.json() == first.json()
        assert response.headers.get("etag") == first.headers.get("etag")
    for busy in (r for r in responses if r.status_code == 409):
        assert busy.headers["retry-after"].isdigit(), busy.headers
        assert "in flight" in busy.json()["detail"]
    body: dict[str, Any] = first.json()
    return body


def test_concurrent_creates_with_one_key_make_one_customer(client: TestClient) -> None:
    responses = _race(client, "race-direct", acme())
    created = _first_answer_or_in_flight(responses, 201)
    items = client.get(f"{API}/customers").json()["items"]
    assert [c["id"] for c in items] == [created["id"]]
    again = client.post(f"{API}/customers", json=acme(), headers={"Idempotency-Key": "race-direct"})
    assert again.status_code == 201 and again.json() == created


@pytest.mark.usefixtures("governed")
def test_concurrent_proposals_with_one_key_make_one_change_request(
    client: TestClient, client_as: Callable[..., TestClient]
) -> None:
    client_as("ar", roles=["ar_manager"]), client_as("ctrl", roles=["controller"])
    responses = _race(client, "race-governed", acme())
    pending = _first_answer_or_in_flight(responses, 202)
    requests = client.get(f"{API}/change-requests").json()["items"]
    assert [r["id"] for r in requests] == [pending["id"]]
    assert client.get(f"{API}/customers").json()["items"] == []


def test_a_twin_still_in_flight_answers_409_with_retry_after(
    client: TestClient, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A twin that holds the key longer than the wait: 409 and Retry-After, then, once
    the twin has given up, the request runs (PostgreSQL: SQLite serialises writers, so a
    twin is never in flight there)."""
    if container.is_sqlite:
        pytest.skip("SQLite serialises writers: no request meets a twin in flight")
    monkeypatch.setattr(idempotency, "IN_FLIGHT_WAIT_MS", 100)
    headers = {"Idempotency-Key": "slow-twin"}
    with container.engine.connect() as twin:
        twin.begin()
        assert idempotency.SqlIdempotencyStore(twin).claim("tester", "slow-twin", "x") is None
        busy = client.post(f"{API}/customers", json=acme(), headers=headers)
        assert busy.status_code == 409, busy.text
        assert busy.headers["retry-after"] == "1" and "in flight" in busy.json()["detail"]
        twin.rollback()
    assert client.post(f"{API}/customers", json=acme(), headers=headers).status_code == 201
    assert len(client.get(f"{API}/customers").json()["items"]) == 1
