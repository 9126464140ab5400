"""Tests for custmaster.matching.record."""

from __future__ import annotations

from custmaster.matching.record import MatchRecord, from_customer_dict, prepare

CUSTOMER = {
    "id": "c-1",
    "kind": "organization",
    "name": "Acme",
    "legal_name": "Acme Corporation",
    "email": "ap@acme.example",
    "phone": "+1 415 555 0100",
    "website": "https://acme.example",
    "tax_id": "94-1234567",
    "addresses": [
        {
            "type": "shipping",
            "lines": ["1 Dock Rd"],
            "city": "Oakland",
            "postal_code": "94607",
            "country": "US",
            "is_primary": True,
        },
        {
            "type": "billing",
            "lines": ["100 Market St", "Suite 300"],
            "city": "San Francisco",
            "region": "US-CA",
            "postal_code": "94105",
            "country": "US",
            "is_primary": True,
        },
    ],
}


def test_from_customer_dict_picks_primary_billing_and_legal_name() -> None:
    rec = from_customer_dict(CUSTOMER)
    assert rec.id == "c-1"
    assert rec.name == "Acme Corporation"
    assert rec.street == "100 Market St\nSuite 300"
    assert (rec.city, rec.postal_code, rec.country) == ("San Francisco", "94105", "US")


def test_from_customer_dict_tolerates_missing_fields() -> None:
    rec = from_customer_dict({"kind": "person", "first_name": " Dana ", "addresses": None})
    assert rec == MatchRecord(id="", kind="person", first_name="Dana")


def test_prepare_organization() -> None:
    f = prepare(from_customer_dict(CUSTOMER))
    assert f.name == "acme"
    assert f.legal_form == "corp"
    assert f.domains == frozenset({"acme.example"})
    assert f.phone == "+14155550100"
    assert f.tax_id == "941234567"
    assert (f.street, f.house_number, f.postal_code) == ("market street", "100", "94105")


def test_prepare_person_and_free_mail() -> None:
    f = prepare(
        MatchRecord(
            "p", kind="person", first_name="José", last_name="Núñez", email="Jose@GMAIL.com"
        )
    )
    assert f.name == "jose nunez"
    assert f.email == "jose@gmail.com"
    assert f.domains == frozenset()
