"""Activity intake through HTTP: exactly once, dead letters and replay, merges, scope."""

from __future__ import annotations

import random
import time
from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient

from custmaster.domain.profile import ALL_ENTITIES
from custmaster.services.profile.rebuild import rebuild
from tests.factories import create, minimal
from tests.profile.events import complaint, invoice, order, payment

API = "/api/v1"
TODAY = date.today()


def _post(client: TestClient, events: list[dict[str, Any]]) -> dict[str, Any]:
    response = client.post(f"{API}/activities", json=events)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _features(client: TestClient, customer_id: str) -> dict[str, Any]:
    response = client.get(f"{API}/customers/{customer_id}/profile")
    assert response.status_code == 200, response.text
    features: dict[str, Any] = response.json()["features"]
    for row in features.values():
        row.pop("updated_at")
    return features


def _history(customer_id: str) -> list[dict[str, Any]]:
    months_ago = [TODAY.replace(day=1) - timedelta(days=30 * i) for i in range(8)]
    events = [order(customer_id, d, 100.0 + i) for i, d in enumerate(months_ago)]
    events += [
        invoice(customer_id, TODAY - timedelta(days=70), TODAY - timedelta(days=40), 500, "INV-1"),
        invoice(customer_id, TODAY - timedelta(days=10), TODAY + timedelta(days=20), 300, "INV-2"),
        payment(customer_id, TODAY - timedelta(days=5), "INV-1", 200),
        complaint(customer_id, TODAY - timedelta(days=20), "C-1"),
    ]
    return events


def test_events_apply_once_and_shuffled_equals_in_order(client: TestClient) -> None:
    first = create(client, minimal("Ordered Ltd", "ap@ordered.example"))["id"]
    second = create(client, minimal("Shuffled Ltd", "ap@shuffled.example"))["id"]
    events = _history(first)
    assert _post(client, events)["applied"] == len(events)
    again = _post(client, events)
    assert again["applied"] == 0 and again["duplicates"] == len(events)
    mirrored = [
        {**e, "id": e["id"] + "-b", "data": {**e["data"], "customer_id": second}} for e in events
    ]
    shuffled = mirrored + mirrored[:4]
    random.Random(7).shuffle(shuffled)
    body = _post(client, shuffled)
    assert body["applied"] == len(events) and body["duplicates"] == 4
    ordered, mixed = _features(client, first), _features(client, second)
    assert ordered == mixed
    total = ordered[ALL_ENTITIES]
    assert total["open_quality_complaints"] == 1
    assert ordered["US01"]["open_items_amount"] == 600.0
    assert ordered["US01"]["overdue_amount"] == 300.0
    assert ordered["US01"]["orders_12m"] == 8


def test_receivables_credit_check_and_kpis(client: TestClient) -> None:
    customer = create(client, minimal("Credit Ltd", "ap@credit.example", credit_limit="1000"))
    _post(client, _history(customer["id"]))
    ar = client.get(f"{API}/customers/{customer['id']}/receivables").json()
    us = ar["by_entity"]["US01"]
    assert us["aging"]["31-60"] == 300.0 and us["aging"]["current"] == 300.0
    assert us["credit_limit"] == 1000.0 and us["avg_days_late"] == 35.0
    check = client.post(
        f"{API}/customers/{customer['id']}/credit-check",
        json={"legal_entity": "US01", "amount": 100},
    )
    assert check.status_code == 200, check.text
    assert check.json()["decision"] == "release", check.json()  # 700 of 1000, DSO 67.5
    assert check.json()["reasons"] == [] and us["dso"] == 67.5
    big = client.post(
        f"{API}/customers/{customer['id']}/credit-check",
        json={"legal_entity": "US01", "amount": 5000},
    ).json()
    assert big["decision"] == "hold"
    assert [r["code"] for r in big["reasons"]] == ["over_limit"]
    kpis = client.get(f"{API}/customers/{customer['id']}/kpis").json()
    names = [k["name"] for k in kpis["kpis"]]
    assert names[:3] == ["revenue", "orders", "average_order_value"]
    revenue = kpis["kpis"][0]["values"]
    assert len(revenue) == 12 and revenue[-1]["period"] == TODAY.strftime("%Y-%m")


def test_unknown_customer_dead_letter_then_replay(client: TestClient) -> None:
    ref = {"source_system": "erp", "source_id": "K-77"}
    event = order(ref, TODAY, 250.0)
    body = _post(client, [event])
    assert (
        body["dead_lettered"] == 1 and "unknown customer erp/K-77" in body["results"][0]["reason"]
    )
    _post(client, [event])  # a redelivery does not make a second letter
    letters = client.get(f"{API}/activities/dead-letters").json()["items"]
    assert [d["event_id"] for d in letters] == [event["id"]]
    letter = letters[0]
    early = client.post(f"{API}/activities/dead-letters/{letter['id']}/replay")
    assert early.status_code == 409
    customer = create(client, minimal("Late Xref Ltd", "ap@latexref.example", source_refs=[ref]))
    replayed = client.post(f"{API}/activities/dead-letters/{letter['id']}/replay")
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["status"] == "replayed"
    assert replayed.json()["outcome"]["customer_id"] == customer["id"]
    assert _features(client, customer["id"])["US01"]["orders_12m"] == 1
    assert client.get(f"{API}/activities/dead-letters").json()["items"] == []


