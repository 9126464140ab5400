"""Tests for custmaster.services.imports.paths."""

from __future__ import annotations

import pytest

from custmaster.services.imports.paths import (
    PathError,
    get_path,
    parent_exists,
    parse_target,
    render_path,
    set_path,
)


@pytest.mark.parametrize(
    "path",
    [
        "name",
        "credit_limit",
        "metadata.crm_segment",
        "dimensions.department",
        "addresses[billing].city",
        "addresses[shipping].lines",
        "contacts[0].email",
        "pricing_tiers[1].unit_price",
        "tax_profiles[0].certificate_number",
        "overrides[DE01].credit_limit",
        "overrides[DE01].addresses[billing].city",
    ],
)
def test_valid_paths_round_trip(path: str) -> None:
    assert render_path(parse_target(path)) == path


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("nmae", "unknown field"),
        ("addresses[home].city", "billing"),
        ("addresses[billing].citty", "expected one of"),
        ("contacts[first].email", "numeric index"),
        ("metadata", "metadata.<key>"),
        ("overrides[DE01].name", "cannot be overridden"),
        ("name[0]", "no \\[selector\\]"),
        ("a..b", "bad path segment"),
    ],
)
def test_invalid_paths(path: str, message: str) -> None:
    with pytest.raises(PathError, match=message):
        parse_target(path)


def test_contact_root() -> None:
    assert render_path(parse_target("email", root="contact")) == "email"
    with pytest.raises(PathError):
        parse_target("credit_limit", root="contact")


def test_set_and_get() -> None:
    command: dict[str, object] = {}
    set_path(command, parse_target("addresses[billing].city"), "Köln")
    set_path(command, parse_target("addresses[shipping].city"), "Bonn")
    set_path(command, parse_target("addresses[billing].country"), "DE")
    set_path(command, parse_target("contacts[1].email"), "b@x.example")
    set_path(command, parse_target("overrides[US01].credit_limit"), "5")
    assert command == {
        "addresses": [
            {"type": "billing", "city": "Köln", "country": "DE"},
            {"type": "shipping", "city": "Bonn"},
        ],
        "contacts": [{}, {"email": "b@x.example"}],
        "overrides": {"US01": {"credit_limit": "5"}},
    }
    assert get_path(command, parse_target("addresses[shipping].city")) == "Bonn"
    assert get_path(command, parse_target("addresses[billing].region")) is None
    assert parent_exists(command, parse_target("addresses[billing].is_primary"))
    assert not parent_exists(command, parse_target("contacts[2].is_primary"))
    assert parent_exists(command, parse_target("kind"))
