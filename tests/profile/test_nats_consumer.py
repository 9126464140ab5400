"""The activity consumer on a real NATS JetStream (127.0.0.1:4222): redelivery after a
failure, duplicates, poison messages and unknown customers to the dead-letter list, a
replay after the cross-reference exists, and the CLI command. Each test uses a stream,
subjects and a durable consumer of its own and deletes the stream afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import random
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import nats
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from custmaster.bootstrap import Container
from custmaster.cli.app import app
from custmaster.events.activity_consumer import ActivityConsumer, ConsumerSettings
from tests.factories import create, minimal
from tests.profile.events import complaint, invoice, order, payment

NATS_URL = "nats://127.0.0.1:4222"
TODAY = date.today()
API = "/api/v1"


def _nats_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 4222), timeout=1):
            return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not _nats_up(), reason="no NATS server on 127.0.0.1:4222")


@pytest.fixture
def stream() -> Iterator[ConsumerSettings]:
    tag = uuid.uuid4().hex[:10]
    settings = ConsumerSettings(
        url=NATS_URL,
        stream=f"TEST_ACTIVITY_{tag}",
        subjects=(f"t{tag}.custmaster.activity.>",),
        durable=f"test-{tag}",
        batch=50,
        max_deliver=3,
        fetch_timeout_seconds=0.3,
        retry_delay_seconds=0.05,
    )
    yield settings

    async def drop() -> None:
        nc = await nats.connect(NATS_URL)
        with contextlib.suppress(Exception):
            await nc.jetstream().delete_stream(settings.stream)
        await nc.drain()

    asyncio.run(drop())


def _publish(settings: ConsumerSettings, payloads: list[Any]) -> None:
    async def send() -> None:
        nc = await nats.connect(NATS_URL)
        js = nc.jetstream()
        try:
            await js.stream_info(settings.stream)
        except Exception:
            await js.add_stream(name=settings.stream, subjects=list(settings.subjects))
        prefix = settings.subjects[0].removesuffix(">")
        for payload in payloads:
            if isinstance(payload, dict):
                kind = payload["type"].removeprefix("custmaster.activity.")
                data = json.dumps(payload).encode()
            else:
                kind, data = "order.placed", str(payload).encode()
            await js.publish(f"{prefix}{kind}", data)
        await nc.drain()

    asyncio.run(send())


def _consume(container: Container, settings: ConsumerSettings) -> ActivityConsumer:
    consumer = ActivityConsumer(container.uow, container.profile, settings)
    asyncio.run(asyncio.wait_for(consumer.run(idle_exit_seconds=1.0), timeout=60))
    return consumer


def _features(client: TestClient, customer_id: str) -> dict[str, Any]:
    body = client.get(f"{API}/customers/{customer_id}/profile").json()
    rows: dict[str, Any] = body["features"]
    for row in rows.values():
        row.pop("updated_at")
    return rows


def _history(customer_id: str) -> list[dict[str, Any]]:
    events = [order(customer_id, TODAY - timedelta(days=31 * i), 50.0 + i) for i in range(5)]
    return [
        *events,
        invoice(customer_id, TODAY - timedelta(days=45), TODAY - timedelta(days=15), 80, "N-1"),
        payment(customer_id, TODAY - timedelta(days=1), "N-1", 30),
        complaint(customer_id, TODAY - timedelta(days=9), "NC-1"),
    ]


def test_redelivery_duplicates_and_shuffled_order(
    client: TestClient,
    container: Container,
    stream: ConsumerSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    via_api = create(client, minimal("Api Ltd", "ap@api.example"))["id"]
    via_nats = create(client, minimal("Nats Ltd", "ap@nats.example"))["id"]
    assert client.post(f"{API}/activities", json=_history(via_api)).status_code == 200
    events = _history(via_nats)
    published = events + events[:3]  # duplicates (the same event ids)
    random.Random(3).shuffle(published)
    _publish(stream, published)
    failures = {"left": 1}
    original = ActivityConsumer._apply

    def flaky(self: ActivityConsumer, batch: list[Any]) -> None:
        if failures["left"]:
            failures["left"] -= 1
            raise ConnectionError("database went away")
        original(self, batch)

    monkeypatch.setattr(ActivityConsumer, "_apply", flaky)
    consumer = _consume(container, stream)
    stats = consumer.stats
    assert stats.applied == len(events)
    assert stats.duplicates == 3
    assert stats.dead_lettered == 0
    assert _features(client, via_nats) == _features(client, via_api)
    # redelivered: nothing changes
    _publish(stream, events)
    again = _consume(container, stream).stats
    assert again.applied == 0 and again.duplicates == len(events)


def test_batches_applied_at_once_end_as_one_at_a_time(
    client: TestClient,
    container: Container,
    stream: ConsumerSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With ``concurrency`` 3, small batches sharing customers (duplicates, shuffled) are
    applied in overlapping transactions and end as the same histories sent through the
    API, every event counted once."""
    names = [f"Twin {i} Ltd" for i in range(3)]
    via_api = [create(client, minimal(n, f"ap{i}@api.example"))["id"] for i, n in enumerate(names)]
    via_nats = [
        create(client, minimal(f"{n} N", f"ap{i}@nats.example"))["id"] for i, n in enumerate(names)
    ]
    for customer in via_api:
        assert client.post(f"{API}/activities", json=_history(customer)).status_code == 200
    events = [e for customer in via_nats for e in _history(customer)]
    published = events + events[::4]  # duplicates
    random.Random(5).shuffle(published)
    _publish(stream, published)
    lock = threading.Lock()
    running = {"now": 0, "most": 0}
    original = ActivityConsumer._apply

    def counted(self: ActivityConsumer, batch: list[Any]) -> None:
        with lock:
            running["now"] += 1
            running["most"] = max(running["most"], running["now"])
        try:
            time.sleep(0.05)  # let the next batch start meanwhile
            original(self, batch)
        finally:
            with lock:
                running["now"] -= 1

    monkeypatch.setattr(ActivityConsumer, "_apply", counted)
    settings = dataclasses.replace(stream, batch=4, concurrency=3)
    stats = _consume(container, settings).stats
    assert running["most"] >= 2
    assert stats.applied == len(events)
    assert stats.duplicates == len(published) - len(events)
    assert stats.dead_lettered == 0 and stats.redelivery_requested == 0
    for nats_id, api_id in zip(via_nats, via_api, strict=True):
        assert _features(client, nats_id) == _features(client, api_id)


