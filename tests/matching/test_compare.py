"""Tests for custmaster.matching.compare."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from custmaster.matching.compare import (
    COMPARISONS,
    NULL_LEVEL,
    compare_address,
    compare_contact,
    compare_country,
    compare_name,
    compare_phone,
    compare_tax_id,
    comparison_vector,
    tax_ids_conflict,
)
from custmaster.matching.record import MatchFeatures, MatchRecord, prepare


def _p(**kw: str) -> object:
    return prepare(MatchRecord("x", **kw))


def test_name_levels() -> None:
    base = prepare(MatchRecord("1", name="Keystone Packaging GmbH"))
    assert compare_name(base, prepare(MatchRecord("2", name="KEYSTONE PACKAGING"))) == 6
    assert compare_name(base, prepare(MatchRecord("2", name="Keystone Packaging AG"))) == 5
    assert compare_name(base, prepare(MatchRecord("2", name="Keystone Packagng GmbH"))) == 4
    assert compare_name(base, prepare(MatchRecord("2", name="Keystone Packaging Group"))) == 3
    assert compare_name(base, prepare(MatchRecord("2", name="Keystone Fasteners GmbH"))) == 0
    assert compare_name(base, prepare(MatchRecord("2"))) == NULL_LEVEL


def _person(first: str, last: str) -> MatchFeatures:
    """A person known by one name field (persons with given and family names of their
    own are compared part by part: tests/matching/test_name_parts.py)."""
    return prepare(MatchRecord("p", kind="person", name=f"{first} {last}"))


def test_persons_with_the_same_family_name() -> None:
    caleb = _person("Caleb", "Challenor")
    # unrelated given names: two people of one family (level 1, its own weight)
    assert compare_name(caleb, _person("Nathan", "Challenor")) == 1
    assert compare_name(caleb, _person("Nathan", "Challenro")) == 1
    assert compare_name(caleb, _person("Nathan", "Rollins")) == 0
    # given names that may be one person's: an initial, a short form, a typo
    assert compare_name(caleb, _person("C.", "Challenor")) == 2
    assert compare_name(_person("Bartholomeus", "Verlinden"), _person("Bart", "Verlinden")) == 2
    assert compare_name(caleb, _person("Kaleb", "Challenor")) >= 2
    # organisations sharing a last word are not family
    org = prepare(MatchRecord("1", name="Keystone Packaging"))
    assert compare_name(org, prepare(MatchRecord("2", name="Harbor Packaging"))) == 0
    # a single-word person name has no family name to compare
    assert compare_name(_person("", "Challenor"), _person("Nathan", "Challenor")) == 3


def test_generic_us_forms_do_not_conflict() -> None:
    a = prepare(MatchRecord("1", name="Acme Inc"))
    assert compare_name(a, prepare(MatchRecord("2", name="Acme Corp."))) == 6


def test_tax_id_levels() -> None:
    a = prepare(MatchRecord("1", tax_id="DE464070231"))
    assert compare_tax_id(a, prepare(MatchRecord("2", tax_id="464070231", country="DE"))) == 2
    assert compare_tax_id(a, prepare(MatchRecord("2", tax_id="DE464070213"))) == 1
    assert compare_tax_id(a, prepare(MatchRecord("2", tax_id="DE999999999"))) == 0
    assert compare_tax_id(a, prepare(MatchRecord("2"))) == NULL_LEVEL
    assert not tax_ids_conflict("A1234567", "A1234576")
    assert tax_ids_conflict("A1234567", "B7654321")


def test_contact_levels() -> None:
    a = prepare(MatchRecord("1", email="ap@acme.example"))
    assert compare_contact(a, prepare(MatchRecord("2", email="AP@acme.example"))) == 3
    assert compare_contact(a, prepare(MatchRecord("2", website="www.acme.example"))) == 2
    assert compare_contact(a, prepare(MatchRecord("2", website="other.example"))) == 0
    g = prepare(MatchRecord("1", email="a@gmail.com"))
    assert compare_contact(g, prepare(MatchRecord("2", email="b@gmail.com"))) == 1
    assert compare_contact(g, prepare(MatchRecord("2", website="acme.example"))) == NULL_LEVEL


def test_phone_levels() -> None:
    a = prepare(MatchRecord("1", phone="+14155550100"))
    assert compare_phone(a, prepare(MatchRecord("2", phone="(415) 555-0100", country="US"))) == 2
    assert compare_phone(a, prepare(MatchRecord("2", phone="+4414155550100"))) == 1
    assert compare_phone(a, prepare(MatchRecord("2", phone="+14155559999"))) == 0


def test_address_levels() -> None:
    a = prepare(
        MatchRecord(
            "1", street="Tina-Hiller-Straße 50", postal_code="50752", city="Güstrow", country="DE"
        )
    )

    def lvl(**kw: str) -> int:
        return compare_address(a, prepare(MatchRecord("2", country="DE", **kw)))

    assert lvl(street="Tina-Hiller-Str. 50", postal_code="50752") == 4
    assert lvl(street="Tina-Hiler-Strasse 50", postal_code="50752") == 3
    assert lvl(street="Anderer Weg 1", postal_code="50752") == 2
    assert lvl(street="Anderer Weg 1", postal_code="99999", city="Gustrow") == 1
    assert lvl(street="Anderer Weg 1", postal_code="99999", city="Berlin") == 0
    assert compare_address(a, prepare(MatchRecord("2"))) == NULL_LEVEL


def test_country() -> None:
    assert (
        compare_country(
            prepare(MatchRecord("1", country="NLD")), prepare(MatchRecord("2", country="NL"))
        )
        == 1
    )


names = st.sampled_from(["Acme GmbH", "ACME", "Acme Intl", "Beta LLC", "", "Acme Group"])
emails = st.sampled_from(["a@acme.example", "b@acme.example", "x@gmail.com", ""])
phones = st.sampled_from(["+14155550100", "(415) 555-0100", "+441234567890", ""])
cities = st.sampled_from(["Berlin", "Berlln", "Paris", ""])
postals = st.sampled_from(["10115", "10117", ""])


@st.composite
def records(draw: st.DrawFn) -> MatchRecord:
    return MatchRecord(
        draw(st.sampled_from(["1", "2"])),
        name=draw(names) or None,
        email=draw(emails) or None,
        phone=draw(phones) or None,
        city=draw(cities) or None,
        postal_code=draw(postals) or None,
        country="US",
        tax_id=draw(st.sampled_from([None, "DE1234567", "DE1234568", "FR99"])),
        street=draw(st.sampled_from([None, "1 Main St", "1 Main Street", "2 Side Rd"])),
    )


@given(records(), records())
def test_comparisons_are_symmetric_and_in_range(a: MatchRecord, b: MatchRecord) -> None:
    fa, fb = prepare(a), prepare(b)
    vec = comparison_vector(fa, fb)
    assert vec == comparison_vector(fb, fa)
    for comp, level in zip(COMPARISONS, vec, strict=True):
        assert NULL_LEVEL <= level < comp.num_levels


@given(records())
def test_self_comparison_is_top_or_null(a: MatchRecord) -> None:
    f = prepare(a)
    for comp, level in zip(COMPARISONS, comparison_vector(f, f), strict=True):
        if comp.name == "address":  # without a street only postal code/city can agree
            assert level == NULL_LEVEL or level >= 1
            assert level == 4 or not f.street
        else:
            assert level in (NULL_LEVEL, comp.num_levels - 1)


def test_address_street_type_and_directional_are_optional() -> None:
    def level(s1: str, s2: str, **kw: str) -> int:
        return compare_address(
            prepare(MatchRecord("1", street=s1, city="Dayton", **kw)),
            prepare(MatchRecord("2", street=s2, city="Dayton")),
        )

    assert level("12 S. Main", "12 S Main Blvd") == 4
    assert level("12 South Main Street", "12 Main St") == 4
    assert level("12 S Main", "14 S Main") < 3  # another house on the street
    assert level("12 Main St", "Main Street") == 3  # a number missing on one side
    assert level("12 S Main", "12 S Main Blvd", postal_code="45402") == 4  # postal one side


def test_numbered_streets_keep_their_number() -> None:
    e65 = prepare(MatchRecord("1", street="343 E 65th St", city="New York"))
    e66 = prepare(MatchRecord("2", street="343 E 66th St", city="New York"))
    assert e65.street == "east 65th street" and e65.house_number == "343"
    assert compare_address(e65, e66) < 3
    assert (
        compare_address(
            e65, prepare(MatchRecord("3", street="343 East 65th Street", city="New York"))
        )
        == 4
    )


def test_a_postal_code_typo_keeps_the_street_and_number() -> None:
    a = _p(street="2 Morgan Crescent", postal_code="2250", city="Raymond Terrace", country="AU")
    typo = _p(street="2 Morgan Crescent", postal_code="2205", city="Raymond Terrace", country="AU")
    other_town = _p(street="2 Morgan Crescent", postal_code="3161", city="Malvern", country="AU")
    assert compare_address(a, typo) == 3  # nearby area: not the top level
    assert compare_address(a, a) == 4
    assert compare_address(a, other_town) == 0
    swapped = _p(street="15 Coningham St", postal_code="3095", country="AU")
    assert (
        compare_address(_p(street="15 Coningham St", postal_code="3059", country="AU"), swapped)
        == 3
    )


def test_names_split_or_joined_by_a_space_are_a_typo_apart() -> None:
    joined = _person("Joel", "McGilchrist")
    assert compare_name(joined, _person("Joel", "Mcgilc Hrist")) == 4
    assert (
        compare_name(
            prepare(MatchRecord("1", name="Mc Donald Farms")),
            prepare(MatchRecord("2", name="McDonald Farms")),
        )
        == 4
    )
