"""Warnings on change requests (issue 12 item 12): under the shipped policy a create or
update waits for approval, and its credit-limit and possible-duplicate warnings are
computed at submission, stored on the request and shown to every approver."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from custmaster.bootstrap import Container
from tests.factories import acme

API = "/api/v1"


def _approve(client: TestClient, request_id: str) -> None:
    response = client.post(f"{API}/change-requests/{request_id}/approve", json={"comment": "ok"})
    assert response.status_code == 200, response.text


def _codes(body: dict[str, Any]) -> dict[str | None, str]:
    return {w["field"]: w["code"] for w in body["warnings"]}


def test_warnings_are_computed_at_submission_and_shown_to_every_approver(
    governed: Container, client: TestClient, client_as: Callable[..., TestClient]
) -> None:
    ar, ctrl = client_as("ar", roles=["ar_manager"]), client_as("ctrl", roles=["controller"])
    cfo = client_as("cfo", roles=["cfo"])
    # an existing customer, through the whole approval
    first = client.post(f"{API}/customers", json=acme(overrides=None))
    assert first.status_code == 202, first.text
    assert first.json()["warnings"] == []
    _approve(ar, first.json()["id"])
    _approve(ctrl, first.json()["id"])
    existing = client.get(f"{API}/customers").json()["items"]
    assert [c["name"] for c in existing] == ["Acme Corporation"]

    # a near copy with a huge credit limit: two kinds of warning, on the request
    twin = acme(overrides=None, credit_limit="5000000", email="billing@acme.example")
    submitted = client.post(f"{API}/customers", json=twin)
    assert submitted.status_code == 202, submitted.text
    request_id = submitted.json()["id"]
    expected = {"credit_limit": "large_credit_limit"}
    assert expected.items() <= _codes(submitted.json()).items()
    assert "similar_customer" in _codes(submitted.json()).values()
    for approver in (ar, ctrl, cfo):
        one = approver.get(f"{API}/change-requests/{request_id}")
        assert one.status_code == 200, one.text
        assert one.json()["warnings"] == submitted.json()["warnings"]
        listed = approver.get(f"{API}/change-requests", params={"status": "pending"})
        (item,) = [r for r in listed.json()["items"] if r["id"] == request_id]
        assert item["warnings"] == submitted.json()["warnings"]
    waiting = ar.get(f"{API}/change-requests", params={"waiting_for_me": "true"}).json()
    assert [r["warnings"] for r in waiting["items"]] == [submitted.json()["warnings"]]


def test_an_update_waiting_for_approval_carries_its_override_warning(
    governed: Container, client: TestClient, client_as: Callable[..., TestClient]
) -> None:
    ar, ctrl = client_as("ar", roles=["ar_manager"]), client_as("ctrl", roles=["controller"])
    client_as("cfo", roles=["cfo"])
    created = client.post(f"{API}/customers", json=acme())
    _approve(ar, created.json()["id"])
    _approve(ctrl, created.json()["id"])
    (customer,) = client.get(f"{API}/customers").json()["items"]
    patch = {"overrides": [{"action": "update", "entity": "DE01", "credit_limit": "2000000"}]}
    submitted = client.patch(f"{API}/customers/{customer['id']}", json=patch)
    assert submitted.status_code == 202, submitted.text
    assert _codes(submitted.json()) == {"overrides.DE01.credit_limit": "large_credit_limit"}
    read = ctrl.get(f"{API}/change-requests/{submitted.json()['id']}").json()
    assert _codes(read) == {"overrides.DE01.credit_limit": "large_credit_limit"}
    # a scoped approver sees only its entities' warnings (and requests)
    gb = client_as("gb_ar", roles=["ar_manager"], entities=["GB01"])
    assert gb.get(f"{API}/change-requests/{submitted.json()['id']}").status_code == 404
