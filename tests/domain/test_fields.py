"""The email validator's fast path gives exactly email-validator's answer."""

from __future__ import annotations

import random

import pytest
from email_validator import EmailNotValidError, validate_email

from custmaster.domain import fields as f
from custmaster.domain.errors import ErrorCollector
from custmaster.services.sample_data import generate_customers


def _library(raw: str) -> str | None:
    try:
        return validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


EDGE_CASES = [
    "anna.schmidt@example.com",
    "Anna.Schmidt@Example.COM",
    "ANNA@EXAMPLE.DE",
    "a@b.co",
    "a+tag@sub.domain.example.org",
    "first_last-1@my-company.example",
    "x@a.b",  # one-letter TLD
    "x@a.b2",  # TLD ends with a digit
    "x@a.123",
    "x@localhost",
    "x@host.localhost",
    "x@printer.local",
    "x@my.test",
    "x@example.invalid",
    "x@1.in-addr.arpa",
    "x@hidden.onion",
    "x@xn--mller-kva.de",
    "x@ab--cd.com",
    "x@a--b.com",
    "x@-ab.com",
    "x@ab-.com",
    "x@ab..com",
    "x@.ab.com",
    "x@ab.com.",
    ".x@ab.com",
    "x.@ab.com",
    "x..y@ab.com",
    "x@@ab.com",
    "@ab.com",
    "x@",
    "x",
    "Info@example.com",
    "SALES@Example.com",
    "postmaster@example.com",
    "www@example.com",
    "infos@example.com",
    "x y@ab.com",
    '"quoted"@ab.com',
    "Anna <anna@ab.com>",
    "müller@ab.com",
    "x@müller.de",
    "x@\uff25\uff38\uff21\uff2d\uff30\uff2c\uff25.com",  # full-width letters
    "x@ab.c0m",
    "x!#$%&'*/=?^`{|}~@ab.com",
    "a" * 64 + "@ab.com",
    "a" * 65 + "@ab.com",
    "x@" + "a" * 63 + ".com",
    "x@" + "a" * 64 + ".com",
    "x@" + ".".join(["a" * 60] * 4) + ".com",
    "a" * 240 + "@abcdef.com",
    "a" * 241 + "@abcdef.com",
    "a" * 250 + "@ab.com",
    "x@ab.co\u212a",  # Kelvin sign
    "x@ab.com\n",
]


def _fuzz(count: int) -> list[str]:
    rng = random.Random(20261123)
    alphabet = "aZ09._+-@-..xn" + "Kk" + "é" + " " + '"'
    tlds = ["com", "de", "org", "x", "local", "test", "c0m", "COM", "io", "arpa"]
    out = []
    for _ in range(count):
        local = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        labels = [
            "".join(rng.choice("ab9-xnK.") for _ in range(rng.randint(0, 8)))
            for _ in range(rng.randint(1, 3))
        ]
        out.append(f"{local}@{'.'.join(labels)}.{rng.choice(tlds)}")
    return out


@pytest.mark.parametrize("raw", EDGE_CASES)
def test_fast_path_agrees_with_email_validator_on_edge_cases(raw: str) -> None:
    fast = f._plain_email(raw)
    assert fast is None or fast == _library(raw)
    assert f._normalise_email(raw) == _library(raw)


def test_fast_path_agrees_with_email_validator_on_fuzzed_addresses() -> None:
    taken = 0
    for raw in _fuzz(5000):
        fast = f._plain_email(raw)
        if fast is not None:
            taken += 1
            assert fast == _library(raw), raw
        assert f._normalise_email(raw) == _library(raw), raw
    assert taken > 50  # the fuzz does reach the fast path


def test_fast_path_takes_realistic_addresses_and_agrees() -> None:
    emails = [
        value
        for customer in generate_customers(300, seed=7, profile="lean")
        for key in ("email", "billing_email")
        if isinstance(value := dict(customer).get(key), str)
    ]
    assert len(emails) >= 300
    fast = [f._plain_email(e) for e in emails]
    assert sum(v is not None for v in fast) >= 0.95 * len(emails)
    for raw, value in zip(emails, fast, strict=True):
        assert value is None or value == _library(raw), raw


def test_email_field_reports_an_invalid_address() -> None:
    errors = ErrorCollector()
    assert f.email("x@localhost", "email", errors) is None
    assert [e.code for e in errors.errors] == ["invalid_email"]
    errors = ErrorCollector()
    assert f.email(" Anna@Example.COM ", "email", errors) == "Anna@example.com"
    assert not errors
