"""Inbound changes: POST /api/v1/inbound/{system} and the JetStream consumer on a real
NATS server (CUSTMASTER_TEST_NATS_URL): mapped by the import template, resolved through
cross-references, matched when new, applied under the approval policy (green applies,
yellow waits as a change request), and echoes of what custmaster sent ignored."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from pathlib import Path
from typing import Any

import nats
import pytest
import yaml
from fastapi.testclient import TestClient

from custmaster.bootstrap import Container
from custmaster.services.approval_policy_loader import load_policy
from custmaster.services.inbound.apply import InboundResult, receive_change
from custmaster.services.inbound.consumer import ConsumeReport, consume
from custmaster.services.inbound.context import system_context
from custmaster.services.sync.adapter import HttpUpsertAdapter
from custmaster.services.sync.mapping import load_mapping
from custmaster.services.sync.run import run_target
from tests.factories import create, minimal
from tests.hub.conftest import wait_for_outbox
from tests.receiver import Receiver

API = "/api/v1"
NATS_URL = os.environ.get("CUSTMASTER_TEST_NATS_URL", "nats://127.0.0.1:4222")


def d365(account: str, **fields: str) -> dict[str, Any]:
    """A Dynamics 365 CustomersV3 record (the shipped d365 import template's columns)."""
    return {
        "DATAAREAID": "usmf",
        "CUSTOMERACCOUNT": account,
        "PARTYTYPE": "Organization",
        "ORGANIZATIONNAME": f"Contoso {account}",
        "PRIMARYCONTACTEMAIL": f"ap@{account}.example",
        "PRIMARYCONTACTPHONE": "+1 415 555 0100",
        "INVOICEADDRESSSTREET": "1 Main St",
        "INVOICEADDRESSCITY": "Seattle",
        "INVOICEADDRESSCOUNTRYREGIONISOCODE": "US",
        **fields,
    }


@pytest.fixture
def integration(client: TestClient, client_as: Any) -> TestClient:
    return client_as("crm-feed", roles=["integration"])  # type: ignore[no-any-return]


def post(client: TestClient, record: dict[str, Any], **envelope: Any) -> Any:
    return client.post(f"{API}/inbound/d365", json={"record": record, "entity": "US01", **envelope})


def test_a_new_record_is_created_then_recognised(
    client: TestClient, integration: TestClient
) -> None:
    made = post(integration, d365("IN-1"))
    assert made.status_code == 200, made.text
    assert made.json()["status"] == "applied" and not made.json()["matched"]
    customer_id = made.json()["customer_id"]
    found = client.get(f"{API}/xrefs/d365/usmf/IN-1")
    assert found.status_code == 200, found.text
    assert found.json()["customer_id"] == customer_id
    again = post(integration, d365("IN-1"))
    assert again.json() == {**made.json(), "status": "unchanged"}
    changed = post(integration, d365("IN-1", INVOICEADDRESSCITY="Tacoma"))
    assert changed.json()["status"] == "applied"
    view = client.get(f"{API}/customers/{customer_id}").json()
    assert view["addresses"][0]["city"] == "Tacoma"
    assert len([a for a in view["addresses"] if a["type"] == "billing"]) == 1


def test_an_invalid_record_is_rejected(integration: TestClient) -> None:
    bad = post(integration, d365("IN-2", PRIMARYCONTACTEMAIL=""))
    assert bad.status_code == 422, bad.text
    assert bad.json()["status"] == "rejected"
    assert bad.json()["errors"][0]["field"] == "email"
    unknown = integration.post(f"{API}/inbound/nosuchsystem", json={"record": {"a": "b"}})
    assert unknown.status_code == 404, unknown.text


def test_a_new_record_matching_a_customer_is_taken_as_it(
    client: TestClient, integration: TestClient
) -> None:
    existing = create(
        client,
        minimal(
            "Fabrikam Industrial Supply",
            "ap@fabrikam.example",
            tax_id="91-1234567",
            phone="+1 206 555 0142",
        ),
    )
    record = d365(
        "FAB-7",
        ORGANIZATIONNAME="Fabrikam Industrial Supply",
        PRIMARYCONTACTEMAIL="ap@fabrikam.example",
        TAXEXEMPTNUMBER="91-1234567",
        PRIMARYCONTACTPHONE="+1 206 555 0142",
    )
    answer = post(integration, record)
    assert answer.status_code == 200, answer.text
    assert answer.json()["matched"] is True
    assert answer.json()["customer_id"] == existing["id"]
    refs = client.get(f"{API}/customers/{existing['id']}").json()["source_refs"]
    assert {"source_system": "d365", "source_id": "usmf/FAB-7"} in refs


def test_green_applies_and_yellow_waits_for_approval(
    client: TestClient, client_as: Any, integration: TestClient, container: Container
) -> None:
    customer = create(
        client,
        minimal(
            "Contoso GOV-2",
            "ap@gov2.example",
            source_refs=[{"source_system": "d365", "source_id": "usmf/GOV-2"}],
        ),
    )
    client_as("arm", roles=["ar_manager"])  # approvers exist: requests can be decided
    client_as("ctl", roles=["controller"])
    direct, container.policy = container.policy, load_policy(None)  # the shipped policy
    try:
        _green_and_yellow(client, integration, customer)
    finally:
        container.policy = direct


def _green_and_yellow(client: TestClient, integration: TestClient, customer: Any) -> None:
    created = post(integration, d365("GOV-1"))
    assert created.status_code == 202, created.text  # a create is yellow
    assert created.json()["status"] == "pending" and created.json()["customer_id"] is None
    assert client.get(f"{API}/xrefs/d365/usmf/GOV-1").status_code == 404
    phone = post(
        integration,
        {
            "DATAAREAID": "usmf",
            "CUSTOMERACCOUNT": "GOV-2",
            "PRIMARYCONTACTPHONE": "+1 415 555 0111",
        },
    )
    assert phone.status_code == 200, phone.text
    assert phone.json()["status"] == "applied"  # only a low-risk field: green
    view = client.get(f"{API}/customers/{customer['id']}").json()
    assert view["phone"].replace(" ", "").endswith("4155550111")
    renamed = post(
        integration,
        {"DATAAREAID": "usmf", "CUSTOMERACCOUNT": "GOV-2", "ORGANIZATIONNAME": "Contoso Renamed"},
    )
    assert renamed.status_code == 202, renamed.text
    assert renamed.json()["status"] == "pending"
    waiting = client.get(f"{API}/change-requests/{renamed.json()['change_request_id']}")
    assert waiting.status_code == 200 and waiting.json()["status"] == "pending"
    assert client.get(f"{API}/customers/{customer['id']}").json()["name"] == "Contoso GOV-2"


def test_echoes_of_what_custmaster_sent_are_not_applied(
    client: TestClient,
    integration: TestClient,
    container: Container,
    hub_settings: Path,
    receiver: Receiver,
) -> None:
    (hub_settings / "d365.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "d365_test",
                "system": "d365",
                "object": "CustomersV3",
                "adapter": {
                    "kind": "http_upsert",
                    "base_url": receiver.url,
                    "method": "PATCH",
                    "path": "/{object}/{external_id}",
                },
                "upsert_key": {"source": "id", "target": "CUSTMASTERID"},
                "retries": {"attempts": 1},
                "fields": {
                    "ORGANIZATIONNAME": "name",
                    "PRIMARYCONTACTPHONE": "phone",
                    "PRIMARYCONTACTEMAIL": "email",
                    "CREDITLIMIT": {"from": "credit_limit", "direction": "outbound"},
                },
            }
        )
    )
    mapping = load_mapping(hub_settings / "d365.yaml")
    made = create(
        client,
        minimal("Echo Corp", "ap@echo.example", phone="+1 415 555 0100", credit_limit="5000"),
    )

    def sync() -> int:
        wait_for_outbox(container)
        adapter = HttpUpsertAdapter(mapping)
        try:
            return run_target(container.uow, mapping, adapter).sent
        finally:
            adapter.close()

    assert sync() == 1
    sent = receiver.records[made["id"]]
    # the target echoes the record back (with its own ids): ignored
    echo = post(integration, {**sent, "DATAAREAID": "usmf", "CUSTOMERACCOUNT": "ECHO-1"})
    assert echo.status_code == 200, echo.text
    assert echo.json()["status"] == "echo"
    assert client.get(f"{API}/customers/{made['id']}").json()["version"] == made["version"]
    # an origin marker says so too
    marked = post(integration, d365("ECHO-2"), origin="custmaster")
    assert marked.json()["status"] == "echo"
    # a field custmaster masters (direction: outbound) is never taken from the target
    lowered = post(
        integration, {**sent, "CREDITLIMIT": "1", "PRIMARYCONTACTPHONE": "+1 415 555 0199"}
    )
    assert lowered.json()["status"] == "applied", lowered.text
    view = client.get(f"{API}/customers/{made['id']}").json()
    assert view["credit_limit"] == "5000.00" or view["credit_limit"] == "5000"
    assert view["phone"].replace(" ", "").endswith("4155550199")
    # ...and the change that came from the target does not go back to it
    before = len(receiver.seen)
    assert sync() == 0
    assert len(receiver.seen) == before


