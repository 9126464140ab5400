"""Tests for custmaster.matching.keys."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from custmaster.matching.keys import KEY_TYPES, match_keys
from custmaster.matching.record import MatchRecord, prepare

FULL = MatchRecord(
    "1",
    name="Keystone Packaging GmbH",
    email="ap@keystonepackaging.de",
    phone="+49 4512 904801",
    website="https://keystonepackaging.de",
    tax_id="DE464070231",
    street="Claudius-Reising-Gasse 99/40",
    postal_code="61318",
    city="Brand",
    country="DE",
)


def test_keys_of_full_record() -> None:
    keys = match_keys(FULL)
    types = [t for t, _ in keys]
    assert set(types) <= set(KEY_TYPES)
    assert ("tax", "DE464070231") in keys
    assert ("email", "ap@keystonepackaging.de") in keys
    assert ("domain", "keystonepackaging.de") in keys
    assert ("phone", "+494512904801") in keys
    assert ("name", "keystone packaging") in keys
    assert len(keys) == len(set(keys))
    assert all(len(v) <= 100 for _, v in keys)


def test_raw_and_prepared_give_same_keys() -> None:
    assert match_keys(FULL) == match_keys(prepare(FULL))


def test_empty_record_has_no_keys() -> None:
    assert match_keys(MatchRecord("1")) == []


def test_variants_share_keys() -> None:
    variants = [
        MatchRecord("2", name="KEYSTONE PACKAGING G.m.b.H.", country="Germany"),
        MatchRecord("3", name="Keystone Packagin", postal_code="61318", country="DE"),
        MatchRecord("4", name="Packaging Keystone", city="Brand", country="DE"),
        MatchRecord(
            "5",
            name="Other name",
            street="Claudius-Reising-Gasse 99",
            postal_code="61318",
            country="DE",
        ),
    ]
    base = set(match_keys(FULL))
    for v in variants:
        assert base & set(match_keys(v)), v


@given(st.text(max_size=40), st.text(max_size=20), st.sampled_from(["DE", "US", None]))
def test_keys_are_deterministic(name: str, city: str, country: str | None) -> None:
    rec = MatchRecord("x", name=name, city=city, postal_code="10115", country=country)
    assert match_keys(rec) == match_keys(rec)


def test_street_keys_do_not_depend_on_the_postal_code() -> None:
    with_postal = MatchRecord(
        "1",
        name="Lenox Hill Senior Center",
        street="343 E. 65th St",
        postal_code="10065",
        city="New York",
        country="US",
    )
    without = MatchRecord(
        "2",
        name="LHNH Older Adults Program",
        street="343 East 65th Street",
        city="New York",
        country="US",
    )
    shared = set(match_keys(with_postal)) & set(match_keys(without))
    assert ("street", "US|65th|343") in shared


def test_a_name_alone_shares_keys_with_records_that_have_a_country() -> None:
    stored = MatchRecord("1", name="Koninklijke Philips N.V.", city="Amsterdam", country="NL")
    for name in ("Philips NV", "PHILIPS KONINKLIJKE N.V.", "Philips"):
        assert ("name", "philips") in set(match_keys(MatchRecord("2", name=name)))
    assert ("name", "philips") in set(match_keys(stored))
    tokens = {
        v for t, v in match_keys(MatchRecord("3", name="Royal Philips Electronics")) if t == "token"
    }
    assert "philips" in tokens
