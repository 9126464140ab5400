"""Legal-entity scope on every read path (issue 12 item 2): a user scoped to GB01 never
sees DE01's overrides, through any route, the fast path of the effective view included.

The customer below carries a DE01 override whose values appear nowhere else
(``DE_SECRET`` credit limit): a leak is any response that holds it, DE01's override
(``"DE01": {...}``), an override action for DE01 or a change to ``overrides.DE01``."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from custmaster.bootstrap import Container
from custmaster.services.approval_policy_loader import load_policy
from tests.conftest import fast_path_answers
from tests.factories import acme, create, outbox_events

API = "/api/v1"
DE_SECRET = "81234.56"  # DE01's credit limit: nowhere else in the data


def _acme_gb(**changes: Any) -> dict[str, Any]:
    """Acme owned by GB01, with overrides for GB01 (visible) and DE01 (not)."""
    return acme(
        owning_entity="GB01",
        overrides={
            "GB01": {"credit_limit": "70000", "currency": "GBP"},
            "DE01": {"credit_limit": DE_SECRET, "currency": "EUR", "payment_terms": "NET45"},
        },
        **changes,
    )


def assert_no_leak(response: Any) -> None:
    assert response.status_code == 200, response.text
    text = response.text
    for leak in (DE_SECRET, '"DE01":{', '"DE01": {', '"entity":"DE01"', "overrides.DE01"):
        assert leak not in text, (leak, text)


def _de_update(client: TestClient, customer_id: str) -> None:
    """A change to DE01's override alone (its audit entry and event carry it)."""
    patch = {"overrides": [{"action": "update", "entity": "DE01", "tax_code": "STANDARD"}]}
    response = client.patch(f"{API}/customers/{customer_id}", json=patch)
    assert response.status_code == 200, response.text


def test_customer_reads_show_only_the_actors_entities(
    client: TestClient, client_as: Callable[..., TestClient]
) -> None:
    customer = create(client, _acme_gb())
    assert DE_SECRET in json.dumps(customer)  # the admin (unscoped) sees everything
    gb = client_as("gb_viewer", roles=["viewer"], entities=["GB01"])
    url = f"{API}/customers/{customer['id']}"
    master = gb.get(url)
    assert_no_leak(master)
    assert set(master.json()["overrides"]) == {"GB01"}
    view = gb.get(url, params={"entity": "GB01"})
    assert_no_leak(view)
    assert view.json()["credit_limit"] == "70000"
    assert set(view.json()["overrides"]) == {"GB01"}
    assert gb.get(url, params={"entity": "DE01"}).status_code == 403
    assert_no_leak(gb.get(f"{API}/customers"))


def test_the_fast_path_of_the_effective_view_redacts_too(
    client: TestClient, client_as: Callable[..., TestClient]
) -> None:
    customer = create(client, _acme_gb())
    gb = client_as("gb_viewer", roles=["viewer"], entities=["GB01"])
    url = f"{API}/customers/{customer['id']}"
    view = gb.get(url, params={"entity": "GB01"})
    assert fast_path_answers(gb)["GET /api/v1/customers/{customer_id}"] == 1
    assert_no_leak(view)
    assert set(view.json()["overrides"]) == {"GB01"}


def test_exports_refuse_other_entities_and_redact_the_master_export(
    client: TestClient, client_as: Callable[..., TestClient]
) -> None:
    create(client, _acme_gb())
    gb = client_as("gb_viewer", roles=["viewer"], entities=["GB01"])
    url = f"{API}/exports/customers"
    assert gb.get(f"{API}/customers", params={"entity": "DE01"}).status_code == 403
    for params in ({"entity": "DE01"}, {"owned_by": "DE01"}, {"entity": "DE01", "format": "jsonl"}):
        refused = gb.get(url, params=params)
        assert refused.status_code == 403, (params, refused.text)
    for fmt in ("jsonl", "csv"):
        assert_no_leak(gb.get(url, params={"format": fmt}))
        assert_no_leak(gb.get(url, params={"format": fmt, "entity": "GB01"}))
    lines = gb.get(url, params={"format": "jsonl"}).text.splitlines()
    assert [set(json.loads(line)["overrides"]) for line in lines] == [{"GB01"}]


def test_history_needs_audit_read_and_hides_other_entities_changes(
    client: TestClient, client_as: Callable[..., TestClient]
) -> None:
    customer = create(client, _acme_gb())
    _de_update(client, customer["id"])
    url = f"{API}/customers/{customer['id']}/history"
    viewer = client_as("gb_viewer", roles=["viewer"], entities=["GB01"])
    assert viewer.get(url).status_code == 403  # a viewer lacks audit.read
    assert client_as("any_viewer", roles=["viewer"]).get(url).status_code == 403
    steward = client_as("gb_steward", roles=["data_steward"], entities=["GB01"])
    history = steward.get(url)
    assert_no_leak(history)
    created, updated = history.json()["items"]
    fields = {c["field"] for c in created["changes"]}
    assert "overrides.GB01" in fields and "overrides.DE01" not in fields
    assert updated["operation"] == "update" and updated["changes"] == []
    everything = client.get(url).json()["items"]  # unscoped: the whole trail
    assert DE_SECRET in json.dumps(everything)


