"""Activity intake and the living profile on PostgreSQL, each figure beside a same-run
baseline of the database alone:

- intake events/s through the API (POST /api/v1/activities, batches of 1,000, in-process
  ASGI client) and through NATS JetStream (``custmaster consume``'s consumer, batches of
  1,000) beside the database alone inserting the same event and order-line rows (COPY,
  one transaction per 1,000);
- freshness under load: ``custmaster consume`` (its own process) consuming a stream that
  receives ``--fresh-rate`` events/s for ``--fresh-seconds``; every ``--probe-every``-th
  event is a probe, and its latency is from its publication to the moment its customer's
  re-scored profile is visible to another connection (the event recorded and the
  customer's scores written at or after the publication): p50/p99/max;
- profile read p95 (GET /customers/{id}/profile) beside the database alone reading the
  customer's read rows by primary key and running the one statement the view reads its
  rows, activity state and subtree with (``--reads-only``: just seed, apply, read);
- rebuild time;
- a replay of the events with 10 % duplicates, shuffled, in batches: ends equal to the
  rebuild (zero drift).

Uses a scratch database (created and dropped). Nothing here asserts a timing.

    PYTHONPATH=src:. python -m bench.profile --events 100000 --customers 1000

``--repeat N`` runs the baseline, API and NATS intake N times interleaved (A B C A B C)
and reports each run and the medians; ``--stages`` picks the stages
(intake,freshness,reads,replay).

(run as a module: a script's folder on sys.path would shadow ``mcp`` and ``profile``)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats
import nats.js.errors
import psycopg
from fastapi.testclient import TestClient
from psycopg import sql

from custmaster.api.app import create_app
from custmaster.bootstrap import Container, build_container
from custmaster.config import Settings
from custmaster.domain.activity import parse_envelope
from custmaster.events.activity_consumer import ActivityConsumer, ConsumerSettings
from custmaster.persistence.bulk import insert_rows
from custmaster.persistence.profile_wide import SNAPSHOT
from custmaster.persistence.tables_activity import (
    ACTIVITY_TABLES,
    activity_events,
    activity_order_lines,
)
from custmaster.persistence.tables_profile import profile_features
from custmaster.persistence.tables_profile_rules import profile_scores
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
        for table in (*reversed(ACTIVITY_TABLES), profile_features, profile_scores):
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


def through_api(container: Container, events: list[dict[str, Any]], clients: int = 1) -> float:
    """POST the events in batches of 1,000; with ``clients`` > 1, that many clients at
    once (threads, each its own in-process client), each sending a contiguous share of
    the events in order."""
    key = add_user(
        container.uow(),
        container.system_principal(),
        f"bench-erp-{uuid.uuid4().hex[:6]}",
        roles=["integration"],
    )
    app = create_app(container)
    batches = [events[start : start + BATCH] for start in range(0, len(events), BATCH)]
    share = -(-len(batches) // clients)
    shares = [batches[i * share : (i + 1) * share] for i in range(clients)]
    with contextlib.ExitStack() as stack:
        sessions = [stack.enter_context(TestClient(app)) for _ in range(clients)]
        for client in sessions:
            client.headers["Authorization"] = f"Bearer {key}"

        failures: list[str] = []

        def send(client: TestClient, mine: list[list[dict[str, Any]]]) -> None:
            for batch in mine:
                response = client.post("/api/v1/activities", json=batch)
                if response.status_code != 200:
                    failures.append(response.text[:500])
                    return

        started = time.perf_counter()
        threads = [
            threading.Thread(target=send, args=(c, mine))
            for c, mine in zip(sessions, shares, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
        assert not failures, failures
    return len(events) / seconds


def through_nats(
    container: Container, events: list[dict[str, Any]], url: str, concurrency: int = 1
) -> float:
    tag = uuid.uuid4().hex[:8]
    settings = ConsumerSettings(
        url=url,
        stream=f"BENCH_PROFILE_{tag}",
        subjects=(f"bench{tag}.custmaster.activity.>",),
        durable=f"bench-{tag}",
        batch=BATCH,
        fetch_timeout_seconds=0.5,
        # (only named when not 1: the bench also measures code from before the option)
        **({"concurrency": concurrency} if concurrency != 1 else {}),
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


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def freshness(
    url: str,
    events: list[dict[str, Any]],
    nats_url: str,
    *,
    rate: int,
    seconds: float,
    probe_every: int,
    batch: int,
) -> dict[str, Any]:
    """Publish → re-scored profile visible, with ``custmaster consume`` in its own process
    consuming a stream fed at ``rate`` events/s (core NATS publishes, stored by the
    stream); probes polled every 10 ms on a connection of their own."""
    tag = uuid.uuid4().hex[:8]
    stream, durable = f"BENCH_FRESH_{tag}", f"fresh-{tag}"
    subject = f"fresh{tag}.custmaster.activity.>"
    prefix = subject.removesuffix(">")
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": f"{root / 'src'}{os.pathsep}{root}"}

    async def make_stream() -> None:
        nc = await nats.connect(nats_url)
        await nc.jetstream().add_stream(name=stream, subjects=[subject])
        await nc.close()

    asyncio.run(make_stream())
    consumer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from custmaster.cli.app import app; app()",
            "consume",
            "--database-url",
            url,
            "--nats-url",
            nats_url,
            "--stream",
            stream,
            "--subject",
            subject,
            "--durable",
            durable,
            "--batch",
            str(batch),
            "--idle-exit",
            "3",
        ],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    published: dict[str, float] = {}  # probe id -> wall-clock publication time
    seen: dict[str, float] = {}
    lock = threading.Lock()
    done = threading.Event()

    def poll() -> None:
        query = (
            "SELECT e.event_id, min(s.scored_at) FROM activity_events e"
            " JOIN profile_scores s ON s.customer_id = e.customer_id"
            " WHERE e.event_id = ANY(%s) GROUP BY e.event_id"
        )
        with psycopg.connect(url, autocommit=True) as conn:
            while not done.is_set():
                now = time.time()
                with lock:
                    pending = {k: v for k, v in published.items() if k not in seen}
                if pending:
                    for event_id, scored_at in conn.execute(query, [list(pending)]):
                        if scored_at.timestamp() >= pending[event_id]:
                            seen[event_id] = now - pending[event_id]
                time.sleep(0.01)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    sent: dict[str, float] = {"n": 0, "seconds": 1.0}

    # each event's JSON once, split around its id (a publication only splices a new id in)
    templates = []
    for source in events:
        kind = source["type"].removeprefix("custmaster.activity.")
        head, tail = json.dumps({**source, "id": "@@ID@@"}).split('"@@ID@@"')
        templates.append((f"{prefix}{kind}", head, tail, source["id"]))

    async def publish() -> None:
        nc = await nats.connect(nats_url)
        js = nc.jetstream()
        waited = time.perf_counter()
        while True:  # the consumer process has started and made its durable consumer
            try:
                await js.consumer_info(stream, durable)
                break
            except nats.js.errors.NotFoundError:
                if time.perf_counter() - waited > 120:
                    raise RuntimeError("the consumer process did not start") from None
                await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # its first fetch is out
        started = time.perf_counter()
        n = 0
        while (elapsed := time.perf_counter() - started) < seconds:
            due = int(elapsed * rate) + 1
            while n < due:
                subject_, head, tail, source_id = templates[n % len(templates)]
                event_id = f"{source_id}-f{n}"
                if n % probe_every == 0:
                    await nc.flush()
                    with lock:
                        published[event_id] = time.time()
                await nc.publish(subject_, f"{head}{json.dumps(event_id)}{tail}".encode())
                n += 1
            await nc.flush()
            await asyncio.sleep(0.005)
        sent["n"] = n
        sent["seconds"] = time.perf_counter() - started
        await nc.close()

    asyncio.run(publish())
    deadline = time.time() + 60
    while len(seen) < len(published) and time.time() < deadline:
        time.sleep(0.05)
    done.set()
    poller.join()
    _, err = consumer.communicate(timeout=120)
    stats = json.loads(err.strip().splitlines()[-1]) if err.strip() else {}

    async def drop() -> None:
        nc = await nats.connect(nats_url)
        await nc.jetstream().delete_stream(stream)
        await nc.close()

    asyncio.run(drop())
    # a probe not seen within 60 s counts as infinitely late (its percentile reads None)
    latencies = [seen[k] * 1000 if k in seen else float("inf") for k in published]

    def ms(value: float) -> float | None:
        return round(value, 1) if value != float("inf") else None

    return {
        "target_rate": rate,
        "published": int(sent["n"]),
        "published_per_s": round(sent["n"] / sent["seconds"]),
        "consumer_applied": stats.get("applied"),
        "consumer_batches": stats.get("batches"),
        "probes": len(published),
        "probes_unseen_after_60s": len(published) - len(seen),
        "p50_ms": ms(_percentile(latencies, 0.50)),
        "p99_ms": ms(_percentile(latencies, 0.99)),
        "max_ms": ms(max(latencies)) if latencies else None,
    }


def reads(
    container: Container,
    count: int,
    ids: list[uuid.UUID] | None = None,
    reader: str = "bench-reader",
) -> dict[str, float]:
    """GET /customers/{id}/profile (in-process ASGI client) and, alternately (A B A B), as
    the same run's baselines the database alone: the read rows by primary key, and the
    one statement the view reads them, the activity state and the subtree with (both
    straight SQL on one connection). p95 of each, and the ratio of the API's to the
    snapshot's. ``count`` customers drawn from ``ids`` (default: every customer), read by
    a new viewer user ``reader``."""
    key = add_user(container.uow(), container.system_principal(), reader, roles=["viewer"])
    if ids is None:
        ids = [c.id for c in demo_customers(container.uow())]
    sample = random.Random(5).sample(ids, min(count, len(ids)))
    url = container.engine.url.render_as_string(hide_password=False)
    api_ms: list[float] = []
    pk_ms: list[float] = []
    snap_ms: list[float] = []
    old_ms: list[float] = []
    with (
        TestClient(create_app(container)) as client,
        psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn,
    ):
        client.headers["Authorization"] = f"Bearer {key}"
        snapshot_sql = str(SNAPSHOT.compile(dialect=container.engine.dialect))
        snapshot_params = {"hierarchy_type": "legal", "as_of": today()}
        for customer_id in sample:
            started = time.perf_counter()
            response = client.get(f"/api/v1/customers/{customer_id}/profile")
            api_ms.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text[:300]
            started = time.perf_counter()
            conn.execute(
                "SELECT * FROM profile_wide WHERE customer_id = %s", (customer_id,)
            ).fetchall()
            pk_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            conn.execute(snapshot_sql, snapshot_params | {"customer_id": customer_id}).fetchall()
            snap_ms.append((time.perf_counter() - started) * 1000)
            uow = container.uow()
            started = time.perf_counter()
            with uow.read_only():  # the statements the view ran before the read rows
                uow.activity.load_states([customer_id])
                uow.activity.read_profiles([customer_id])
                uow.profile_rules.scores(customer_id)
            old_ms.append((time.perf_counter() - started) * 1000)

    def p50(values: list[float]) -> float:
        return round(sorted(values)[len(values) // 2], 2)

    return {
        "profile_read_p50_ms": p50(api_ms),
        "profile_read_p95_ms": round(p95(api_ms), 2),
        "baseline_db_read_rows_by_pk_p50_ms": p50(pk_ms),
        "baseline_db_read_rows_by_pk_p95_ms": round(p95(pk_ms), 2),
        "baseline_db_snapshot_statement_p50_ms": p50(snap_ms),
        "baseline_db_snapshot_statement_p95_ms": round(p95(snap_ms), 2),
        "before_db_statements_p50_ms": p50(old_ms),
        "before_db_statements_p95_ms": round(p95(old_ms), 2),
        "api_over_snapshot_statement_p50": round(p50(api_ms) / p50(snap_ms), 1),
        "api_over_snapshot_statement_p95": round(p95(api_ms) / p95(snap_ms), 1),
    }


def apply_directly(container: Container, events: list[dict[str, Any]]) -> None:
    """The events applied by the intake service (no HTTP), batches of 1,000."""
    for start in range(0, len(events), BATCH):
        batch = [parse_envelope(e) for e in events[start : start + BATCH]]
        apply_events(container.uow(), batch, container.profile, channel="bench")


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
    parser.add_argument("--repeat", type=int, default=1, help="interleaved intake runs")
    parser.add_argument(
        "--shuffle", action="store_true", help="intake events in random order (not by customer)"
    )
    parser.add_argument("--stages", default="intake,freshness,reads,replay")
    parser.add_argument(
        "--api-clients", default="1", help="concurrent API clients (a comma list: one run each)"
    )
    parser.add_argument(
        "--nats-concurrency", type=int, default=2, help="batches the consumer applies at once"
    )
    parser.add_argument(
        "--fresh-rate", default="5000", help="events/s published (a comma list: one run each)"
    )
    parser.add_argument("--fresh-seconds", type=float, default=20.0)
    parser.add_argument("--probe-every", type=int, default=50)
    parser.add_argument(
        "--reads-only", action="store_true", help="seed, apply the events, measure reads"
    )
    args = parser.parse_args()
    stages = {"reads"} if args.reads_only else set(args.stages.split(","))
    figures: dict[str, Any] = {"customers": args.customers, "events": args.events}
    with scratch(args.server, args.database) as url:
        container = build_container(Settings(database_url=url), migrate=True)
        log("seeding customers")
        seed(container, args.customers)
        events = make_events(container, args.events)
        # like a serving process (``custmaster serve``, ``custmaster consume``): what is held
        # from the start -- here also the events to send -- stays out of full collections
        gc.collect()
        gc.freeze()
        if args.shuffle:
            random.Random(17).shuffle(events)
            figures["shuffled"] = True
        if "intake" in stages:
            clients = [int(c) for c in args.api_clients.split(",")]
            api_runs = {n: "api" if n == 1 else f"api_{n}_clients" for n in clients}
            runs: dict[str, list[float]] = {"baseline": [], **{k: [] for k in api_runs.values()}}
            runs["nats"] = []
            for i in range(args.repeat):
                log(f"run {i + 1}: baseline, the database alone inserting {len(events)} events")
                runs["baseline"].append(baseline_inserts(container, events))
                for n, name in api_runs.items():
                    log(f"run {i + 1}: intake through the API, {n} client(s)")
                    runs[name].append(through_api(container, events, n))
                    wipe(container)
                log(f"run {i + 1}: intake through NATS")
                runs["nats"].append(
                    through_nats(container, events, args.nats_url, args.nats_concurrency)
                )
                if i + 1 < args.repeat:
                    wipe(container)
                log(f"  { ({k: round(v[-1]) for k, v in runs.items()}) }")
            base = statistics.median(runs["baseline"])
            figures["baseline_db_inserts_events_per_s"] = round(base)
            figures["nats_concurrency"] = args.nats_concurrency
            for name in (*api_runs.values(), "nats"):
                figures[f"{name}_events_per_s"] = round(statistics.median(runs[name]))
                figures[f"{name}_over_baseline"] = round(statistics.median(runs[name]) / base, 3)
            if args.repeat > 1:
                figures["runs"] = {k: [round(x) for x in v] for k, v in runs.items()}
            started = time.perf_counter()
            report = rebuild(container.uow, container.system_principal(), container.profile)
            figures["rebuild_s"] = round(time.perf_counter() - started, 2)
            figures["rebuild_drift_after_nats"] = len(report.drifted)
            log(f"so far: {figures}")
        if "reads" in stages:
            if "intake" not in stages:
                log(f"applying {len(events)} events (intake service, no HTTP)")
                apply_directly(container, events)
            log("profile reads")
            figures.update(reads(container, args.reads))
        if "freshness" in stages:
            figures["freshness"] = []
            for rate in (int(r) for r in args.fresh_rate.split(",")):
                wipe(container)
                log(f"freshness: {rate} events/s for {args.fresh_seconds} s")
                figures["freshness"].append(
                    freshness(
                        url,
                        events,
                        args.nats_url,
                        rate=rate,
                        seconds=args.fresh_seconds,
                        probe_every=args.probe_every,
                        batch=BATCH,
                    )
                )
                log(f"so far: {figures}")
        if "replay" in stages:
            wipe(container)
            log("replay with 10 % duplicates, shuffled")
            figures["replay"] = replay_equals_rebuild(container, events)
        container.engine.dispose()
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
