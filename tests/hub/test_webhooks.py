"""Webhooks through the HTTP API and the delivery worker, against a real local HTTP
receiver: Standard Webhooks signatures (verified here from the spec, not with the
signer), rotation, the retry schedule under a fake clock, 429 + Retry-After, timeouts,
410, redirects, private targets, the owner's scope, the delivery log and redelivery."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from custmaster.bootstrap import Container
from custmaster.cli.app import app as cli
from custmaster.services.recording import utcnow
from custmaster.services.webhooks.deliver import DeliveryConfig, RunReport, deliver_due
from custmaster.services.webhooks.schedule import JITTER, SCHEDULE
from tests.factories import create, minimal
from tests.hub.conftest import FakeClock, wait_for_outbox
from tests.receiver import Answer, Receiver, Seen

API = "/api/v1"
MARKER = "Zx9DE01OnlyQv"


def verify(secret: str, seen: Seen) -> bool:
    """The Standard Webhooks check a receiver makes, written from the spec."""
    assert secret.startswith("whsec_")
    key = base64.b64decode(secret[len("whsec_") :])
    signed = f"{seen.headers['webhook-id']}.{seen.headers['webhook-timestamp']}.".encode()
    expected = base64.b64encode(hmac.new(key, signed + seen.body, hashlib.sha256).digest())
    for part in seen.headers["webhook-signature"].split(" "):
        version, _, signature = part.partition(",")
        if version == "v1" and hmac.compare_digest(signature.encode(), expected):
            return True
    return False


def subscribe(client: TestClient, url: str, **extra: Any) -> dict[str, Any]:
    """A subscription to customer events (the reference data the fixtures seed may still
    be in flight on PostgreSQL when it is made, and reach a "*" subscription)."""
    extra.setdefault("event_types", ["custmaster.customer.*"])
    made = client.post(f"{API}/webhooks", json={"url": url, **extra})
    assert made.status_code == 201, made.text
    return made.json()  # type: ignore[no-any-return]


def run(container: Container, clock: FakeClock, **config: Any) -> RunReport:
    settings = {"allow_private": True, "concurrency": 2, "timeout_seconds": 5.0, **config}
    wait_for_outbox(container)
    return deliver_due(container.uow, DeliveryConfig(**settings), now=clock, rng=random.Random(7))


def deliveries(client: TestClient, hook: dict[str, Any]) -> list[dict[str, Any]]:
    found = client.get(f"{API}/webhooks/{hook['id']}/deliveries")
    assert found.status_code == 200, found.text
    return found.json()["items"]  # type: ignore[no-any-return]


def test_a_change_arrives_signed_and_verifies_with_the_secret(
    client: TestClient,
    container: Container,
    hub_settings: Path,
    receiver: Receiver,
    clock: FakeClock,
) -> None:
    hook = subscribe(client, f"{receiver.url}/hook", event_types=["custmaster.customer.*"])
    assert hook["secret"].startswith("whsec_")
    assert "secret" not in client.get(f"{API}/webhooks/{hook['id']}").json()
    customer = create(client, minimal("Signed Goods Ltd", "ap@signed.example"))
    report = run(container, clock)
    assert report.succeeded == 1
    (seen,) = receiver.requests_to("/hook")
    assert verify(hook["secret"], seen)
    assert not verify("whsec_" + base64.b64encode(b"x" * 32).decode(), seen)
    body = seen.json()
    assert body["type"] == "custmaster.customer.created"
    assert body["subject"] == customer["id"]
    assert seen.headers["webhook-id"] == body["id"]
    assert int(seen.headers["webhook-timestamp"]) == int(clock.now.timestamp())
    # a tampered body fails the check
    assert not verify(hook["secret"], Seen("POST", "/hook", seen.headers, seen.body + b" "))
    log = deliveries(client, hook)
    assert [d["status"] for d in log] == ["succeeded"]
    assert log[0]["webhook_id"] == body["id"]
    # nothing new: nothing sent
    assert run(container, clock).attempted == 0


def test_event_type_filter(
    client: TestClient,
    container: Container,
    hub_settings: Path,
    receiver: Receiver,
    clock: FakeClock,
) -> None:
    hook = subscribe(client, f"{receiver.url}/created", event_types=["custmaster.customer.created"])
    made = create(client, minimal("Filter Co", "ap@filter.example"))
    changed = client.patch(f"{API}/customers/{made['id']}", json={"notes": "n"})
    assert changed.status_code == 200, changed.text
    run(container, clock)
    types = [s.json()["type"] for s in receiver.requests_to("/created")]
    assert types == ["custmaster.customer.created"]
    assert len(deliveries(client, hook)) == 1


def test_rotation_signs_with_both_secrets_until_the_old_one_expires(
    client: TestClient,
    container: Container,
    hub_settings: Path,
    receiver: Receiver,
    clock: FakeClock,
) -> None:
    hook = subscribe(client, f"{receiver.url}/rot")
    rotated = client.post(f"{API}/webhooks/{hook['id']}/rotate-secret", json={"keep_old_hours": 1})
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["secret"]
    assert new_secret != hook["secret"]
    create(client, minimal("Rotation One", "ap@rot1.example"))
    run(container, clock)
    (first,) = receiver.requests_to("/rot")
    assert len(first.headers["webhook-signature"].split(" ")) == 2
    assert verify(new_secret, first) and verify(hook["secret"], first)
    clock.advance(timedelta(hours=2))  # the old secret has expired
    create(client, minimal("Rotation Two", "ap@rot2.example"))
    run(container, clock)
    second = receiver.requests_to("/rot")[1]
    assert len(second.headers["webhook-signature"].split(" ")) == 1
    assert verify(new_secret, second) and not verify(hook["secret"], second)


def test_the_retry_schedule_with_jitter_then_failed(
    client: TestClient,
    container: Container,
    hub_settings: Path,
    receiver: Receiver,
    clock: FakeClock,
) -> None:
    receiver.defaults["/down"] = Answer(500)
    hook = subscribe(client, f"{receiver.url}/down")
    create(client, minimal("Retry Co", "ap@retry.example"))
    times = [clock.now]
    for _ in range(len(SCHEDULE) + 3):
        run(container, clock, disable_after=timedelta(days=30))
        (delivery,) = deliveries(client, hook)
        if delivery["next_attempt_at"] is None:
            break
        nxt = delivery["next_attempt_at"]
        clock.to(clock.now.fromisoformat(nxt))
        times.append(clock.now)
    (delivery,) = deliveries(client, hook)
    assert delivery["status"] == "failed"
    assert delivery["attempts"] == len(SCHEDULE) + 1
    assert len(receiver.requests_to("/down")) == len(SCHEDULE) + 1
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(gaps) == len(SCHEDULE)
    for gap, planned in zip(gaps, SCHEDULE, strict=True):
        assert planned * (1 - JITTER) <= gap <= planned * (1 + JITTER)
    assert timedelta(hours=20) < sum(gaps, timedelta()) < timedelta(hours=34)
    detail = client.get(f"{API}/webhooks/{hook['id']}/deliveries/{delivery['id']}").json()
    assert [a["status_code"] for a in detail["attempt_log"]] == [500] * (len(SCHEDULE) + 1)
    # a failed delivery can be sent again by hand: same webhook-id
    receiver.defaults["/down"] = Answer(204)
    again = client.post(f"{API}/webhooks/{hook['id']}/deliveries/{delivery['id']}/redeliver")
    assert again.status_code == 202, again.text
    run(container, clock)
    last = receiver.requests_to("/down")[-1]
    assert last.headers["webhook-id"] == delivery["webhook_id"]
    assert deliveries(client, hook)[0]["status"] == "succeeded"


def test_429_retry_after_is_honoured(
    client: TestClient,
    container: Container,
    hub_settings: Path,
    receiver: Receiver,
    clock: FakeClock,
) -> None:
    receiver.script("/busy", Answer(429, {"Retry-After": "120"}))
    hook = subscribe(client, f"{receiver.url}/busy")
    create(client, minimal("Busy Co", "ap@busy.example"))
    run(container, clock)
    (delivery,) = deliveries(client, hook)
    assert delivery["status"] == "pending" and delivery["last_status_code"] == 429
    due = clock.now.fromisoformat(delivery["next_attempt_at"])
    assert due - clock.now == timedelta(seconds=120)
    clock.advance(timedelta(seconds=119))
    assert run(container, clock).attempted == 0  # not before Retry-After
    clock.advance(timedelta(seconds=1))
    assert run(container, clock).succeeded == 1
    assert len(receiver.requests_to("/busy")) == 2


def test_a_timeout_is_retried(
    client: TestClient,
    container: Container,
    hub_settings: Path,
    receiver: Receiver,
    clock: FakeClock,
) -> None:
    receiver.script("/slow", Answer(200, delay=1.5))
    hook = subscribe(client, f"{receiver.url}/slow")
    create(client, minimal("Slow Co", "ap@slow.example"))
    run(container, clock, timeout_seconds=0.3)
    (delivery,) = deliveries(client, hook)
    assert delivery["status"] == "pending"
    assert delivery["last_error"] == "timed out"
    clock.to(clock.now.fromisoformat(delivery["next_attempt_at"]))
    assert run(container, clock, timeout_seconds=0.3).succeeded == 1


def test_410_disables_the_endpoint_with_an_event(
    client: TestClient,
    container: Container,
    hub_settings: Path,
    receiver: Receiver,
    clock: FakeClock,
) -> None:
    receiver.defaults["/gone"] = Answer(410)
    hook = subscribe(client, f"{receiver.url}/gone")
    watcher = subscribe(client, f"{receiver.url}/watch", event_types=["custmaster.webhook.*"])
    create(client, minimal("Gone One", "ap@gone1.example"))
    create(client, minimal("Gone One Too", "ap@gone1b.example"))
    report = run(container, clock, concurrency=1)
    assert report.disabled and "410" in report.disabled[0]
    assert len(receiver.requests_to("/gone")) == 1  # nothing more once it said 410
    state = client.get(f"{API}/webhooks/{hook['id']}").json()
    assert state["status"] == "disabled" and "410" in state["disabled_reason"]
    wait_for_outbox(container)
    events = client.get(f"{API}/events").json()["items"]
    disabled = [e for e in events if e["type"] == "custmaster.webhook.disabled"]
    assert [e["subject"] for e in disabled] == [hook["id"]]
    # no further attempts; the owner's other subscription hears of it
    create(client, minimal("Gone Two", "ap@gone2.example"))
    run(container, clock)
    assert len(receiver.requests_to("/gone")) == 1
    for _ in range(5):  # queued once the outbox serves it (PostgreSQL: a moment later)
        if receiver.requests_to("/watch"):
            break
        run(container, clock)
    assert [s.json()["subject"] for s in receiver.requests_to("/watch")] == [hook["id"]]
    assert watcher["status"] == "active"
    # re-enabled: what was committed meanwhile goes out
    receiver.defaults["/gone"] = Answer(200)
    enabled = client.patch(f"{API}/webhooks/{hook['id']}", json={"enabled": True})
    assert enabled.json()["status"] == "active"
    clock.to(utcnow())  # re-enabling made the waiting deliveries due now
    run(container, clock)
    later = [s.json()["type"] for s in receiver.requests_to("/gone")[1:]]
    assert later == ["custmaster.customer.created"] * 2


def test_repeated_failure_disables_after_the_configured_time(
    client: TestClient,
    container: Container,
    hub_settings: Path,
    receiver: Receiver,
    clock: FakeClock,
) -> None:
    receiver.defaults["/flaky"] = Answer(503)
    hook = subscribe(client, f"{receiver.url}/flaky")
    create(client, minimal("Flaky Co", "ap@flaky.example"))
    for _ in range(6):
        report = run(container, clock, disable_after=timedelta(hours=1))
        if report.disabled:
            break
        (delivery,) = deliveries(client, hook)
        clock.to(clock.now.fromisoformat(delivery["next_attempt_at"]))
    assert report.disabled
    assert client.get(f"{API}/webhooks/{hook['id']}").json()["status"] == "disabled"
    wait_for_outbox(container)
    events = client.get(f"{API}/events").json()["items"]
    assert any(e["type"] == "custmaster.webhook.disabled" for e in events)


def test_redirects_are_not_followed(
    client: TestClient,
    container: Container,
    hub_settings: Path,
    receiver: Receiver,
    clock: FakeClock,
) -> None:
    receiver.defaults["/moved"] = Answer(307, {"Location": f"{receiver.url}/elsewhere"})
    hook = subscribe(client, f"{receiver.url}/moved")
    create(client, minimal("Moved Co", "ap@moved.example"))
    run(container, clock)
    assert len(receiver.requests_to("/moved")) == 1
    assert receiver.requests_to("/elsewhere") == []
    (delivery,) = deliveries(client, hook)
    assert delivery["status"] == "pending" and "not followed" in delivery["last_error"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/x",
        "http://10.1.2.3/x",
        "http://[::1]/x",
        "http://169.254.169.254/x",
        "ftp://example.com/x",
        "http://user:pw@example.com/x",
    ],
)
def test_private_and_odd_targets_are_refused(client: TestClient, url: str) -> None:
    refused = client.post(f"{API}/webhooks", json={"url": url})
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "url"


def test_private_targets_are_refused_at_delivery_too(
    client: TestClient,
    container: Container,
    hub_settings: Path,
    receiver: Receiver,
    clock: FakeClock,
) -> None:
    hook = subscribe(client, f"{receiver.url}/private")
    create(client, minimal("Private Co", "ap@private.example"))
    run(container, clock, allow_private=False)
    assert receiver.requests_to("/private") == []
    (delivery,) = deliveries(client, hook)
    assert "target refused" in delivery["last_error"]


def test_a_scoped_owner_receives_only_its_entities_data(
    client: TestClient,
    client_as: Any,
    container: Container,
    hub_settings: Path,
    receiver: Receiver,
    clock: FakeClock,
) -> None:
    gb = client_as("gb-viewer", roles=["viewer"], entities=["GB01"])
    gb_hook = subscribe(gb, f"{receiver.url}/gb")
    de_hook = subscribe(client, f"{receiver.url}/de", entities=["DE01"])
    refused = gb.post(f"{API}/webhooks", json={"url": f"{receiver.url}/x", "entities": ["DE01"]})
    assert refused.status_code == 403, refused.text
    overrides = {
        "GB01": {"credit_limit": "1000"},
        "DE01": {
            "credit_limit": "4242.42",
            "addresses": [
                {
                    "type": "billing",
                    "lines": [f"{MARKER} Strasse 1"],
                    "city": "Berlin",
                    "postal_code": "10115",
                    "country": "DE",
                    "is_primary": True,
                }
            ],
        },
    }
    made = create(
        client, minimal("Scoped Co", "ap@scoped.example", owning_entity="GB01", overrides=overrides)
    )
    create(client, minimal("Only US Co", "ap@onlyus.example"))
    run(container, clock)
    gb_seen = receiver.requests_to("/gb")
    assert len(gb_seen) == 2
    for seen in gb_seen:
        assert verify(gb_hook["secret"], seen)
        assert MARKER.encode() not in seen.body and b"4242.42" not in seen.body
    scoped = next(s.json() for s in gb_seen if s.json()["subject"] == made["id"])
    assert set(scoped["data"]["customer"]["overrides"]) == {"GB01"}
    # the unscoped admin's DE01-filtered subscription gets the DE01 customer, whole
    de_seen = receiver.requests_to("/de")
    assert [s.json()["subject"] for s in de_seen] == [made["id"]]
    assert MARKER.encode() in de_seen[0].body
    assert verify(de_hook["secret"], de_seen[0])


def test_a_subscription_is_its_owners_only(
    client: TestClient, client_as: Any, hub_settings: Path, receiver: Receiver
) -> None:
    hook = subscribe(client, f"{receiver.url}/mine")
    other = client_as("other-viewer", roles=["viewer"])
    assert other.get(f"{API}/webhooks/{hook['id']}").status_code == 404
    assert other.get(f"{API}/webhooks").json()["items"] == []
    assert other.delete(f"{API}/webhooks/{hook['id']}").status_code == 404
    assert [h["id"] for h in client.get(f"{API}/webhooks").json()["items"]] == [hook["id"]]
    assert client.delete(f"{API}/webhooks/{hook['id']}").status_code == 204
    assert client.get(f"{API}/webhooks/{hook['id']}").status_code == 404


def test_concurrent_delivery_of_many_events(
    client: TestClient,
    container: Container,
    hub_settings: Path,
    receiver: Receiver,
    clock: FakeClock,
) -> None:
    hook = subscribe(client, f"{receiver.url}/many")
    for i in range(12):
        create(client, minimal(f"Many {i} Ltd", f"ap@many{i}.example"))
    report = run(container, clock, concurrency=4)
    assert report.succeeded == 12
    ids = {s.headers["webhook-id"] for s in receiver.requests_to("/many")}
    assert len(ids) == 12
    assert all(verify(hook["secret"], s) for s in receiver.requests_to("/many"))
    assert json.loads(receiver.requests_to("/many")[0].body)["specversion"] == "1.0"


def test_a_failing_receiver_loses_nothing(
    client: TestClient,
    container: Container,
    hub_settings: Path,
    receiver: Receiver,
    clock: FakeClock,
) -> None:
    """A receiver that fails, times out and answers 429 in turn still gets every event,
    each attempt on the schedule (or its Retry-After), duplicates only with the same id."""
    hook = subscribe(client, f"{receiver.url}/mixed")
    faults = [
        Answer(500),
        Answer(200, delay=0.6),
        Answer(429, {"Retry-After": "30"}),
        Answer(503),
        Answer(502),
    ]
    receiver.script("/mixed", *faults * 3)  # then 200
    made = [create(client, minimal(f"Mixed {i} GmbH", f"ap@mixed{i}.example")) for i in range(6)]
    for _ in range(40):
        report = run(
            container, clock, timeout_seconds=0.3, concurrency=3, disable_after=timedelta(days=30)
        )
        pending = [d for d in deliveries(client, hook) if d["status"] == "pending"]
        if not pending and not report.attempted:
            break
        if pending:
            clock.to(min(clock.now.fromisoformat(d["next_attempt_at"]) for d in pending))
    log = deliveries(client, hook)
    assert len(log) == len(made) and {d["status"] for d in log} == {"succeeded"}
    ok = {s.headers["webhook-id"] for s in receiver.requests_to("/mixed")}
    assert ok == {d["webhook_id"] for d in log}
    subjects = {json.loads(s.body)["subject"] for s in receiver.requests_to("/mixed")}
    assert subjects == {c["id"] for c in made}
    for delivery in log:
        attempts = client.get(f"{API}/webhooks/{hook['id']}/deliveries/{delivery['id']}").json()
        for n, (a, b) in enumerate(itertools.pairwise(attempts["attempt_log"]), start=1):
            gap = clock.now.fromisoformat(b["attempted_at"]) - clock.now.fromisoformat(
                a["attempted_at"]
            )
            if a["status_code"] == 429:
                assert gap == timedelta(seconds=30)
            else:
                assert gap >= SCHEDULE[n - 1] * (1 - JITTER)


def test_the_deliver_command(
    client: TestClient,
    container: Container,
    hub_settings: Path,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hook = subscribe(client, f"{receiver.url}/cli")
    create(client, minimal("Cli Hook Co", "ap@clihook.example"))
    wait_for_outbox(container)
    monkeypatch.setenv("CUSTMASTER_WEBHOOKS_ALLOW_PRIVATE_TARGETS", "true")
    url = container.engine.url.render_as_string(hide_password=False)
    done = CliRunner().invoke(cli, ["webhooks", "deliver", "--once", "--database-url", url])
    assert done.exit_code == 0, done.output
    assert "1 succeeded" in done.output
    (seen,) = receiver.requests_to("/cli")
    assert verify(hook["secret"], seen)
