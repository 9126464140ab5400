"""Source records follow their golden record out, through HTTP on SQLite and PostgreSQL:
erasing a person's data scrubs it from the source records and the fields' provenance
too, and a hard delete removes the customer's source records (none left orphaned)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from custmaster.bootstrap import Container
from custmaster.persistence.tables_sources import golden_fields, source_records
from custmaster.services.approval_policy_loader import load_policy

API = "/api/v1/customers"
PERSON = {
    "kind": "person",
    "name": "Erika Mustermann",
    "first_name": "Erika",
    "last_name": "Mustermann",
    "email": "erika@mail.example",
    "phone": "+49 30 1234567",
    "owning_entity": "DE01",
    "addresses": [
        {
            "type": "billing",
            "lines": ["Hauptstr. 1"],
            "city": "Berlin",
            "postal_code": "10115",
            "country": "DE",
        }
    ],
    "source_refs": [{"source_system": "shop", "source_id": "P-1"}],
}


def _count(container: Container, table: Any, customer_id: str) -> int:
    column = table.c.golden_id if table is source_records else table.c.customer_id
    with container.engine.connect() as connection:
        query = select(func.count()).select_from(table).where(column == UUID(customer_id))
        return int(connection.execute(query).scalar_one())


def test_erasing_a_person_scrubs_the_source_records(client: TestClient) -> None:
    created = client.post(API, json=PERSON)
    assert created.status_code == 201, created.text
    url = f"{API}/{created.json()['id']}"
    erased = client.post(f"{url}/erase")
    assert erased.status_code == 200, erased.text
    body = client.get(f"{url}/sources").json()
    (record,) = body["records"]
    text = repr(record)
    for value in ("Erika", "Mustermann", "erika@mail.example", "1234567", "Hauptstr", "10115"):
        assert value not in text, value
    assert record["received"]["addresses"] == [
        {"type": "billing", "city": "Berlin", "country": "DE"}
    ]
    assert record["normalised"] is None
    assert (record["source_system"], record["source_id"]) == ("shop", "P-1")  # lineage stays
    fields = {f["field"]: f for f in body["fields"]}
    assert fields["email"]["value"] == erased.json()["email"]
    assert fields["email"]["rule"] == "steward"
    assert "erika" not in repr(body["fields"]).casefold()


def test_erasing_a_contact_scrubs_it_from_the_source_records(client: TestClient) -> None:
    organisation = {
        "kind": "organization",
        "name": "Initech",
        "email": "ap@initech.example",
        "owning_entity": "US01",
        "contacts": [
            {"first_name": "Dana", "last_name": "Lee", "email": "dana@initech.example"},
            {"first_name": "Sam", "last_name": "Kim", "email": "sam@initech.example"},
        ],
        "source_refs": [{"source_system": "crm", "source_id": "C-1"}],
    }
    created = client.post(API, json=organisation).json()
    dana = next(c["id"] for c in created["contacts"] if c["last_name"] == "Lee")
    done = client.post(f"{API}/{created['id']}/contacts/{dana}/erase")
    assert done.status_code == 200, done.text
    (record,) = client.get(f"{API}/{created['id']}/sources").json()["records"]
    assert [c["email"] for c in record["received"]["contacts"]] == ["sam@initech.example"]
    assert [c["email"] for c in record["normalised"]["contacts"]] == ["sam@initech.example"]
    assert record["received"]["name"] == "Initech"  # the organisation's data stays


def test_a_hard_delete_removes_the_source_records(client: TestClient, container: Container) -> None:
    created = client.post(API, json=PERSON).json()
    url = f"{API}/{created['id']}"
    client.patch(url, json={"phone": "+49 30 7654321"})  # a steward's value: provenance
    assert _count(container, source_records, created["id"]) == 1
    assert client.delete(url).status_code == 204
    assert client.get(f"{url}/sources").status_code == 404
    assert _count(container, source_records, created["id"]) == 0
    assert _count(container, golden_fields, created["id"]) == 0
    again = client.post(API, json=PERSON)  # the same source record arrives anew
    assert again.status_code == 201, again.text
    assert len(client.get(f"{API}/{again.json()['id']}/sources").json()["records"]) == 1


def test_an_erasure_scrubs_the_source_records_when_its_approval_completes(
    client: TestClient,
    client_as: Callable[..., TestClient],
    container: Container,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    created = client.post(API, json=PERSON)
    assert created.status_code == 201, created.text
    monkeypatch.setattr(container, "policy", load_policy(None))  # the shipped policy
    url = f"{API}/{created.json()['id']}"
    steward = client_as("steward", roles=["data_steward"])
    approvers = (
        client_as("steward2", roles=["data_steward"]),
        client_as("ctrl", roles=["controller"]),
    )
    request = steward.post(f"{url}/erase")
    assert request.status_code == 202, request.text  # the erase lane waits for approval
    (record,) = client.get(f"{url}/sources").json()["records"]
    assert record["received"]["email"] == PERSON["email"]  # not before it applies
    approve = f"/api/v1/change-requests/{request.json()['id']}/approve"
    for approver in approvers:
        assert approver.post(approve, json={"comment": "ok"}).status_code == 200
    assert client.get(f"/api/v1/change-requests/{request.json()['id']}").json()["status"] == (
        "applied"
    )
    (record,) = client.get(f"{url}/sources").json()["records"]
    assert "erika" not in repr(record).casefold() and record["normalised"] is None
