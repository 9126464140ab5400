"""The living profile's panel on the console's customer page through HTTP, on both
databases: the figures planted through the activity API are shown (scores, actions,
receivables aging, sales sparkline, open complaints, renewals), and a GB01 user sees
GB01's figures only, never DE01's."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

from custmaster.bootstrap import Container
from tests.conftest import new_user
from tests.factories import create, minimal
from tests.web.test_console_http import sign_in
from tests.web.world import profile_activity

API = "/api/v1"


def plant(client: TestClient) -> str:
    """A GB01 customer with GB01 (small) and DE01 (large, distinctive) activity."""
    customer_id: str = create(
        client, minimal("Panel Works", "ap@panel.example", owning_entity="GB01")
    )["id"]
    for events in profile_activity(customer_id):
        response = client.post(f"{API}/activities", json=events)
        assert response.status_code == 200, response.text
        assert response.json()["applied"] == len(events)
    return customer_id


def panel(html: str) -> str:
    found = re.search(r'<section class="card profile".*?</section>', html, re.S)
    assert found, "no profile panel on the page"
    return found[0]


def test_the_panel_shows_the_planted_figures(
    app: FastAPI, client: TestClient, container: Container
) -> None:
    customer_id = plant(client)
    session, _ = sign_in(app, new_user(container, "ar-panel", ["ar_manager"]))
    page = session.get(f"/console/customers/{customer_id}?entity=GB01")
    assert page.status_code == 200, page.text
    shown = panel(page.text)
    assert 'aria-labelledby="h-profile"' in shown
    assert "CASE-GB" in shown and "scratched housings" in shown
    assert "K-GB" in shown  # up for renewal in 30 days
    assert "4,321.00" in shown  # the overdue invoice in its aging bucket
    aging = re.findall(r'<td data-bucket="([^"]+)">([^<]+)</td>', shown)
    assert dict(aging) == {
        "current": "0.00",
        "1-30": "0.00",
        "31-60": "4,321.00",
        "61-90": "0.00",
        "over_90": "0.00",
    }
    assert 'data-testid="profile-sparkline"' in shown and "<polyline" in shown
    assert "quality complaint open 14 days: call the customer" in shown  # next-best action
    assert re.search(r'<span class="band band-(red|yellow|green)">(red|yellow|green)</span>', shown)
    assert " in 5 orders" in shown  # 12-month sales
    row = re.search(
        r'<th scope="row">GB01</th>\s*<td><strong>(\d+)</strong> <span class="band '
        r'band-(\w+)">\2</span>.*?<span class="sr-only">([^<]+)</span></td>\s*'
        r"<td>(\w+)</td>",
        shown,
        re.S,
    )
    assert row and 0 <= int(row[1]) <= 100 and row[4] == "standard"
    assert row[3].endswith("since the last score") or row[3] == "no earlier score"
    # over every entity the signed-in (unscoped) user sees both entities' figures
    everything = panel(session.get(f"/console/customers/{customer_id}").text)
    assert "CASE-DE" in everything and "CASE-GB" in everything
    assert "All entities" in everything


def test_a_gb01_user_sees_no_de01_figures(
    app: FastAPI, client: TestClient, container: Container
) -> None:
    customer_id = plant(client)
    session, _ = sign_in(app, new_user(container, "gb-panel", ["viewer"], ["GB01"]))
    page = session.get(f"/console/customers/{customer_id}")
    assert page.status_code == 200, page.text
    shown = panel(page.text)
    assert "CASE-GB" in shown and "K-GB" in shown and "4,321.00" in shown
    assert "DE01" not in shown and "CASE-DE" not in shown and "K-DE" not in shown
    assert "987,654" not in page.text and "All entities" not in shown
    assert session.get(f"/console/customers/{customer_id}?entity=DE01").status_code == 403
