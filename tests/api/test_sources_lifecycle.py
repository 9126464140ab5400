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


def test_erasing_a_person_scrubs_the_merge_records_too(client: TestClient) -> None:
    """A person merged with a duplicate of theirs: the erasure anonymises the merge
    record's snapshots (survivor before and after, the absorbed duplicate), so an unmerge
    afterwards restores an anonymised duplicate, not the erased values."""
    survivor = client.post(API, json=PERSON)
    assert survivor.status_code == 201, survivor.text
    duplicate = client.post(
        API,
        json={
            **PERSON,
            "name": "Erika M. Mustermann",
            "email": "e.mustermann@work.example",
            "phone": "+49 30 7654321",
            "contacts": [
                {"first_name": "Erika", "last_name": "Mustermann", "email": "erika@mail.example"}
            ],
            "source_refs": [{"source_system": "crm", "source_id": "C-9"}],
        },
    )
    assert duplicate.status_code == 201, duplicate.text
    url = f"{API}/{survivor.json()['id']}"
    merged = client.post(f"{url}/merge", json={"absorbed_ids": [duplicate.json()["id"]]})
    assert merged.status_code == 200, merged.text
    record_url = f"/api/v1/merges/{merged.json()['merge_id']}"
    personal = ("Erika", "Mustermann", "erika@mail", "e.mustermann@work", "1234567", "7654321")
    personal += ("Hauptstr", "10115")
    before = client.get(record_url)
    assert before.status_code == 200 and all(v in before.text for v in personal), before.text
    erased = client.post(f"{url}/erase")
    assert erased.status_code == 200, erased.text
    record = client.get(record_url)
    assert record.status_code == 200, record.text
    for value in personal:
        assert value not in record.text, value
    assert erased.json()["email"] in record.text  # the survivor's anonymised e-mail
    undone = client.post(f"{record_url}/unmerge")
    assert undone.status_code == 200, undone.text
    restored = client.get(f"{API}/{duplicate.json()['id']}")
    assert restored.status_code == 200, restored.text
    for value in personal:
        assert value not in restored.text, value
    assert restored.json()["addresses"][0]["city"] == "Berlin"  # not personal: kept


def test_erasing_a_contact_scrubs_it_from_the_merge_records(client: TestClient) -> None:
    company = {
        "kind": "organization",
        "name": "Rhein Logistik GmbH",
        "email": "ap@rhein.example",
        "owning_entity": "DE01",
        "contacts": [
            {"first_name": "Dana", "last_name": "Scully", "email": "dana@rhein.example"},
            {"first_name": "Fox", "last_name": "Mulder", "email": "fox@rhein.example"},
        ],
    }
    survivor = client.post(API, json=company)
    duplicate = client.post(
        API, json={**company, "name": "Rhein Logistik", "email": "info@rhein.example"}
    )
    assert survivor.status_code == 201 and duplicate.status_code == 201, duplicate.text
    url = f"{API}/{survivor.json()['id']}"
    merged = client.post(f"{url}/merge", json={"absorbed_ids": [duplicate.json()["id"]]})
    assert merged.status_code == 200, merged.text
    dana = next(c["id"] for c in survivor.json()["contacts"] if c["first_name"] == "Dana")
    erased = client.post(f"{url}/contacts/{dana}/erase")
    assert erased.status_code == 200, erased.text
    record = client.get(f"/api/v1/merges/{merged.json()['merge_id']}").text
    assert "Scully" not in record and "dana@rhein.example" not in record
    assert "Mulder" in record and "fox@rhein.example" in record  # another person: kept
