"""Outbound sync against a real local HTTP receiver implementing a target's
upsert-by-external-id contract: event-driven upserts, dry run, pause and catch-up,
retries and the dead-letter list, the initial sync, record filters and conflict rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from custmaster.bootstrap import Container
from custmaster.cli.app import app as cli
from custmaster.services.sync.adapter import HttpUpsertAdapter
from custmaster.services.sync.mapping import (
    MappingError,
    SyncMapping,
    load_mapping,
    parse_mapping,
    shipped_examples,
)
from custmaster.services.sync.run import SyncReport, initial_sync, retry_dead_letters, run_target
from tests.factories import create, minimal
from tests.hub.conftest import wait_for_outbox
from tests.receiver import Answer, Receiver

API = "/api/v1"
TARGET = "erp_test"


def mapping_data(base_url: str, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": TARGET,
        "system": "legacy_erp",
        "object": "customers",
        "adapter": {
            "kind": "http_upsert",
            "base_url": base_url,
            "method": "PUT",
            "path": "/{object}/{external_id}",
        },
        "upsert_key": {"source": "id", "target": "custmaster_id"},
        "record_filter": {"status": ["active"]},
        "retries": {"attempts": 3, "backoff_seconds": [0]},
        "fields": {
            "number": {"from": "number", "direction": "outbound"},
            "name": "name",
            "phone": {"from": "phone"},
            "billing_city": {"from": "addresses[billing].city", "transform": ["upper"]},
            "notes": {"from": "notes", "conflict": "target"},
        },
    }
    data.update(extra)
    return data


@pytest.fixture
def target(hub_settings: Path, receiver: Receiver) -> SyncMapping:
    (hub_settings / f"{TARGET}.yaml").write_text(yaml.safe_dump(mapping_data(receiver.url)))
    return load_mapping(hub_settings / f"{TARGET}.yaml")


def sync(container: Container, mapping: SyncMapping, **kwargs: Any) -> SyncReport:
    wait_for_outbox(container)
    adapter = HttpUpsertAdapter(mapping)
    try:
        return run_target(container.uow, mapping, adapter, sleep=lambda _: None, **kwargs)
    finally:
        adapter.close()


def with_address(name: str, email: str, city: str = "Springfield", **extra: Any) -> dict[str, Any]:
    return minimal(
        name,
        email,
        addresses=[
            {
                "type": "billing",
                "lines": ["1 Main St"],
                "city": city,
                "postal_code": "12345",
                "country": "US",
                "is_primary": True,
            }
        ],
        **extra,
    )


def test_changes_are_upserted_by_external_id(
    client: TestClient, container: Container, target: SyncMapping, receiver: Receiver
) -> None:
    one = create(client, with_address("Sync One Inc", "ap@sync1.example", notes="first"))
    two = create(client, with_address("Sync Two Inc", "ap@sync2.example", city="Shelbyville"))
    report = sync(container, target)
    assert report.sent == 2 and report.dead_lettered == 0
    assert receiver.records[one["id"]] == {
        "custmaster_id": one["id"],
        "number": one["number"],
        "name": "Sync One Inc",
        "phone": None,
        "billing_city": "SPRINGFIELD",
        "notes": "first",
    }
    assert receiver.records[two["id"]]["billing_city"] == "SHELBYVILLE"
    assert sync(container, target).sent == 0  # the cursor moved: nothing again
    # a change of a mapped field is sent; of a field the target owns, not
    changed = client.patch(f"{API}/customers/{one['id']}", json={"name": "Sync One Renamed"})
    assert changed.status_code == 200, changed.text
    notes = client.patch(f"{API}/customers/{two['id']}", json={"notes": "target owns this"})
    assert notes.status_code == 200, notes.text
    report = sync(container, target)
    assert report.sent == 1 and report.skipped == 1
    assert receiver.records[one["id"]]["name"] == "Sync One Renamed"
    assert "notes" not in receiver.seen[-1].json()  # conflict: target, after creation
    assert receiver.records[two["id"]].get("notes") is None
    status = client.get(f"{API}/sync/targets/{TARGET}")
    assert status.status_code == 200, status.text
    assert status.json()["sent"] == 3 and status.json()["links"] == 2
    assert status.json()["behind"] == 0


def test_dry_run_sends_nothing_and_keeps_the_cursor(
    client: TestClient, container: Container, target: SyncMapping, receiver: Receiver
) -> None:
    made = create(client, with_address("Dry Run Co", "ap@dry.example"))
    report = sync(container, target, dry_run=True)
    assert [key for key, _ in report.would_send] == [made["id"]]
    assert report.would_send[0][1]["name"] == "Dry Run Co"
    assert receiver.seen == []
    assert sync(container, target).sent == 1
    assert made["id"] in receiver.records


def test_pause_then_catch_up_with_the_latest_state(
    client: TestClient, container: Container, target: SyncMapping, receiver: Receiver
) -> None:
    made = create(client, with_address("Paused Co", "ap@paused.example"))
    paused = client.post(f"{API}/sync/targets/{TARGET}/pause")
    assert paused.status_code == 200 and paused.json()["paused"] is True
    for i in range(3):
        changed = client.patch(f"{API}/customers/{made['id']}", json={"name": f"Paused Co {i}"})
        assert changed.status_code == 200, changed.text
    other = create(client, with_address("Also Waiting Co", "ap@waiting.example"))
    assert sync(container, target).paused
    assert receiver.seen == []
    behind = client.get(f"{API}/sync/targets/{TARGET}").json()["behind"]
    assert behind >= 5
    resumed = client.post(f"{API}/sync/targets/{TARGET}/resume")
    assert resumed.json()["paused"] is False
    report = sync(container, target)
    assert report.sent == 2  # one upsert per customer: its latest state
    assert receiver.records[made["id"]]["name"] == "Paused Co 2"
    assert other["id"] in receiver.records
    order = [s.json()["custmaster_id"] for s in receiver.seen]
    assert order == [made["id"], other["id"]]  # in the order of their last change


def test_retries_then_the_dead_letter_list(
    client: TestClient, container: Container, target: SyncMapping, receiver: Receiver
) -> None:
    flaky = create(client, with_address("Flaky Target Co", "ap@flakyt.example"))
    refused = create(client, with_address("Refused Co", "ap@refused.example"))
    down = create(client, with_address("Down Co", "ap@down.example"))
    receiver.script(f"/customers/{flaky['id']}", Answer(503), Answer(502))  # then 200
    receiver.defaults[f"/customers/{refused['id']}"] = Answer(400, body=b"bad record")
    receiver.defaults[f"/customers/{down['id']}"] = Answer(503)
    report = sync(container, target)
    assert report.sent == 1 and report.dead_lettered == 2
    assert flaky["id"] in receiver.records
    assert len(receiver.requests_to(f"/customers/{flaky['id']}")) == 3
    assert len(receiver.requests_to(f"/customers/{refused['id']}")) == 1  # 4xx: no retry
    assert len(receiver.requests_to(f"/customers/{down['id']}")) == 3
    letters = client.get(f"{API}/sync/targets/{TARGET}/dead-letters").json()["items"]
    assert {(d["customer_id"], d["attempts"]) for d in letters} == {
        (refused["id"], 1),
        (down["id"], 3),
    }
    assert "bad record" in next(d for d in letters if d["customer_id"] == refused["id"])["error"]
    # the cursor went on: the next run does not resend them
    assert sync(container, target).sent == 0
    # fixed on the target's side: retrying the dead letters sends the current state
    receiver.defaults.clear()
    adapter = HttpUpsertAdapter(target)
    retried = retry_dead_letters(container.uow, target, adapter, sleep=lambda _: None)
    adapter.close()
    assert retried.sent == 2
    assert client.get(f"{API}/sync/targets/{TARGET}/dead-letters").json()["items"] == []
    assert {refused["id"], down["id"]} <= set(receiver.records)


def test_initial_sync_with_filter_and_dry_run(
    client: TestClient, container: Container, hub_settings: Path, receiver: Receiver
) -> None:
    us = [create(client, with_address(f"Initial US {i}", f"ap@ius{i}.example")) for i in range(5)]
    gb = create(client, with_address("Initial GB", "ap@igb.example", owning_entity="GB01"))
    mapping = parse_mapping(
        mapping_data(
            receiver.url,
            record_filter={"owning_entity": ["US01"]},
            initial={"master": "custmaster", "batch_size": 2},
        )
    )
    wait_for_outbox(container)
    adapter = HttpUpsertAdapter(mapping)
    try:
        dry = initial_sync(container.uow, mapping, adapter, dry_run=True)
        assert sorted(k for k, _ in dry.would_send) == sorted(c["id"] for c in us)
        assert receiver.seen == []
        done = initial_sync(container.uow, mapping, adapter)
        assert done.sent == 5 and done.skipped == 1
        assert set(receiver.records) == {c["id"] for c in us}
        assert gb["id"] not in receiver.records
        # the cursor starts after the events the initial sync covered
        assert run_target(container.uow, mapping, adapter).sent == 0
        # master: target sends nothing
        target_master = parse_mapping(
            mapping_data(receiver.url, name="target_master", initial={"master": "target"})
        )
        assert initial_sync(container.uow, target_master, adapter).sent == 0
        assert len(receiver.seen) == 5
    finally:
        adapter.close()


def test_the_cli_runs_and_reports(
    client: TestClient,
    container: Container,
    target: SyncMapping,
    hub_settings: Path,
    receiver: Receiver,
) -> None:
    made = create(client, with_address("Cli Sync Co", "ap@clisync.example"))
    wait_for_outbox(container)
    url = str(container.engine.url.render_as_string(hide_password=False))
    common = ["--targets-dir", str(hub_settings), "--database-url", url]
    dry = CliRunner().invoke(cli, ["sync", "run", TARGET, "--dry-run", *common])
    assert dry.exit_code == 0, dry.output
    assert f"would upsert {made['id']}" in dry.output and receiver.seen == []
    ran = CliRunner().invoke(cli, ["sync", "run", *common])
    assert ran.exit_code == 0, ran.output
    assert "sent 1" in ran.output and made["id"] in receiver.records
    paused = CliRunner().invoke(cli, ["sync", "pause", TARGET, *common])
    assert paused.exit_code == 0, paused.output
    status = CliRunner().invoke(cli, ["sync", "status", *common])
    assert f"{TARGET}: paused" in status.output


def test_the_shipped_examples_are_valid() -> None:
    examples = shipped_examples()
    assert {"salesforce_account", "d365_customers_v3", "generic_erp"} <= set(examples)
    for path in examples.values():
        mapping = load_mapping(path, expand=False)
        assert mapping.fields and mapping.key_target


def test_a_bad_mapping_lists_every_problem() -> None:
    with pytest.raises(MappingError) as caught:
        parse_mapping(
            {
                "name": "x",
                "system": "y",
                "object": "z",
                "colour": 1,
                "fields": {
                    "A": {"from": "nmae"},
                    "B": {"from": "name", "direction": "sideways", "transform": ["shout"]},
                },
            }
        )
    text = str(caught.value)
    for expected in ("colour", "fields.A.from", "fields.B.direction", "shout", "upsert_key"):
        assert expected in text
