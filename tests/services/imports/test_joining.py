"""Tests for custmaster.services.imports.joining (Salesforce contacts by AccountId)."""

from __future__ import annotations

import io

from custmaster.services.imports import read_records
from custmaster.services.imports.records import ImportRecord

ACCOUNTS = "Id,Name,BillingCountry\nA1,Acme,United States\nA2,Globex,Germany\nA3,Initech,NLD\n"
CONTACTS = (
    "Id,AccountId,FirstName,LastName,Email\n"
    "C9,A3,Peter,Gibbons,peter@initech.example\n"  # unsorted on purpose
    "C1,A1,Dana,Lee,dana@acme.example\n"
    "C2,A1,Sam,Ray,sam@acme.example\n"
    "C3,AX,Nobody,Home,nobody@nowhere.example\n"
    "C4,A3,Bill,Lumbergh,\n"
)


def _read(accounts: str, contacts: str) -> list[ImportRecord]:
    files = [io.BytesIO(accounts.encode()), io.BytesIO(contacts.encode())]
    with read_records(files, "salesforce") as records:
        return list(records)


def test_contacts_join_unsorted_and_orphans_are_reported() -> None:
    records = _read(ACCOUNTS, CONTACTS)
    acme, globex, initech, *rest = records
    assert [c["email"] for c in acme.command["contacts"]] == [
        "dana@acme.example",
        "sam@acme.example",
    ]
    assert [c.get("is_primary", False) for c in acme.command["contacts"]] == [True, False]
    assert acme.command["email"] == "dana@acme.example"
    assert acme.related_rows == {"contacts": [2, 3]}
    assert acme.ok
    assert globex.missing_required == ["email"] and "contacts" not in globex.command
    assert initech.related_rows == {"contacts": [1, 5]}
    assert initech.command["email"] == "peter@initech.example"
    assert initech.command["addresses"][0]["country"] == "NL"
    (orphan,) = rest
    assert orphan.row_numbers == [] and orphan.related_rows == {"contacts": [4]}
    assert orphan.source_id == "C3"
    assert [(e.field, e.code) for e in orphan.errors] == [("AccountId", "unknown_parent")]


def test_malformed_contact_rows_are_reported() -> None:
    contacts = "Id,AccountId,FirstName,LastName,Email\nC1,A1,Dana,Lee,d@a.example,extra\n"
    records = _read(ACCOUNTS, contacts)
    assert len(records) == 4
    assert records[-1].errors[0].code == "malformed_row"
    assert records[-1].related_rows == {"contacts": [1]}
    assert "contacts" not in records[0].command


def test_primary_contact_without_email_does_not_lend_one() -> None:
    contacts = "Id,AccountId,FirstName,LastName,Email\nC1,A2,Hans,Meier,\n"
    globex = _read(ACCOUNTS, contacts)[1]
    assert globex.command["contacts"] == [
        {"first_name": "Hans", "last_name": "Meier", "is_primary": True}
    ]
    assert globex.missing_required == ["email"]
