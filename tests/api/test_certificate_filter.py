"""``?certificate_expiring_within=30d`` on customer lists and exports, on both databases:
customers with a tax-exemption certificate ending within that many days from today."""

from __future__ import annotations

import json
from datetime import date, timedelta

from fastapi.testclient import TestClient

from tests.factories import create, errors_of, minimal


def certified(client: TestClient, name: str, ends_in: int | None) -> str:
    """A customer whose certificate ends ``ends_in`` days from today (None: none)."""
    profiles = []
    if ends_in is not None:
        end = date.today() + timedelta(days=ends_in)
        profiles = [
            {
                "tax_code": "EXEMPT-RESALE",
                "certificate_number": f"RS-{name}",
                "effective_from": "2020-01-01",
                "effective_to": end.isoformat(),
            }
        ]
    slug = name.lower()
    return str(create(client, minimal(name, f"ap@{slug}.example", tax_profiles=profiles))["number"])


def test_lists_and_exports_filter_certificates_expiring_within_a_window(
    client: TestClient,
) -> None:
    soon = certified(client, "Soon", 10)
    today = certified(client, "Today", 0)
    later = certified(client, "Later", 40)
    certified(client, "Lapsed", -1)
    certified(client, "Plain", None)

    def listed(within: str) -> list[str]:
        response = client.get("/api/v1/customers", params={"certificate_expiring_within": within})
        assert response.status_code == 200, response.text
        return [c["number"] for c in response.json()["items"]]

    assert listed("30d") == [soon, today]
    assert listed("45d") == [soon, today, later]
    assert listed("0d") == [today]
    assert len(client.get("/api/v1/customers").json()["items"]) == 5
    for bad in ("30", "30x", "-1d", "99999d"):
        found = errors_of(
            client.get("/api/v1/customers", params={"certificate_expiring_within": bad})
        )
        assert found == {"certificate_expiring_within": "invalid_duration"}, bad
    exported = client.get(
        "/api/v1/exports/customers",
        params={"format": "jsonl", "certificate_expiring_within": "30d"},
    )
    assert exported.status_code == 200, exported.text
    rows = [json.loads(line) for line in exported.text.splitlines() if line]
    assert sorted(r["number"] for r in rows) == sorted([soon, today])
