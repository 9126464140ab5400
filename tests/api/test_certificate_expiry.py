"""Expired tax-exemption certificates through the HTTP API on both databases: the
effective view after the end date no longer shows the exemption and says so in a
warning; a serving app runs the expiry check in the background."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from custmaster.bootstrap import Container
from custmaster.services.auth import add_user
from custmaster.services.certificates.check import sent_notices
from tests.factories import create, minimal, outbox_events, seed_reference


def exempt(client: TestClient, name: str, end: date) -> str:
    body = minimal(
        name,
        f"ap@{name.lower()}.example",
        tax_code="EXEMPT-RESALE",
        tax_profiles=[
            {
                "tax_code": "EXEMPT-RESALE",
                "certificate_number": "CA-RS-1234",
                "effective_from": "2020-01-01",
                "effective_to": end.isoformat(),
            }
        ],
    )
    return str(create(client, body)["id"])


def test_an_expired_exemption_leaves_the_effective_view_with_a_warning(
    client: TestClient,
) -> None:
    yesterday = date.today() - timedelta(days=1)
    customer = exempt(client, "Lapsed", yesterday)
    url = f"/api/v1/customers/{customer}"
    view = client.get(url, params={"entity": "US01"}).json()
    assert view["tax_profiles"] == [] and view["tax_code"] is None
    assert [(w["field"], w["code"]) for w in view["warnings"]] == [
        ("tax_profiles", "tax_exemption_expired"),
        ("tax_code", "tax_exemption_expired"),
    ]
    assert "CA-RS-1234" in view["warnings"][0]["message"]
    on_the_end_date = client.get(url, params={"entity": "US01", "as_of": yesterday.isoformat()})
    valid = on_the_end_date.json()
    assert valid["tax_code"] == "EXEMPT-RESALE" and len(valid["tax_profiles"]) == 1
    assert valid["warnings"] == []
    master = client.get(url).json()  # the record itself keeps the certificate
    assert master["tax_code"] == "EXEMPT-RESALE" and len(master["tax_profiles"]) == 1
    current = exempt(client, "Current", date.today())
    still = client.get(f"/api/v1/customers/{current}", params={"entity": "DE01"}).json()
    assert still["tax_code"] == "EXEMPT-RESALE" and still["warnings"] == []


def test_a_serving_app_checks_certificates_in_the_background(
    app: FastAPI, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = add_user(container.uow(), container.system_principal(), "tester", roles=["admin"])
    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {key}"
        seed_reference(client)
        customer = exempt(client, "Soon", date.today() + timedelta(days=7))
    monkeypatch.setattr(container.settings, "certificate_check_interval_seconds", 3600)
    with TestClient(app) as client:  # the check runs as the app starts
        deadline = time.monotonic() + 30
        while not sent_notices(container.uow(), container.system_principal()):
            assert time.monotonic() < deadline, "no certificate check within 30 s"
            time.sleep(0.05)
    notices = sent_notices(container.uow(), container.system_principal())
    assert [(str(n.customer_id), n.notice) for n in notices] == [(customer, "expiring_7")]
    events = [e for e in outbox_events(container) if "tax_exemption" in e["type"]]
    assert [(e["type"], e["subject"]) for e in events] == [
        ("custmaster.customer.tax_exemption.expiring", customer)
    ]