async def _publish(subject: str, payloads: list[bytes]) -> None:
    connection = await nats.connect(NATS_URL, connect_timeout=5)
    try:
        js = connection.jetstream()
        for payload in payloads:
            await js.publish(subject, payload)
    finally:
        await connection.close()


async def _delete_stream(stream: str) -> None:
    connection = await nats.connect(NATS_URL, connect_timeout=5)
    try:
        await connection.jetstream().delete_stream(stream)
    finally:
        await connection.close()


def test_the_jetstream_consumer_applies_and_acknowledges(
    client: TestClient, integration: TestClient, container: Container
) -> None:
    suffix = uuid.uuid4().hex[:10]
    stream, prefix = f"TEST_INBOUND_{suffix}", f"test{suffix}.inbound"
    context = system_context("d365", template_dir=None, sync_dir=None)
    with container.uow().read_only() as uow:
        user = uow.users.get("crm-feed")
    assert user is not None

    def handle(record: Any, entity: str | None, origin: str | None) -> InboundResult:
        return receive_change(
            container.uow(),
            user.principal,
            container.policy,
            container.service_settings,
            context.template,
            record,
            entity=entity or "US01",
            origin=origin,
        )

    async def scenario() -> ConsumeReport:
        # the consumer makes the stream; messages published before it starts still count
        first = await consume(
            NATS_URL,
            "d365",
            handle,
            stream=stream,
            prefix=prefix,
            durable=f"d{suffix}",
            max_messages=1,
            idle_seconds=1,
        )
        assert first.received == 0
        await _publish(
            f"{prefix}.d365",
            [
                json.dumps(d365("NATS-1")).encode(),
                json.dumps(
                    {
                        "record": d365(
                            "NATS-2",
                            ORGANIZATIONNAME="Northwind Traders",
                            PRIMARYCONTACTPHONE="+44 20 7946 0958",
                            INVOICEADDRESSCITY="London",
                            INVOICEADDRESSCOUNTRYREGIONISOCODE="GB",
                        ),
                        "entity": "GB01",
                    }
                ).encode(),
                b"not json",
                json.dumps({"record": d365("NATS-3"), "origin": "custmaster"}).encode(),
                json.dumps(d365("NATS-1", INVOICEADDRESSCITY="Redmond")).encode(),
            ],
        )
        return await consume(
            NATS_URL,
            "d365",
            handle,
            stream=stream,
            prefix=prefix,
            durable=f"d{suffix}",
            max_messages=5,
            idle_seconds=5,
        )

    try:
        report = asyncio.run(scenario())
        assert report.received == 5
        assert report.statuses == {"applied": 3, "echo": 1}
        assert report.terminated == 1
        one = client.get(f"{API}/xrefs/d365/usmf/NATS-1").json()["customer_id"]
        assert client.get(f"{API}/customers/{one}").json()["addresses"][0]["city"] == "Redmond"
        two = client.get(f"{API}/xrefs/d365/usmf/NATS-2").json()["customer_id"]
        assert client.get(f"{API}/customers/{two}").json()["owning_entity"] == "GB01"
        assert client.get(f"{API}/xrefs/d365/usmf/NATS-3").status_code == 404
        # acknowledged: a consumer started again receives nothing
        again = asyncio.run(
            consume(
                NATS_URL,
                "d365",
                handle,
                stream=stream,
                prefix=prefix,
                durable=f"d{suffix}",
                idle_seconds=1,
            )
        )
        assert again.received == 0
    finally:
        asyncio.run(_delete_stream(stream))
