"""The outbox relay to NATS JetStream: throughput, commit-to-consumer latency, fault run.

    PYTHONPATH=src python bench/relay.py [--events 50000] [--rate 500] [--seconds 20]
        [--fault-changes 100000] [--kills 20] [--skip-fault]

Runs on a scratch PostgreSQL database ``custmaster_bench_relay`` (made and dropped on
the server of $CUSTMASTER_BENCH_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/postgres)
and a nats-server of its own (free loopback port, throw-away store).

1. Throughput: N outbox events relayed to JetStream (events/s), beside a bare nats-py
   publisher of the same messages (same subjects, headers and bodies, pipelined the
   same way, read from memory): the broker's and the client's ceiling on this machine.
2. Latency: changes committed at a steady rate (one transaction each) while a relay
   process publishes them and a JetStream consumer receives them: commit-to-consumer
   p50/p99/max, beside a bare publisher that publishes right after each commit.
3. Fault run: changes committed while the relay process is killed with SIGKILL
   ``--kills`` times and the broker stopped and restarted; then every committed change
   must be in the stream once, each customer's in commit order.

Nothing here asserts a timing; the fault run's delivery check is a correctness check.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from custmaster.bootstrap import Container, build_container  # noqa: E402
from custmaster.config import Settings  # noqa: E402
from custmaster.domain.events import CloudEvent  # noqa: E402
from custmaster.persistence.engine import make_engine  # noqa: E402
from custmaster.services.ports import FeedPosition  # noqa: E402
from custmaster.services.relay.config import RelayConfig  # noqa: E402
from custmaster.services.relay.ports import OutboxEvent  # noqa: E402
from custmaster.services.relay.runner import Relay, message_of  # noqa: E402
from custmaster.services.relay.stream import ensure_stream  # noqa: E402
from tests.integration.relay_support import (  # noqa: E402
    check_delivery,
    outbox_items,
    read_stream,
    wait_visible,
)
from tests.nats_server import NatsServer  # noqa: E402

BENCH_DB = "custmaster_bench_relay"


def scratch_database(server_url: str) -> str:
    admin = make_engine(server_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {BENCH_DB}"))
        connection.execute(text(f"CREATE DATABASE {BENCH_DB}"))
    admin.dispose()
    return server_url.rsplit("/", 1)[0] + f"/{BENCH_DB}"


def drop_database(server_url: str) -> None:
    admin = make_engine(server_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)"))
    admin.dispose()


def empty(container: Container) -> None:
    with container.engine.begin() as connection:
        connection.execute(text("TRUNCATE outbox, relay_partitions"))


def event(subject: str, seq: int, **extra: Any) -> CloudEvent:
    return CloudEvent(
        id=uuid.uuid4(),
        type="custmaster.customer.updated",
        subject=subject,
        time=datetime.now(UTC),
        data={"seq": seq, **extra},
    )


def config_for(url: str, **overrides: Any) -> RelayConfig:
    tag = uuid.uuid4().hex[:8]
    values: dict[str, Any] = {
        "nats_url": url,
        "stream": f"BENCH_{tag}",
        "subject_prefix": f"b{tag}",
        "batch_size": 1000,
    }
    values.update(overrides)
    return RelayConfig(**values)


def relay_process(database_url: str, config: RelayConfig) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "CUSTMASTER_RELAY_STREAM": config.stream,
        "CUSTMASTER_RELAY_SUBJECT_PREFIX": config.subject_prefix,
        "CUSTMASTER_RELAY_ACK_TIMEOUT_SECONDS": str(config.ack_timeout_seconds),
        "CUSTMASTER_RELAY_POLL_SECONDS": str(config.poll_seconds),
    }
    command = [
        sys.executable,
        "-m",
        "custmaster.cli.app",
        "relay",
        "--database-url",
        database_url,
        "--nats-url",
        config.nats_url,
        "--lease-seconds",
        str(config.lease_seconds),
        "--batch-size",
        str(config.batch_size),
    ]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_for_lease(container: Container, config: RelayConfig, timeout: float = 60) -> None:
    """Until the relay process has started and holds its partition."""
    deadline = time.monotonic() + timeout
    query = text("SELECT count(*) FROM relay_partitions WHERE name = :name AND holder IS NOT NULL")
    while time.monotonic() < deadline:
        with container.engine.connect() as connection:
            if connection.execute(query, {"name": config.stream}).scalar_one():
                return
        time.sleep(0.1)
    raise RuntimeError("the relay process did not start")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


# -- 1. throughput ------------------------------------------------------------------------


async def bare_publish(url: str, config: RelayConfig, messages: list[Any], window: int) -> float:
    """Publish ``messages`` pipelined ``window`` at a time; seconds taken."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    await ensure_stream(js, config, {"customer"})
    started = time.perf_counter()
    for start in range(0, len(messages), window):
        futures = [
            await js.publish_async(s, b, headers=dict(h), stream=config.stream)
            for s, b, h in messages[start : start + window]
        ]
        await asyncio.gather(*futures)
    took = time.perf_counter() - started
    await nc.jetstream().delete_stream(config.stream)
    await nc.close()
    return took


