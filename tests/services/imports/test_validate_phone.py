"""A phone number given in its E.164 form is not parsed again for the match features
(``validate.phone_as_given``, ``MatchRecord.phone_e164``): the features are the same as
the matcher makes by parsing it, for every region's example numbers given either way and
for numbers whose E.164 form parses back to another number."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import phonenumbers
import pytest

from custmaster.domain.build import new_customer
from custmaster.domain.context import ParseContext
from custmaster.services.imports.validate import _match_payload, phone_as_given

NOW = datetime(2026, 12, 6, tzinfo=UTC)
E164 = phonenumbers.PhoneNumberFormat.E164
INTERNATIONAL = phonenumbers.PhoneNumberFormat.INTERNATIONAL
#: E.164-looking texts the domain reads as another number (a national prefix in them:
#: ``+440229712609`` is ``+44229712609``)
TRICKY = ["+440229712609", "+4906912345678", "+330123456789", "+4402079460000"]
#: an Italian number keeps its leading zero: given in E.164, it is read as it is
ITALIAN = "+390612345678"


def _command(phone: str, country: str) -> dict[str, Any]:
    return {
        "kind": "organization",
        "name": "Acme Trading GmbH",
        "email": "ap@acme.example",
        "owning_entity": "DE01",
        "phone": phone,
        "addresses": [
            {
                "type": "billing",
                "lines": ["1 Main Street"],
                "city": "Springfield",
                "postal_code": "12345",
                "country": country,
                "is_primary": True,
            }
        ],
    }


def _phones() -> list[tuple[str, str]]:
    """(phone text, address country): every region's example fixed-line and mobile
    number in E.164 and international format, read with its own and a foreign country."""
    found = [(text, country) for text in (*TRICKY, ITALIAN) for country in ("GB", "IT", "DE", "US")]
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            for fmt in (E164, INTERNATIONAL):
                text = phonenumbers.format_number(example, fmt)
                found += [(text, region), (text, "US" if region != "US" else "DE")]
    return found


def test_features_of_a_phone_given_in_e164_are_the_matchers() -> None:
    as_given = 0
    for phone, country in _phones():
        command = _command(phone, country)
        customer = new_customer(
            command, customer_id=uuid4(), number="", now=NOW, ctx=ParseContext()
        )
        if customer is None:
            continue
        if phone_as_given(customer, command):
            as_given += 1
            assert phone not in TRICKY
        # with the command: its phone taken as it is when given in E.164; without: parsed
        assert _match_payload(customer, None, command) == _match_payload(customer), (
            phone,
            country,
        )
    assert as_given > 300  # the shortcut is taken: most example numbers are given in E.164


@pytest.mark.parametrize("phone", TRICKY)
def test_an_e164_text_read_as_another_number_is_parsed_again(phone: str) -> None:
    command = _command(phone, "GB")
    customer = new_customer(command, customer_id=uuid4(), number="", now=NOW, ctx=ParseContext())
    assert customer is not None
    assert customer.phone != phone
    assert not phone_as_given(customer, command)


def test_an_e164_text_read_as_it_is_is_taken_as_it_is() -> None:
    command = _command(ITALIAN, "IT")
    customer = new_customer(command, customer_id=uuid4(), number="", now=NOW, ctx=ParseContext())
    assert customer is not None and phone_as_given(customer, command)
    assert _match_payload(customer, None, command) == _match_payload(customer)
