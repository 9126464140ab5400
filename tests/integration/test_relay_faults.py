"""Fault run (bounded, loopback): a stream of changes is committed while the relay
process is killed with SIGKILL again and again and the broker (a nats-server of the
test's own) is stopped and restarted. Every committed change arrives, each customer's in
commit order, and the stream holds each event once, under its own id.

bench/relay.py runs the same with 100,000 changes and 20 kills."""

from __future__ import annotations

import asyncio
import os
import random
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nats
import pytest

from custmaster.bootstrap import Container
from custmaster.services.ports import FeedItem, FeedPosition
from custmaster.services.relay.config import RelayConfig
from tests.conftest import clean
from tests.integration.relay_support import (
    Received,
    check_delivery,
    outbox_items,
    read_stream,
    unique_config,
    write_changes,
)
from tests.nats_server import NatsServer

SRC = Path(__file__).resolve().parents[2] / "src"
CHANGES = 5000
KILLS = 6


def start_relay(database_url: str, config: RelayConfig) -> subprocess.Popen[bytes]:
    """``python -m custmaster.cli.app relay`` as a process of its own (SIGKILL is real)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "CUSTMASTER_RELAY_STREAM": config.stream,
        "CUSTMASTER_RELAY_SUBJECT_PREFIX": config.subject_prefix,
        "CUSTMASTER_RELAY_ACK_TIMEOUT_SECONDS": "1",
        "CUSTMASTER_RELAY_POLL_SECONDS": "0.02",
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
        "200",
    ]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)


def wait_started(relay: subprocess.Popen[bytes], seconds: float) -> None:
    """Wait for the relay's first line, printed once its SIGTERM handler is in place (a
    SIGTERM before that, while it still imports, ends it as any process: exit -15)."""
    assert relay.stdout is not None
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        assert left > 0, "the relay did not start"
        ready, _, _ = select.select([relay.stdout], [], [], min(left, 0.5))
        if ready:
            line = relay.stdout.readline()
            assert line, f"the relay ended before it started (exit {relay.poll()})"
            if line.startswith(b"relay "):
                return


def reap(relay: subprocess.Popen[bytes], seconds: float) -> None:
    relay.wait(seconds)
    if relay.stdout is not None:
        relay.stdout.close()


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


def test_kills_and_a_broker_restart_lose_and_reorder_nothing(
    container: Container, own_nats: NatsServer
) -> None:
    clean(container)
    config = unique_config(own_nats.url, lease_seconds=2.0, ack_timeout_seconds=1.0)
    url = container.settings.database_url
    rng = random.Random(20)
    writer = threading.Thread(
        target=write_changes, args=(container, CHANGES, 50), kwargs={"per_commit": 5}
    )
    relay = start_relay(url, config)
    writer.start()
    try:
        for kill in range(KILLS):
            time.sleep(rng.uniform(0.5, 1.5))
            relay.send_signal(signal.SIGKILL)
            reap(relay, 10)
            if kill == KILLS // 2:  # the broker goes away too, and comes back
                own_nats.stop()
                relay = start_relay(url, config)
                time.sleep(1.5)
                own_nats.start()
            else:
                relay = start_relay(url, config)
        writer.join(120)
        assert not writer.is_alive()
        deadline = time.monotonic() + 120
        while asyncio.run(stored(own_nats.url, config.stream)) < CHANGES:
            assert time.monotonic() < deadline, "the relay did not catch up"
            assert relay.poll() is None, "the relay process died"
            time.sleep(0.2)
        # the stream may hold every event before the last relay is up: stop it once it runs
        wait_started(relay, 60)
    finally:
        relay.send_signal(signal.SIGTERM)
        try:
            reap(relay, 20)
        except subprocess.TimeoutExpired:
            relay.kill()
            reap(relay, 10)
        writer.join(120)

    items = outbox_items(container)
    assert len(items) == CHANGES
    received = asyncio.run(read_stream(own_nats.url, config))
    check_delivery(items, received)
    assert relay.returncode == 0  # stopped cleanly by SIGTERM


def test_the_fault_run_checks_can_fail() -> None:
    """check_delivery refuses a lost event, a reordered pair and a renamed duplicate."""

    def item(n: int, subject: str) -> FeedItem:
        envelope = {"id": f"id{n}", "subject": subject}
        return FeedItem(FeedPosition(0, n), envelope)

    items = [item(1, "a"), item(2, "a"), item(3, "b")]

    def got(*ns: int, rename: bool = False) -> list[Received]:
        out = [Received("s", f"id{n}", items[n - 1].envelope) for n in ns]
        if rename:
            out.append(Received("s", "other", {"id": "other", "subject": "a"}))
        return out

    check_delivery(items, got(1, 3, 2))  # b may come between: order is per subject
    for wrong in (got(1, 2), got(2, 1, 3), got(1, 2, 3, rename=True)):
        with pytest.raises(AssertionError):
            check_delivery(items, wrong)