def throughput(container: Container, url: str, events: int) -> None:
    empty(container)
    subjects = [str(uuid.uuid4()) for _ in range(1000)]
    for start in range(0, events, 5000):
        uow = container.uow()
        with uow:
            uow.outbox.add_bulk(
                [event(subjects[n % 1000], n) for n in range(start, min(start + 5000, events))]
            )
    wait_visible(container, lambda found: len(found) == events, timeout=300)
    items = stored_events(container)
    for batch in (500, 1000):
        bare = config_for(url, batch_size=batch)
        messages = [message_of(i, bare) for i in items]
        bare_s = asyncio.run(bare_publish(url, bare, messages, batch))
        empty_relay(container)
        config = config_for(url, batch_size=batch)
        relay = Relay(container.uow, config)
        started = time.perf_counter()
        asyncio.run(relay.run(until_idle=True))
        relay_s = time.perf_counter() - started
        assert relay.published == events
        asyncio.run(delete(url, config.stream))
        print(
            f"throughput, batch {batch}: relay {events / relay_s:,.0f} events/s "
            f"({relay_s:.2f} s for {events:,}); bare nats-py publisher "
            f"{events / bare_s:,.0f} events/s ({bare_s:.2f} s)",
            flush=True,
        )


def stored_events(container: Container) -> list[OutboxEvent]:
    """The outbox events as the relay reads them (routing columns, stored JSON text)."""
    found: list[OutboxEvent] = []
    after = FeedPosition()
    while page := read_pending(container, after):
        found.extend(page)
        after = page[-1].position
    return found


def read_pending(container: Container, after: FeedPosition) -> list[OutboxEvent]:
    uow = container.uow()
    with uow.read_only():
        return uow.relay.pending(after, 5000)


def empty_relay(container: Container) -> None:
    with container.engine.begin() as connection:
        connection.execute(text("DELETE FROM relay_partitions"))


async def delete(url: str, stream: str) -> None:
    nc = await nats.connect(url)
    await nc.jetstream().delete_stream(stream)
    await nc.close()


# -- 2. latency ---------------------------------------------------------------------------


def steady_writer(
    container: Container, rate: float, seconds: float, after_commit: Any = None
) -> int:
    """One transaction per change at ``rate``/s; each carries its commit time."""
    subjects = [str(uuid.uuid4()) for _ in range(200)]
    total = int(rate * seconds)
    started = time.perf_counter()
    for n in range(total):
        due = started + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        uow = container.uow()
        made = event(subjects[n % 200], n)
        with uow:
            uow.outbox.add(made)
        committed = time.time()
        if after_commit is not None:
            after_commit(made, committed)
        else:
            commits[str(made.id)] = committed
    took = time.perf_counter() - started
    print(f"  the writer committed {total:,} changes at {total / took:,.0f}/s", flush=True)
    return total


commits: dict[str, float] = {}