def test_activity_follows_merges_and_unmerges(client: TestClient, container: Any) -> None:
    survivor = create(client, minimal("Survivor Ltd", "ap@survivor.example"))["id"]
    absorbed = create(client, minimal("Absorbed Ltd", "ap@absorbed.example"))["id"]
    _post(
        client,
        [
            order(survivor, TODAY, 20.0),
            order(absorbed, TODAY, 30.0),
            complaint(absorbed, TODAY, "QA-1"),
        ],
    )
    merged = client.post(f"{API}/customers/{survivor}/merge", json={"absorbed_ids": [absorbed]})
    assert merged.status_code == 200, merged.text
    # the absorbed customer's history moved to the survivor
    rows = _features(client, survivor)
    assert rows["US01"]["orders_12m"] == 2 and rows["US01"]["open_quality_complaints"] == 1
    # events naming the absorbed customer now land on the survivor
    body = _post(client, [order(absorbed, TODAY, 80.0)])
    assert body["results"][0]["customer_id"] == survivor
    assert _features(client, survivor)["US01"]["revenue_12m"] == 130.0
    report = rebuild(container.uow, container.system_principal(), container.profile, write=False)
    assert report.drifted == []
    undone = client.post(f"{API}/merges/{merged.json()['merge_id']}/unmerge")
    assert undone.status_code == 200, undone.text
    assert _features(client, survivor)["US01"]["revenue_12m"] == 20.0
    back = _features(client, absorbed)["US01"]
    assert back["revenue_12m"] == 110.0 and back["open_quality_complaints"] == 1
    report = rebuild(container.uow, container.system_principal(), container.profile, write=False)
    assert report.drifted == []


def test_invalid_batch_applies_nothing(client: TestClient) -> None:
    customer = create(client, minimal())["id"]
    bad = order(customer, TODAY, 10.0)
    bad["data"]["lines"][0]["amount"] = "ten"
    response = client.post(f"{API}/activities", json=[order(customer, TODAY, 5.0), bad])
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "events[1].data.lines[0].amount"
    assert "US01" not in _features(client, customer)
    too_many = client.post(f"{API}/activities", json=[bad] * 1001)
    assert too_many.status_code in (413, 422)


def test_scope_of_senders_and_readers(client: TestClient, client_as: Any) -> None:
    customer = create(client, minimal("Two Entities Ltd", "ap@two.example"))["id"]
    _post(
        client,
        [
            order(customer, TODAY, 100.0, entity="US01"),
            order(customer, TODAY, 70.0, entity="DE01", currency="EUR"),
        ],
    )
    de_sender = client_as("erp-de", roles=["integration"], entities=["DE01"])
    refused = de_sender.post(f"{API}/activities", json=[order(customer, TODAY, 1.0)])
    assert refused.status_code == 403
    viewer = client_as("viewer")
    assert viewer.post(f"{API}/activities", json=[]).status_code == 403
    de_reader = client_as("de-reader", roles=["viewer"], entities=["DE01"])
    seen = de_reader.get(f"{API}/customers/{customer}/profile").json()
    assert seen["entities"] == ["DE01"]
    assert set(seen["features"]) == {"DE01"}
    assert set(seen["receivables"]["by_entity"]) == {"DE01"}
    assert set(seen["sales"]["own"]["by_entity"]) == {"DE01"}
    assert seen["sales"]["own"]["monetary_12m"] == 70.0
    assert de_reader.get(f"{API}/customers/{customer}/profile?entity=US01").status_code == 403
    check = de_reader.post(
        f"{API}/customers/{customer}/credit-check", json={"legal_entity": "US01", "amount": 1}
    )
    assert check.status_code == 403


def test_an_event_rescores_the_customer_in_its_transaction(client: TestClient) -> None:
    """The profile hook re-scores with the active rules: the 360 view shows the scores with
    their explanation and the next-best actions, and the change is an event in the feed."""
    customer = create(client, minimal("Rescored Ltd", "ap@rescored.example"))["id"]
    _post(client, _history(customer))  # a complaint opened 20 days ago is still open
    profile = client.get(f"{API}/customers/{customer}/profile").json()
    total = profile["scores"][ALL_ENTITIES]
    assert 0 <= total["health_score"] <= 100 and total["explanation"]
    assert "complaint_call" in profile["actions"][ALL_ENTITIES]
    assert set(profile["scores"]) == set(profile["features"])
    # The feed shows an event once every transaction older than it has ended, anywhere on
    # the server (other tests' included): read it again, a bounded number of times.
    changed: list[dict[str, Any]] = []
    for _attempt in range(40):
        events: list[dict[str, Any]] = []
        cursor: dict[str, str] = {}
        for _ in range(50):  # bounded: the feed of this test holds a few hundred events
            page = client.get(f"{API}/events", params={"limit": 100, **cursor}).json()
            events += page["items"]
            if not page["items"]:
                break
            cursor = {"after": page["next_cursor"]}
        changed = [
            e
            for e in events
            if e["type"] == "custmaster.profile.scores_changed" and e["subject"] == customer
        ]
        if changed:
            break
        time.sleep(0.25)
    assert changed and "complaint_call" in changed[-1]["data"]["after"]["actions"]
