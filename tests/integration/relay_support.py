"""Helpers of the relay tests: unique stream names, reading a stream back, writing
synthetic outbox events. Not a test module."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import nats
from nats.js.api import AckPolicy, ConsumerConfig
from nats.js.errors import NotFoundError

from custmaster.bootstrap import Container
from custmaster.domain.events import CloudEvent
from custmaster.services.ports import FeedItem, FeedPosition
from custmaster.services.relay.config import RelayConfig


@dataclass(frozen=True)
class Received:
    subject: str
    msg_id: str
    envelope: dict[str, Any]


def unique_config(nats_url: str, **overrides: Any) -> RelayConfig:
    tag = uuid.uuid4().hex[:10]
    values: dict[str, Any] = {
        "nats_url": nats_url,
        "stream": f"RELAYTEST_{tag}",
        "subject_prefix": f"t{tag}",
        "lease_seconds": 3.0,
        "ack_timeout_seconds": 2.0,
        "poll_seconds": 0.02,
    }
    values.update(overrides)
    return RelayConfig(**values)


async def read_stream(url: str, config: RelayConfig, timeout: float = 30.0) -> list[Received]:
    """Every message of the stream, in stream order."""
    nc = await nats.connect(url, connect_timeout=5)
    try:
        js = nc.jetstream()
        total = (await js.stream_info(config.stream)).state.messages
        sub = await js.pull_subscribe(
            f"{config.subject_prefix}.>",
            stream=config.stream,
            config=ConsumerConfig(ack_policy=AckPolicy.NONE),
        )
        got: list[Received] = []
        async with asyncio.timeout(timeout):
            while len(got) < total:
                for msg in await sub.fetch(min(1000, total - len(got)), timeout=5):
                    headers = msg.headers or {}
                    got.append(
                        Received(msg.subject, headers.get("Nats-Msg-Id", ""), json.loads(msg.data))
                    )
        await sub.unsubscribe()
        return got
    finally:
        await nc.close()


async def delete_stream(url: str, stream: str) -> None:
    nc = await nats.connect(url, connect_timeout=5)
    try:
        await nc.jetstream().delete_stream(stream)
    except NotFoundError:
        pass
    finally:
        await nc.close()


def outbox_items(container: Container) -> list[FeedItem]:
    """Every outbox event in commit order."""
    items: list[FeedItem] = []
    position = FeedPosition()
    while True:
        uow = container.uow()
        with uow.read_only():
            page = uow.outbox.read(position, 5000)
        if not page:
            return items
        items.extend(page)
        position = page[-1].position


def wait_visible(
    container: Container, done: Callable[[list[FeedItem]], bool], timeout: float = 30.0
) -> None:
    """Wait until the outbox serves what ``done`` expects: on PostgreSQL it serves only
    transactions older than every running one, anywhere on the server."""
    deadline = time.monotonic() + timeout
    while True:
        items = outbox_items(container)
        if items and done(items):
            return
        assert time.monotonic() < deadline, "the outbox did not serve the committed events"
        time.sleep(0.05)


def write_changes(container: Container, count: int, customers: int, per_commit: int = 25) -> None:
    """``count`` synthetic ``custmaster.customer.updated`` events over ``customers``
    subjects, ``per_commit`` per transaction; ``data.seq`` counts per customer."""
    subjects = [str(uuid.uuid4()) for _ in range(customers)]
    seq = dict.fromkeys(subjects, 0)
    written = 0
    while written < count:
        batch: list[CloudEvent] = []
        for _ in range(min(per_commit, count - written)):
            subject = subjects[written % customers]
            seq[subject] += 1
            batch.append(
                CloudEvent(
                    id=uuid.uuid4(),
                    type="custmaster.customer.updated",
                    subject=subject,
                    time=datetime.now(UTC),
                    data={"seq": seq[subject]},
                )
            )
            written += 1
        uow = container.uow()
        with uow:
            uow.outbox.add_many(batch)


def check_delivery(items: list[FeedItem], received: list[Received]) -> None:
    """Every committed event arrived, with its id as Nats-Msg-Id, each once in the stream,
    and the events of each subject in commit order."""
    ids = [str(i.envelope["id"]) for i in items]
    got_ids = [r.msg_id for r in received]
    assert all(r.msg_id == r.envelope["id"] for r in received)
    assert len(set(got_ids)) == len(got_ids), "a duplicate with a new id, or dedup failed"
    assert sorted(got_ids) == sorted(ids), "an event is missing or extra"
    rank = {event_id: n for n, event_id in enumerate(ids)}
    last: dict[str, int] = {}
    for r in received:
        subject = r.envelope["subject"]
        assert rank[r.msg_id] > last.get(subject, -1), f"out of order for {subject}"
        last[subject] = rank[r.msg_id]
