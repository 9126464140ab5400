"""The pull change feed: CloudEvents 1.0 in commit order, cursor pagination."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient

from tests.factories import acme, create, errors_of, minimal, outbox_events

API = "/api/v1/events"


def read_feed(client: TestClient, expected: int, *, limit: int = 2) -> list[dict[str, Any]]:
    """Page through the feed until ``expected`` events arrived. On PostgreSQL the feed
    serves only transactions older than every running one on the server, so another test
    process's open transaction may hold it back for a moment: poll, bounded."""
    events: list[dict[str, Any]] = []
    cursor: str | None = None
    deadline = time.monotonic() + 30
    while len(events) < expected and time.monotonic() < deadline:
        page = client.get(API, params={"limit": limit, **({"after": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        body = page.json()
        events += body["items"]
        if not body["items"]:
            time.sleep(0.1)
        assert body["next_cursor"]
        cursor = body["next_cursor"]
    return events


def test_the_feed_serves_every_change_once_in_order(client: TestClient) -> None:
    customer = create(client, acme())
    client.patch(f"/api/v1/customers/{customer['id']}", json={"notes": "x"})
    create(client, minimal())
    written = outbox_events(client.app.state.container)  # type: ignore[attr-defined]
    served = read_feed(client, len(written))
    assert [e["id"] for e in served] == [e["id"] for e in written]
    first = served[len(written) - 3]
    assert first["specversion"] == "1.0" and first["source"] == "/custmaster"
    assert first["type"] == "custmaster.customer.created"
    assert first["subject"] == customer["id"]
    assert first["data"]["customer"]["name"] == "Acme Corporation"
    assert [e["type"] for e in served[-2:]] == [
        "custmaster.customer.updated",
        "custmaster.customer.created",
    ]
    assert len({e["id"] for e in served}) == len(served)  # unique ids: consumers deduplicate


def test_an_idle_feed_keeps_the_cursor_and_a_bad_cursor_is_422(client: TestClient) -> None:
    written = outbox_events(client.app.state.container)  # type: ignore[attr-defined]
    read_feed(client, len(written), limit=500)
    last = client.get(API, params={"limit": 500}).json()["next_cursor"]
    idle = client.get(API, params={"after": last}).json()
    assert idle["items"] == [] and idle["next_cursor"] == last
    assert errors_of(client.get(API, params={"after": "nope"})) == {"after": "invalid_cursor"}
