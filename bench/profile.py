"""Activity intake and the living profile on PostgreSQL, each figure beside a same-run
baseline of the database alone:

- intake events/s through the API (POST /api/v1/activities, batches of 1,000, in-process
  ASGI client) and through NATS JetStream (``custmaster consume``'s consumer, batches of
  1,000) beside the database alone inserting the same event and order-line rows (COPY,
  one transaction per 1,000);
- profile read p95 (GET /customers/{id}/profile) beside the database alone reading the
  same customer's aggregate and feature rows;
- rebuild time;
- a replay of the events with 10 % duplicates, shuffled, in batches: ends equal to the
  rebuild (zero drift).

Uses a scratch database (created and dropped). Nothing here asserts a timing.

    PYTHONPATH=src:. python -m bench.profile --events 100000 --customers 1000

(run as a module: a script's folder on sys.path would shadow ``mcp`` and ``profile``)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import nats
import psycopg
from fastapi.testclient import TestClient
from psycopg import sql

from custmaster.api.app import create_app
from custmaster.bootstrap import Container, build_container
from custmaster.config import Settings
from custmaster.domain.activity import parse_envelope
from custmaster.events.activity_consumer import ActivityConsumer, ConsumerSettings
from custmaster.persistence.bulk import insert_rows
from custmaster.persistence.tables_activity import (
    ACTIVITY_TABLES,
    activity_events,
    activity_order_lines,
)
from custmaster.persistence.tables_profile import profile_features
from custmaster.services.auth import add_user
from custmaster.services.customers.create import apply_create
from custmaster.services.demo import demo_customers
from custmaster.services.profile.demo_activity import customer_activity
from custmaster.services.profile.features import today
from custmaster.services.profile.intake import apply_events, event_row, line_rows
from custmaster.services.profile.rebuild import rebuild
from custmaster.services.reference import create_reference
from custmaster.services.sample_data import generate_customers, reference_data

BATCH = 1000


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextlib.contextmanager
def scratch(server: str, name: str) -> Iterator[str]:
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(drop)
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"{server.rstrip('/').rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(drop)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * 0.95) - 1)] if ordered else float("nan")


def seed(container: Container, customers: int) -> None:
    actor = container.system_principal()
    reference = reference_data()
    uow = container.uow()
    with uow:
        for kind in reference.__dataclass_fields__:
            for record in getattr(reference, kind):
                create_reference(uow, actor, kind, record)
    bodies = iter(generate_customers(customers, seed=7, profile="lean"))
    done = 0
    while done < customers:
        batch = container.uow()
        with batch:
            for body in bodies:
                apply_create(batch, actor, dict(body), container.service_settings)
                done += 1
                if done % 200 == 0:
                    break
        log(f"  customers {done}/{customers}")


def make_events(container: Container, total: int) -> list[dict[str, Any]]:
    customers = demo_customers(container.uow())
    rng = random.Random(11)
    events: list[dict[str, Any]] = []
    round_ = 0
    while len(events) < total:
        for customer in customers:
            for envelope in customer_activity(customer, today(), rng):
                envelope["id"] = f"{envelope['id']}-{round_}"
                events.append(envelope)
        round_ += 1
    return events[:total]


def wipe(container: Container) -> None:
    with container.engine.begin() as connection:
        for table in (*reversed(ACTIVITY_TABLES), profile_features):
            connection.execute(table.delete())


def baseline_inserts(container: Container, events: list[dict[str, Any]]) -> float:
    """The database alone writing the same event and order-line rows."""
    ids = {e["data"]["customer_id"] for e in events}
    parsed = [(uuid.UUID(e["data"]["customer_id"]), parse_envelope(e)) for e in events]
    assert ids
    now = datetime.now(UTC)
    rows = [(event_row(e, c, now), line_rows(e, c)) for c, e in parsed]
    started = time.perf_counter()
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        with container.engine.begin() as connection:
            insert_rows(connection, activity_events, [r for r, _ in chunk])
            insert_rows(connection, activity_order_lines, [line for _, ls in chunk for line in ls])
    seconds = time.perf_counter() - started
    wipe(container)
    return len(events) / seconds


def through_api(container: Container, events: list[dict[str, Any]]) -> float:
    key = add_user(
        container.uow(), container.system_principal(), "bench-erp", roles=["integration"]
    )
    with TestClient(create_app(container)) as client:
        client.headers["Authorization"] = f"Bearer {key}"
        started = time.perf_counter()
        for start in range(0, len(events), BATCH):
            response = client.post("/api/v1/activities", json=events[start : start + BATCH])
            assert response.status_code == 200, response.text[:500]
        seconds = time.perf_counter() - started
    return len(events) / seconds


def through_nats(container: Container, events: list[dict[str, Any]], url: str) -> float:
    tag = uuid.uuid4().hex[:8]
    settings = ConsumerSettings(
        url=url,
        stream=f"BENCH_PROFILE_{tag}",
        subjects=(f"bench{tag}.custmaster.activity.>",),
        durable=f"bench-{tag}",
        batch=BATCH,
        fetch_timeout_seconds=0.5,
    )

    async def publish() -> None:
        nc = await nats.connect(url)
        js = nc.jetstream()
        await js.add_stream(name=settings.stream, subjects=list(settings.subjects))
        prefix = settings.subjects[0].removesuffix(">")
        for envelope in events:
            kind = envelope["type"].removeprefix("custmaster.activity.")
            await js.publish(f"{prefix}{kind}", json.dumps(envelope).encode())
        await nc.close()

    async def drop() -> None:
        nc = await nats.connect(url)
        await nc.jetstream().delete_stream(settings.stream)
        await nc.close()

    asyncio.run(publish())
    consumer = ActivityConsumer(container.uow, container.profile, settings)
    last = {"t": time.perf_counter()}
    handle = consumer.handle

    async def timed(msgs: Any) -> None:
        await handle(msgs)
        last["t"] = time.perf_counter()

    consumer.handle = timed  # type: ignore[method-assign]
    started = time.perf_counter()
    stats = asyncio.run(consumer.run(idle_exit_seconds=2.0))
    seconds = last["t"] - started
    asyncio.run(drop())
    assert stats.applied == len(events), vars(stats)
    return len(events) / seconds


def reads(container: Container, count: int) -> tuple[float, float]:
    key = add_user(container.uow(), container.system_principal(), "bench-reader", roles=["viewer"])
    ids = [c.id for c in demo_customers(container.uow())]
    sample = random.Random(5).sample(ids, min(count, len(ids)))
    api_ms, db_ms = [], []
    with TestClient(create_app(container)) as client:
        client.headers["Authorization"] = f"Bearer {key}"
        for customer_id in sample:
            started = time.perf_counter()
            response = client.get(f"/api/v1/customers/{customer_id}/profile")
            api_ms.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text[:300]
            uow = container.uow()
            started = time.perf_counter()
            with uow.read_only():
                uow.activity.load_states([customer_id])
                uow.activity.read_profiles([customer_id])
            db_ms.append((time.perf_counter() - started) * 1000)
    return p95(api_ms), p95(db_ms)


def replay_equals_rebuild(container: Container, events: list[dict[str, Any]]) -> dict[str, Any]:
    rng = random.Random(13)
    replay = events + rng.sample(events, len(events) // 10)
    rng.shuffle(replay)
    started = time.perf_counter()
    for start in range(0, len(replay), BATCH):
        batch = [parse_envelope(e) for e in replay[start : start + BATCH]]
        apply_events(container.uow(), batch, container.profile, channel="bench")
    seconds = time.perf_counter() - started
    report = rebuild(container.uow, container.system_principal(), container.profile, write=False)
    return {
        "replayed": len(replay),
        "duplicates": len(replay) - len(events),
        "events_per_s": round(len(replay) / seconds),
        "rebuild_check_s": round(report.seconds, 2),
        "drifted_customers": len(report.drifted),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="custmaster_bench_profile")
    parser.add_argument("--nats-url", default="nats://127.0.0.1:4222")
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--reads", type=int, default=300)
    args = parser.parse_args()
    figures: dict[str, Any] = {"customers": args.customers, "events": args.events}
    with scratch(args.server, args.database) as url:
        container = build_container(Settings(database_url=url), migrate=True)
        log("seeding customers")
        seed(container, args.customers)
        events = make_events(container, args.events)
        log(f"baseline: the database alone inserting {len(events)} events")
        figures["baseline_db_inserts_events_per_s"] = round(baseline_inserts(container, events))
        log("intake through the API")
        figures["api_events_per_s"] = round(through_api(container, events))
        started = time.perf_counter()
        report = rebuild(container.uow, container.system_principal(), container.profile)
        figures["rebuild_s"] = round(time.perf_counter() - started, 2)
        figures["rebuild_drift_after_api"] = len(report.drifted)
        log("profile reads")
        api_p95, db_p95 = reads(container, args.reads)
        figures["profile_read_p95_ms"] = round(api_p95, 2)
        figures["baseline_db_read_p95_ms"] = round(db_p95, 2)
        wipe(container)
        log(f"so far: {figures}")
        log("intake through NATS")
        figures["nats_events_per_s"] = round(through_nats(container, events, args.nats_url))
        wipe(container)
        log(f"so far: {figures}")
        log("replay with 10 % duplicates, shuffled")
        figures["replay"] = replay_equals_rebuild(container, events)
        container.engine.dispose()
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
