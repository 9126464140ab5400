"""``custmaster certificates check`` on both databases, with the clock injected
(``--today``): the expiry notices fire 30 and 7 days before a certificate's end date and
on the day it expires, once each; a late check catches up with the latest notice only; a
renewed certificate gets notices of its own."""

from __future__ import annotations

import re
from datetime import date, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from custmaster.bootstrap import Container
from custmaster.cli.app import app as cli_app
from custmaster.services.certificates.check import sent_notices
from tests.factories import create, minimal, outbox_events

runner = CliRunner()
END = date(2027, 3, 31)


def check(container: Container, day: date) -> list[str]:
    """Run the check as of ``day``; the notices it printed (``notice customer``)."""
    result = runner.invoke(
        cli_app,
        [
            "certificates",
            "check",
            "--today",
            day.isoformat(),
            "--database-url",
            container.settings.database_url,
        ],
    )
    assert result.exit_code == 0, result.output
    return re.findall(r"^(expiring_30|expiring_7|expired) (\S+)", result.output, re.M)


def certified(client: TestClient, name: str, end: date) -> str:
    body = minimal(
        name,
        f"ap@{name.lower()}.example",
        tax_code="EXEMPT-RESALE",
        tax_profiles=[
            {
                "tax_code": "EXEMPT-RESALE",
                "certificate_number": f"RS-{name}",
                "effective_from": "2026-01-01",
                "effective_to": end.isoformat(),
            }
        ],
    )
    return str(create(client, body)["id"])


def test_notices_fire_once_each_on_their_days(
    app: FastAPI, client: TestClient, container: Container
) -> None:
    acme = certified(client, "Acme", END)
    # the days around each notice, in order
    days = {END - timedelta(days=n): n for n in (31, 30, 29, 8, 7, 6, 1, 0, -1, -2)}
    fired: dict[int, list[tuple[str, str]]] = {}
    for day, before_end in days.items():
        found = check(container, day) + check(container, day)  # twice a day: once each
        if found:
            fired[before_end] = found
    assert fired == {
        30: [("expiring_30", acme)],
        7: [("expiring_7", acme)],
        -1: [("expired", acme)],
    }
    events = [e for e in outbox_events(container) if "tax_exemption" in e["type"]]
    assert [(e["type"], e["data"]["notice"], e["data"]["days_left"]) for e in events] == [
        ("custmaster.customer.tax_exemption.expiring", "expiring_30", 30),
        ("custmaster.customer.tax_exemption.expiring", "expiring_7", 7),
        ("custmaster.customer.tax_exemption.expired", "expired", -1),
    ]
    assert {e["subject"] for e in events} == {acme}
    assert events[0]["data"]["certificate_number"] == "RS-Acme"
    recorded = sent_notices(container.uow(), container.system_principal())
    assert [(n.notice, n.sent_on) for n in recorded] == [
        ("expiring_30", END - timedelta(days=30)),
        ("expiring_7", END - timedelta(days=7)),
        ("expired", END + timedelta(days=1)),
    ]
    # a renewal (a new end date) gets its own notices
    profile = client.get(f"/api/v1/customers/{acme}").json()["tax_profiles"][0]
    renewed = client.patch(
        f"/api/v1/customers/{acme}",
        json={
            "tax_profiles": [
                {"action": "update", "id": profile["id"], "effective_to": "2028-03-31"}
            ]
        },
    )
    assert renewed.status_code == 200, renewed.text
    assert check(container, date(2028, 3, 1)) == [("expiring_30", acme)]


def test_a_late_check_catches_up_with_the_latest_notice_only(
    app: FastAPI, client: TestClient, container: Container
) -> None:
    late = certified(client, "Late", END)
    assert check(container, END - timedelta(days=5)) == [("expiring_7", late)]
    assert check(container, END - timedelta(days=3)) == []
    assert check(container, END + timedelta(days=20)) == [("expired", late)]
    old = certified(client, "Old", END - timedelta(days=100))
    assert all(who != old for _, who in check(container, END + timedelta(days=21)))