async def consume(
    url: str, config: RelayConfig, expected: int, finished: threading.Event
) -> dict[str, float]:
    """Receive times by event id, until ``expected`` arrived or 30 s after ``finished``."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    await ensure_stream(js, config, {"customer"})
    received: dict[str, float] = {}
    done = asyncio.Event()

    async def on_message(msg: Any) -> None:
        received[(msg.headers or {}).get("Nats-Msg-Id", "")] = time.time()
        if len(received) >= expected:
            done.set()

    sub = await js.subscribe(
        f"{config.subject_prefix}.>",
        stream=config.stream,
        cb=on_message,
        config=ConsumerConfig(ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.NEW),
    )
    while not done.is_set() and not finished.is_set():
        await asyncio.sleep(0.1)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), 30)
    await sub.unsubscribe()
    await js.delete_stream(config.stream)
    await nc.close()
    return received


def latencies(received: dict[str, float]) -> str:
    lags = sorted((received[i] - t) * 1000 for i, t in commits.items() if i in received)
    missing = len(commits) - len(lags)
    if not lags:
        return "nothing received"
    p99 = lags[min(len(lags) - 1, int(len(lags) * 0.99))]
    return (
        f"p50 {statistics.median(lags):.1f} ms, p99 {p99:.1f} ms, max {lags[-1]:.1f} ms "
        f"over {len(lags):,} changes{f', {missing} missing' if missing else ''}"
    )


def latency(container: Container, url: str, database_url: str, rate: float, seconds: float) -> None:
    empty(container)
    total = int(rate * seconds)
    # the relay: a process of its own, as in production
    config = config_for(url, batch_size=500)
    relay = relay_process(database_url, config)
    wait_for_lease(container, config)
    commits.clear()
    finished = threading.Event()
    loop_result: dict[str, float] = {}
    consumer = threading.Thread(
        target=lambda: loop_result.update(asyncio.run(consume(url, config, total, finished)))
    )
    consumer.start()
    time.sleep(1)
    steady_writer(container, rate, seconds)
    finished.set()
    consumer.join()
    stop(relay)
    print(
        f"latency at {rate:.0f} changes/s (commit -> consumer), relay: {latencies(loop_result)}",
        flush=True,
    )

    # baseline: the writer publishes each change itself right after its commit
    empty(container)
    bare = config_for(url)
    commits.clear()
    finished = threading.Event()
    loop_result = {}
    consumer = threading.Thread(
        target=lambda: loop_result.update(asyncio.run(consume(url, bare, total, finished)))
    )
    consumer.start()
    time.sleep(1)
    publisher = BarePublisher(url, bare)

    def publish(made: CloudEvent, committed: float) -> None:
        commits[str(made.id)] = committed
        publisher.publish(made)

    steady_writer(container, rate, seconds, publish)
    finished.set()
    consumer.join()
    publisher.close()
    print(
        f"latency at {rate:.0f} changes/s, baseline (bare publish after each commit): "
        f"{latencies(loop_result)}",
        flush=True,
    )


class BarePublisher:
    """A nats-py publisher on a loop of its own thread, fed from the writer thread."""

    def __init__(self, url: str, config: RelayConfig) -> None:
        self.config = config
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.nc = asyncio.run_coroutine_threadsafe(nats.connect(url), self.loop).result(10)

    def publish(self, made: CloudEvent) -> None:
        envelope = made.envelope()
        body = json.dumps(envelope, separators=(",", ":")).encode()
        headers = {"Nats-Msg-Id": envelope["id"]}
        subject = f"{self.config.subject_prefix}.customer.updated"
        js = self.nc.jetstream()
        asyncio.run_coroutine_threadsafe(js.publish(subject, body, headers=headers), self.loop)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.nc.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)


# -- 3. fault run -------------------------------------------------------------------------


def throttled_writer(container: Container, total: int, rate: float, per_commit: int) -> None:
    subjects = [str(uuid.uuid4()) for _ in range(500)]
    seq = dict.fromkeys(subjects, 0)
    started = time.perf_counter()
    written = 0
    while written < total:
        due = started + written / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        batch = []
        for _ in range(min(per_commit, total - written)):
            subject = subjects[written % 500]
            seq[subject] += 1
            batch.append(event(subject, seq[subject]))
            written += 1
        uow = container.uow()
        with uow:
            uow.outbox.add_many(batch)


async def stored(url: str, stream: str) -> int:
    try:
        nc = await nats.connect(url, connect_timeout=1, max_reconnect_attempts=0)
    except Exception:
        return -1
    try:
        return int((await nc.jetstream().stream_info(stream)).state.messages)
    except Exception:
        return -1
    finally:
        await nc.close()


def fault_run(
    container: Container, server: NatsServer, database_url: str, changes: int, kills: int
) -> None:
    empty(container)
    config = config_for(
        server.url, lease_seconds=2.0, ack_timeout_seconds=1.0, batch_size=500, poll_seconds=0.02
    )
    rng = random.Random(7)
    # spread the changes over the kills (each costs a lease and a process start)
    rate = changes / (kills * 3.5)
    writer = threading.Thread(target=throttled_writer, args=(container, changes, rate, 20))
    started = time.perf_counter()
    relay = relay_process(database_url, config)
    writer.start()
    restarts = 0
    for kill in range(kills):
        time.sleep(rng.uniform(1.0, 2.5))
        relay.send_signal(signal.SIGKILL)
        relay.wait(10)
        if kill % 7 == 3:  # the broker goes away too, and comes back
            server.stop()
            relay = relay_process(database_url, config)
            time.sleep(2)
            server.start()
            restarts += 1
        else:
            relay = relay_process(database_url, config)
    writer.join()
    deadline = time.monotonic() + 600
    while asyncio.run(stored(server.url, config.stream)) < changes and time.monotonic() < deadline:
        time.sleep(0.5)
    stop(relay)
    took = time.perf_counter() - started
    items = outbox_items(container)
    received = asyncio.run(read_stream(server.url, config, timeout=600))
    try:
        check_delivery(items, received)
        verdict = "every change arrived once, in order per customer"
    except AssertionError as exc:
        verdict = f"FAILED: {exc}"
    print(
        f"fault run: {len(items):,} changes, {kills} SIGKILLs of the relay, {restarts} "
        f"broker restarts, {took:.0f} s: {len(received):,} in the stream; {verdict}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--fault-changes", type=int, default=100_000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--skip-fault", action="store_true")
    parser.add_argument("--only-fault", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    server_url = os.environ.get(
        "CUSTMASTER_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    database_url = scratch_database(server_url)
    container = build_container(Settings(database_url=database_url), migrate=True)
    try:
        with tempfile.TemporaryDirectory() as store, NatsServer(Path(store)) as server:
            print(f"nats-server {server.url}, database {BENCH_DB}", flush=True)
            if not args.only_fault:
                if not args.skip_throughput:
                    throughput(container, server.url, args.events)
                latency(container, server.url, database_url, args.rate, args.seconds)
            if not args.skip_fault:
                fault_run(container, server, database_url, args.fault_changes, args.kills)
    finally:
        container.engine.dispose()
        drop_database(server_url)


if __name__ == "__main__":
    main()
