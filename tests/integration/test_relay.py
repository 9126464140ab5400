"""The outbox relay against a real NATS JetStream, on SQLite and PostgreSQL: what the API
commits arrives in the stream in order with its id; republishing adds nothing; leases
keep one relay per partition; a broker outage makes events wait; the status shows it."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from custmaster.api.app import create_app
from custmaster.bootstrap import Container
from custmaster.cli.app import app as cli
from custmaster.services.ports import FeedPosition
from custmaster.services.relay.config import RelayConfig
from custmaster.services.relay.runner import Relay
from tests.conftest import clean, new_user
from tests.factories import minimal
from tests.integration.relay_support import (
    check_delivery,
    delete_stream,
    outbox_items,
    read_stream,
    unique_config,
    wait_visible,
    write_changes,
)
from tests.nats_server import NatsServer


@pytest.fixture(autouse=True)
def empty_tables(container: Container) -> None:
    clean(container)


@pytest.fixture
def config(nats_url: str, container: Container) -> Iterator[RelayConfig]:
    made = unique_config(nats_url)
    before = container.settings
    container.settings = before.model_copy(update={"relay_stream": made.stream})
    yield made
    container.settings = before
    asyncio.run(delete_stream(nats_url, made.stream))


def relay_until_idle(container: Container, config: RelayConfig, timeout: float = 60) -> Relay:
    relay = Relay(container.uow, config)

    async def run() -> None:
        async with asyncio.timeout(timeout):
            await relay.run(until_idle=True)

    asyncio.run(run())
    return relay


def test_what_the_api_commits_arrives_in_order_with_its_id(
    client: TestClient, container: Container, config: RelayConfig, nats_url: str
) -> None:
    ids = [
        client.post("/api/v1/customers", json=minimal(name=f"Relay {n} GmbH")).json()["id"]
        for n in range(3)
    ]
    for n in range(2):
        assert (
            client.patch(f"/api/v1/customers/{ids[0]}", json={"notes": f"n{n}"}).status_code == 200
        )
    assert client.post(f"/api/v1/customers/{ids[1]}/deactivate").status_code == 200
    wait_visible(container, lambda items: items[-1].envelope["subject"] == ids[1])

    relay = relay_until_idle(container, config)

    items = outbox_items(container)
    received = asyncio.run(read_stream(nats_url, config))
    assert [r.msg_id for r in received] == [str(i.envelope["id"]) for i in items]
    assert [r.envelope for r in received] == [i.envelope for i in items]
    prefix = config.subject_prefix
    assert [r.subject for r in received if r.envelope["subject"] == ids[0]] == [
        f"{prefix}.customer.created",
        f"{prefix}.customer.updated",
        f"{prefix}.customer.updated",
    ]
    assert f"{prefix}.customer.deactivated" in {r.subject for r in received}
    assert relay.published == len(items)

    status = client.get("/api/v1/relay/status")
    assert status.status_code == 200, status.text
    body = status.json()
    assert body["stream"] == config.stream
    assert body["waiting"] == 0 and body["published_total"] == len(items)
    [partition] = body["partitions"]
    assert partition["cursor"] == items[-1].position.encode()
    assert partition["last_event_id"] == items[-1].envelope["id"]
    assert partition["active"] is False  # released when it stopped


def test_republishing_the_tail_adds_nothing_to_the_stream(
    container: Container, config: RelayConfig, nats_url: str
) -> None:
    write_changes(container, 60, customers=4)
    wait_visible(container, lambda items: len(items) == 60)
    relay_until_idle(container, config)
    # a relay killed before recording its progress: the cursor is back at the start
    uow = container.uow()
    with uow:
        state = uow.relay.claim(
            config.stream,
            0,
            "rewinder",
            datetime.now(UTC),
            datetime.now(UTC) + timedelta(seconds=1),
        )
        assert state is not None
        assert uow.relay.advance(
            config.stream, 0, "rewinder", FeedPosition(), 0, None, datetime.now(UTC), 0.0
        )
        uow.relay.release(config.stream, 0, "rewinder")

    second = relay_until_idle(container, config)

    assert second.published == 60  # acknowledged again (as duplicates) ...
    received = asyncio.run(read_stream(nats_url, config))
    check_delivery(outbox_items(container), received)  # ... and stored once
    assert len(received) == 60


def test_one_relay_holds_a_partition_until_its_lease_runs_out(
    container: Container, config: RelayConfig
) -> None:
    now = datetime.now(UTC)
    uow = container.uow()
    with uow:
        uow.relay.ensure(config.stream, 2)
        assert uow.relay.claim(config.stream, 0, "a", now, now + timedelta(seconds=10))
        assert uow.relay.claim(config.stream, 0, "b", now, now + timedelta(seconds=10)) is None
        assert uow.relay.claim(config.stream, 1, "b", now, now + timedelta(seconds=10))
        later = now + timedelta(seconds=11)
        assert uow.relay.claim(config.stream, 0, "b", later, later + timedelta(seconds=10))
        # "a" lost it: its progress is refused
        moved = uow.relay.advance(config.stream, 0, "a", FeedPosition(1, 1), 1, None, later, 0)
        assert moved is False
        assert [s.holder for s in uow.relay.states(config.stream)] == ["b", "b"]


def test_partitions_split_the_events_by_subject_and_keep_each_ones_order(
    container: Container, nats_url: str
) -> None:
    config = unique_config(nats_url, partitions=3)
    try:
        write_changes(container, 90, customers=9, per_commit=7)
        wait_visible(container, lambda items: len(items) == 90)
        relays = [
            Relay(
                container.uow,
                unique_config(
                    nats_url,
                    **{
                        **{
                            k: getattr(config, k)
                            for k in ("stream", "subject_prefix", "partitions")
                        },
                        "owned": (p,),
                    },
                ),
            )
            for p in range(3)
        ]

        async def run_all() -> None:
            async with asyncio.timeout(60):
                await asyncio.gather(*(r.run(until_idle=True) for r in relays))

        asyncio.run(run_all())
        assert sorted(r.published for r in relays) != [0, 0, 90]  # each did a share
        assert sum(r.published for r in relays) == 90
        check_delivery(outbox_items(container), asyncio.run(read_stream(nats_url, config)))
    finally:
        asyncio.run(delete_stream(nats_url, config.stream))


def test_a_broker_outage_makes_events_wait_then_arrive(
    container: Container, own_nats: NatsServer
) -> None:
    config = unique_config(own_nats.url)
    write_changes(container, 40, customers=5)

    async def scenario() -> Relay:
        relay = Relay(container.uow, config)
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        async with asyncio.timeout(60):
            while relay.published < 40:
                await asyncio.sleep(0.05)
            await asyncio.to_thread(own_nats.stop)
            await asyncio.to_thread(write_changes, container, 50, 5)
            await asyncio.sleep(1.0)  # the relay tries and fails meanwhile
            assert relay.published == 40
            await asyncio.to_thread(own_nats.start)
            while relay.published < 90:
                await asyncio.sleep(0.05)
        stop.set()
        await task
        return relay

    asyncio.run(scenario())
    check_delivery(outbox_items(container), asyncio.run(read_stream(own_nats.url, config)))


def test_relay_command_and_status(container: Container, config: RelayConfig, nats_url: str) -> None:
    write_changes(container, 30, customers=3)
    wait_visible(container, lambda items: len(items) == 30)
    url = container.settings.database_url
    env = {"CUSTMASTER_RELAY_STREAM": config.stream}
    runner = CliRunner()
    before = runner.invoke(cli, ["relay", "status", "--database-url", url], env=env)
    assert before.exit_code == 0, before.output
    assert "no relay has run" in before.output

    ran = runner.invoke(
        cli,
        [
            "relay",
            "--database-url",
            url,
            "--nats-url",
            nats_url,
            "--until-idle",
            "--lease-seconds",
            "10",
        ],
        env={**env, "CUSTMASTER_RELAY_SUBJECT_PREFIX": config.subject_prefix},
    )
    assert ran.exit_code == 0, ran.output
    assert "30 events published" in ran.output

    shown = runner.invoke(cli, ["relay", "status", "--database-url", url, "--json"], env=env)
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.output)
    assert data["published_total"] == 30 and data["waiting"] == 0
    assert data["partitions"][0]["cursor"] == outbox_items(container)[-1].position.encode()
    assert len(asyncio.run(read_stream(nats_url, config))) == 30


def test_the_relay_status_is_for_operators(client_as: object, config: RelayConfig) -> None:
    viewer = client_as("viewer")  # type: ignore[operator]
    assert viewer.get("/api/v1/relay/status").status_code == 403


def test_the_example_consumer_receives_a_change_from_the_tour(
    client: TestClient, container: Container, config: RelayConfig, nats_url: str
) -> None:
    acme = client.post("/api/v1/customers", json=minimal("Acme Corporation", "ap@acme.example"))
    customer = acme.json()
    patched = client.patch(f"/api/v1/customers/{customer['id']}", json={"notes": "prefers email"})
    assert patched.status_code == 200, patched.text
    wait_visible(
        container, lambda items: items[-1].envelope["type"] == "custmaster.customer.updated"
    )
    relay_until_idle(container, config)

    script = Path(__file__).resolve().parents[2] / "examples" / "relay_consumer.py"
    command = [
        sys.executable,
        str(script),
        "--url",
        nats_url,
        "--stream",
        config.stream,
        "--subjects",
        f"{config.subject_prefix}.customer.>",
        "--durable",
        "tour",
        "--timeout",
        "2",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"custmaster.customer.created {customer['id']} {customer['number']}",
        f"custmaster.customer.updated {customer['id']} {customer['number']} changed: notes",
    ]


def test_the_relay_runs_inside_serve_when_asked(
    container: Container, config: RelayConfig, nats_url: str
) -> None:
    before = container.settings
    container.settings = before.model_copy(
        update={
            "relay_in_serve": True,
            "nats_url": nats_url,
            "relay_stream": config.stream,
            "relay_subject_prefix": config.subject_prefix,
            "relay_lease_seconds": 3,
            "relay_ack_timeout_seconds": 1,
        }
    )
    try:
        key = new_user(container, "tester", ["admin"])
        with TestClient(create_app(container)) as served:
            served.headers["Authorization"] = f"Bearer {key}"
            made = served.post(
                "/api/v1/legal-entities",
                json={"code": "US01", "name": "Acme US", "country": "US", "currency": "USD"},
            )
            assert made.status_code == 201, made.text
            deadline = time.monotonic() + 30
            while served.get("/api/v1/relay/status").json()["published_total"] < 2:
                assert time.monotonic() < deadline, "the serving process did not relay"
                time.sleep(0.1)
    finally:
        container.settings = before
    received = asyncio.run(read_stream(nats_url, config))
    assert [r.envelope["type"] for r in received] == [
        "custmaster.user.created",
        "custmaster.legal_entity.created",
    ]