def test_batches_at_once_dead_letter_an_unknown_event_once(
    client: TestClient,
    container: Container,
    stream: ConsumerSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Copies of one event whose customer is unknown, in batches applied at once: one
    dead letter (the second transaction waits for the first's, then counts an attempt)."""
    if container.settings.database_url.startswith("sqlite"):
        pytest.skip("SQLite applies one writer at a time")
    from custmaster.persistence.activity import SqlActivityRepository

    unknown = order({"source_system": "sap", "source_id": "N-TWICE"}, TODAY, 3.0)
    _publish(stream, [unknown, unknown, unknown])
    lookup = SqlActivityRepository.open_dead_letter

    def slow(self: SqlActivityRepository, event_id: str) -> Any:
        found = lookup(self, event_id)
        time.sleep(0.3)  # the other batch's transaction looks meanwhile
        return found

    monkeypatch.setattr(SqlActivityRepository, "open_dead_letter", slow)
    stats = _consume(container, dataclasses.replace(stream, batch=1, concurrency=3)).stats
    assert stats.dead_lettered == 3
    letters = client.get(f"{API}/activities/dead-letters").json()["items"]
    [letter] = [d for d in letters if d["event_id"] == unknown["id"]]
    assert letter["attempts"] == 3


def test_poison_and_unknown_customers_go_to_dead_letters_and_replay(
    client: TestClient, container: Container, stream: ConsumerSettings
) -> None:
    ref = {"source_system": "sap", "source_id": "N-404"}
    unknown = order(ref, TODAY, 12.0)
    _publish(stream, ["{not json", unknown])
    stats = _consume(container, stream).stats
    assert stats.dead_lettered == 2
    letters = client.get(f"{API}/activities/dead-letters").json()["items"]
    reasons = {d["event_id"]: d["reason"] for d in letters}
    assert reasons[unknown["id"]] == "unknown customer sap/N-404"
    assert any(r.startswith("not JSON") for r in reasons.values())
    customer = create(client, minimal("Found Ltd", "ap@found.example", source_refs=[ref]))
    letter = next(d for d in letters if d["event_id"] == unknown["id"])
    replayed = client.post(f"{API}/activities/dead-letters/{letter['id']}/replay")
    assert replayed.status_code == 200, replayed.text
    assert _features(client, customer["id"])["US01"]["orders_12m"] == 1


def test_a_message_failing_every_time_is_dead_lettered_after_max_deliver(
    client: TestClient,
    container: Container,
    stream: ConsumerSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    customer = create(client, minimal())["id"]

    def broken(self: ActivityConsumer, batch: list[Any]) -> None:
        raise RuntimeError("constraint violated")

    monkeypatch.setattr(ActivityConsumer, "_apply", broken)
    event = order(customer, TODAY, 1.0)
    _publish(stream, [event])
    stats = _consume(container, stream).stats
    assert stats.redelivery_requested == stream.max_deliver - 1
    assert stats.dead_lettered == 1
    [letter] = client.get(f"{API}/activities/dead-letters").json()["items"]
    assert letter["event_id"] == event["id"] and letter["attempts"] == stream.max_deliver
    assert "constraint violated" in letter["reason"]


def test_the_consume_command(
    client: TestClient, container: Container, stream: ConsumerSettings
) -> None:
    customer = create(client, minimal())["id"]
    _publish(stream, [order(customer, TODAY, 7.5), order(customer, TODAY, 2.5)])
    result = CliRunner().invoke(
        app,
        [
            "consume",
            "--database-url",
            container.settings.database_url,
            "--nats-url",
            NATS_URL,
            "--stream",
            stream.stream,
            "--subject",
            stream.subjects[0],
            "--durable",
            stream.durable,
            "--idle-exit",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert '"applied": 2' in result.output
    assert _features(client, customer)["US01"]["revenue_12m"] == 10.0


def test_bad_events_do_not_poison_their_batch_and_a_replay_changes_nothing(
    client: TestClient,
    container: Container,
    stream: ConsumerSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One fetched batch holding poison (not JSON, an invalid event) and an event the
    database refuses every time: the good events apply in a few transactions (the failing
    part is split in halves, not retried message by message), the bad ones are
    dead-lettered, and publishing the good ones again changes nothing."""
    import custmaster.events.activity_consumer as consumer_module

    customer = create(client, minimal("Split Ltd", "ap@split.example"))["id"]
    good = [order(customer, TODAY - timedelta(days=3 * i), 10.0 + i) for i in range(20)]
    refused = order(customer, TODAY, 99.0)
    invalid = order(customer, TODAY, 1.0)
    invalid["data"]["lines"][0]["amount"] = "ten"
    published: list[Any] = [*good[:7], "{not json", refused, *good[7:15], invalid, *good[15:]]
    _publish(stream, published)
    transactions: list[int] = []
    apply_events = consumer_module.apply_events

    def database(uow: Any, events: list[Any], *args: Any, **kwargs: Any) -> Any:
        transactions.append(len(events))
        if any(e.id == refused["id"] for e in events):
            raise RuntimeError("value violates a constraint")
        return apply_events(uow, events, *args, **kwargs)

    monkeypatch.setattr(consumer_module, "apply_events", database)
    stats = _consume(container, stream).stats
    assert stats.applied == len(good)
    assert stats.dead_lettered == 3
    assert transactions[0] == len(good) + 1  # the batch, without the two poison messages
    first_delivery = transactions[: len(transactions) - (stream.max_deliver - 1)]
    assert len(first_delivery) < len(good)  # not one transaction per message
    letters = {
        d["event_id"]: d for d in client.get(f"{API}/activities/dead-letters").json()["items"]
    }
    assert "value violates a constraint" in letters[refused["id"]]["reason"]
    assert letters[refused["id"]]["attempts"] == stream.max_deliver
    assert letters[invalid["id"]]["reason"].startswith("invalid activity event")
    assert len(letters) == 3
    before = _features(client, customer)
    assert before["US01"]["orders_12m"] == len(good)
    updated_at = client.get(f"{API}/customers/{customer}/profile").json()["features"]

    _publish(stream, list(reversed(good)))
    again = _consume(container, stream).stats
    assert again.applied == 0 and again.duplicates == len(good)
    assert client.get(f"{API}/customers/{customer}/profile").json()["features"] == updated_at
