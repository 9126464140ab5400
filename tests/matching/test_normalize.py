"""Tests for custmaster.matching.normalize."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custmaster.matching.normalize import (
    fold,
    normalize_company_name,
    normalize_country,
    normalize_email,
    normalize_person_name,
    normalize_phone,
    normalize_postal_code,
    normalize_street,
    normalize_tax_id,
    website_domain,
)


@pytest.mark.parametrize(
    ("raw", "core", "form"),
    [
        ("Harbor Packaging GmbH & Co. KG", "harbor packaging", "gmbh & co kg"),
        ("Harbor Packaging GmbH u. Co. KG", "harbor packaging", "gmbh & co kg"),
        ("Stonefield Fasteners, LLC", "stonefield fasteners", "llc"),
        ("Stonefield Fasteners L.L.C.", "stonefield fasteners", "llc"),
        ("EVERGREEN HYDRAULICS N.V.", "evergreen hydraulics", "nv"),
        ("Acme S.A.S.", "acme", "sas"),
        ("Acme SAS", "acme", "sas"),
        ("Acme B.V.", "acme", "bv"),
        ("Acme Ltd.", "acme", "ltd"),
        ("Acme Limited", "acme", "ltd"),
        ("Acme Pty Ltd", "acme", "pty ltd"),
        ("Acme Incorporated", "acme", "inc"),
        ("ACME Intl. Mfg Inc", "acme international manufacturing", "inc"),
        ("Smith & Sons", "smith sons", None),
        ("Smith and Sons", "smith sons", None),
        ("Crescent Präzisionsteile AG", "crescent prazisionsteile", "ag"),
        ("I.B.M. Corp", "ibm", "corp"),
        ("GmbH", "gmbh", None),
    ],
)
def test_company_names(raw: str, core: str, form: str | None) -> None:
    name = normalize_company_name(raw)
    assert name.core == core
    if form is not None:
        assert name.legal_form == form


def test_company_name_variants_agree() -> None:
    variants = [
        "Harbor Packaging GmbH & Co. KG",
        "HARBOR PACKAGING GMBH & CO KG",
        "Harbor Packaging",
        "harbor packaging gmbh",
    ]
    assert len({normalize_company_name(v).core for v in variants}) == 1


def test_empty_company_name() -> None:
    assert normalize_company_name(None).core == ""
    assert normalize_company_name("  ...  ").tokens == ()


@given(st.text())
def test_normalisers_are_total(text: str) -> None:
    normalize_company_name(text)
    normalize_person_name(text, text)
    normalize_street(text)
    normalize_postal_code(text, "DE")
    normalize_phone(text, "US")
    normalize_email(text)
    website_domain(text)
    normalize_tax_id(text, "FR")
    normalize_country(text)


@given(st.text())
def test_fold_is_idempotent_ascii(text: str) -> None:
    once = fold(text)
    assert fold(once) == once
    assert once.isascii()


@given(st.text())
def test_company_core_is_stable(text: str) -> None:
    core = normalize_company_name(text).core
    assert normalize_company_name(core).core == normalize_company_name(core).core


def test_person_names() -> None:
    assert normalize_person_name("Dr. José", "García-López") == "jose garcia lopez"
    assert normalize_person_name(None, None) == ""


@pytest.mark.parametrize(
    ("raw", "name", "number"),
    [
        ("100 Market St.", "market street", "100"),
        ("Tina-Hiller-Straße 50", "tina hiller strasse", "50"),
        ("Tina-Hiller-Str. 50", "tina hiller strasse", "50"),
        ("Mohauptstr. 45-34", "mohauptstrasse", "45"),
        ("2, rue de Poulain", "rue de poulain", "2"),
        ("31373 Harris Road Apt. 751", "harris road", "31373"),
        ("12 N Main Ave", "north main avenue", "12"),
    ],
)
def test_streets(raw: str, name: str, number: str) -> None:
    street = normalize_street(raw)
    assert (street.name, street.number) == (name, number)


def test_street_uses_first_line() -> None:
    assert normalize_street(["", "100 Market St", "Suite 300"]).number == "100"
    assert normalize_street(None).name == ""


@pytest.mark.parametrize(
    ("code", "country", "expected"),
    [
        ("3543 SX", "NL", "3543SX"),
        ("S6 3DX", "GB", "S63DX"),
        ("94105-1234", "US", "94105"),
        ("8246", "DE", "08246"),
        ("K1A 0B1", "CA", "K1A0B1"),
        ("", "DE", None),
        (None, None, None),
    ],
)
def test_postal_codes(code: str | None, country: str | None, expected: str | None) -> None:
    assert normalize_postal_code(code, country) == expected


def test_phones() -> None:
    assert normalize_phone("(486) 631-2560", "US") == "+14866312560"
    assert normalize_phone("+1 486-631-2560") == "+14866312560"
    assert normalize_phone("+31 2417 758513") == normalize_phone("+312417758513")
    assert normalize_phone("0049 451 2904801", "DE") == "+494512904801"
    assert normalize_phone("12", "US") is None


def test_emails() -> None:
    assert normalize_email(" Dana.Lee@ACME.example ") == ("dana.lee@acme.example", "acme.example")
    assert normalize_email("x@googlemail.com") == ("x@gmail.com", "gmail.com")
    assert normalize_email("not an email") is None


def test_websites() -> None:
    assert website_domain("https://www.Acme.example/about") == "acme.example"
    assert website_domain("www.evergreenhydraulics.nl") == "evergreenhydraulics.nl"
    assert website_domain("acme.co.uk:8080") == "acme.co.uk"
    assert website_domain("localhost") is None


def test_tax_ids() -> None:
    assert normalize_tax_id("NL 5562.79955 B01") == "NL556279955B01"
    assert normalize_tax_id("464070231", "DE") == "DE464070231"
    assert normalize_tax_id("de464070231") == "DE464070231"
    assert normalize_tax_id("81-6445028", "US") == "816445028"
    assert normalize_tax_id(" - ") is None


def test_countries() -> None:
    assert normalize_country("NLD") == "NL"
    assert normalize_country("United States") == "US"
    assert normalize_country("de") == "DE"
    assert normalize_country("Atlantis") is None