def _feed(client: TestClient, expected: int) -> str:
    """The feed's pages joined, once ``expected`` events were served (on PostgreSQL the
    feed may hold back while another test process has a transaction open: poll, bounded)."""
    texts: list[str] = []
    served, cursor = 0, None
    deadline = time.monotonic() + 30
    while served < expected and time.monotonic() < deadline:
        page = client.get(
            f"{API}/events", params={"limit": 50, **({"after": cursor} if cursor else {})}
        )
        assert_no_leak(page)
        texts.append(page.text)
        served += len(page.json()["items"])
        cursor = page.json()["next_cursor"]
        if not page.json()["items"]:
            time.sleep(0.1)
    assert served >= expected
    return "".join(texts)


def test_the_event_feed_redacts_other_entities_overrides(
    client: TestClient, client_as: Callable[..., TestClient]
) -> None:
    customer = create(client, _acme_gb())
    _de_update(client, customer["id"])
    written = outbox_events(client.app.state.container)  # type: ignore[attr-defined]
    assert DE_SECRET in json.dumps(written)  # the outbox (and the broker) keep everything
    gb = client_as("gb_viewer", roles=["viewer"], entities=["GB01"])
    text = _feed(gb, len(written))
    assert '"GB01"' in text and "70000" in text  # the actor's own entity is there


def test_a_merge_record_is_read_through_the_service_and_redacted(
    client: TestClient, client_as: Callable[..., TestClient]
) -> None:
    survivor = create(client, _acme_gb())
    other = create(client, _acme_gb(name="Acme Corp", email="billing@acme.example"))
    merged = client.post(
        f"{API}/customers/{survivor['id']}/merge", json={"absorbed_ids": [other["id"]]}
    )
    assert merged.status_code == 200, merged.text
    url = f"{API}/merges/{merged.json()['merge_id']}"
    assert DE_SECRET in client.get(url).text
    gb = client_as("gb_viewer", roles=["viewer"], entities=["GB01"])
    record = gb.get(url)
    assert_no_leak(record)
    assert set(record.json()["survivor_before"]["overrides"]) == {"GB01"}
    assert [set(a["overrides"]) for a in record.json()["absorbed"]] == [{"GB01"}]
    nobody = client_as("nobody", roles=["integration"], entities=["GB01"])
    assert nobody.get(url).status_code == 200  # integration reads customers too
    assert client.get(f"{API}/merges/00000000-0000-0000-0000-000000000000").status_code == 404


def test_change_requests_and_personal_data_exports_are_redacted(
    container: Container,
    monkeypatch: pytest.MonkeyPatch,
    client: TestClient,
    client_as: Callable[..., TestClient],
) -> None:
    customer = create(client, _acme_gb())
    for role in ("ar_manager", "controller", "cfo"):  # approvers of a hard delete
        client_as(role)
    monkeypatch.setattr(container, "policy", load_policy(None))  # the shipped policy
    deleted = client.delete(f"{API}/customers/{customer['id']}")
    assert deleted.status_code == 202, deleted.text
    request_id = deleted.json()["id"]
    assert deleted.json()["entities"] == ["GB01"]  # the request concerns the owner only...
    steward = client_as("gb_steward", roles=["data_steward"], entities=["GB01"])
    one = steward.get(f"{API}/change-requests/{request_id}")
    assert_no_leak(one)  # ...but its diff holds the whole snapshot, every override
    assert one.json()["change"]["base_values"]["customer"]["overrides"].keys() == {"GB01"}
    assert_no_leak(steward.get(f"{API}/change-requests"))
    assert DE_SECRET in client.get(f"{API}/change-requests/{request_id}").text
    exported = steward.get(f"{API}/customers/{customer['id']}/personal-data")
    assert_no_leak(exported)
    assert set(exported.json()["customer"]["overrides"]) == {"GB01"}


def test_a_scoped_writer_sees_only_its_entities_in_the_answer(
    client: TestClient, client_as: Callable[..., TestClient]
) -> None:
    customer = create(client, _acme_gb())
    gb = client_as("gb_ar", roles=["ar_manager"], entities=["GB01"])
    patch = {"overrides": [{"action": "update", "entity": "GB01", "credit_limit": "71000"}]}
    answered = gb.patch(f"{API}/customers/{customer['id']}", json=patch)
    assert_no_leak(answered)
    assert answered.json()["overrides"]["GB01"]["credit_limit"] == "71000"


@pytest.mark.parametrize("role", ["viewer", "data_steward"])
def test_an_unscoped_user_still_sees_every_override(
    role: str, client: TestClient, client_as: Callable[..., TestClient]
) -> None:
    customer = create(client, _acme_gb())
    user = client_as(f"all_{role}", roles=[role])
    assert set(user.get(f"{API}/customers/{customer['id']}").json()["overrides"]) == {
        "GB01",
        "DE01",
    }
