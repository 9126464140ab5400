"""Tests of custmaster.domain.templates: customer templates and their merge rules."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custmaster.domain.errors import ValidationFailed
from custmaster.domain.templates import (
    CustomerTemplate,
    apply_template,
    apply_template_explained,
    check_template,
)

EU_WHOLESALE = CustomerTemplate(
    "EU wholesale",
    {
        "kind": "organization",
        "customer_type": "wholesale",
        "payment_terms": "NET30",
        "currency": "EUR",
        "dimensions": {"department": "SALES", "location": "EAST"},
        "metadata": {"segment": "B"},
        "overrides": {"DE01": {"payment_terms": "NET45", "currency": "EUR"}},
        "addresses": [{"type": "billing", "country": "DE", "is_primary": True}],
    },
    description="Wholesale customers in the EU",
)


def codes(exc: pytest.ExceptionInfo[ValidationFailed]) -> list[tuple[str, str]]:
    return [(e.field, e.code) for e in exc.value.errors]


def test_explicit_request_values_win_and_dicts_merge() -> None:
    request = {
        "name": "Acme",
        "email": "ap@acme.example",
        "currency": "USD",
        "payment_terms": None,
        "dimensions": {"location": "WEST"},
        "overrides": {"DE01": {"currency": "CHF"}, "US01": {"credit_limit": "100"}},
    }
    merged = apply_template(EU_WHOLESALE, request)
    assert merged == {
        "kind": "organization",
        "customer_type": "wholesale",
        "payment_terms": None,
        "currency": "USD",
        "dimensions": {"department": "SALES", "location": "WEST"},
        "metadata": {"segment": "B"},
        "overrides": {
            "DE01": {"payment_terms": "NET45", "currency": "CHF"},
            "US01": {"credit_limit": "100"},
        },
        "addresses": [{"type": "billing", "country": "DE", "is_primary": True}],
        "name": "Acme",
        "email": "ap@acme.example",
    }


def test_lists_in_the_request_replace_the_template_list() -> None:
    address = {"type": "shipping", "country": "FR"}
    merged = apply_template(EU_WHOLESALE, {"addresses": [address]})
    assert merged["addresses"] == [address]
    assert apply_template(EU_WHOLESALE, {"addresses": []})["addresses"] == []


def test_inputs_are_not_changed_and_results_do_not_share_state() -> None:
    request: dict[str, Any] = {"dimensions": {"location": "WEST"}}
    first = apply_template(EU_WHOLESALE, request)
    first["addresses"][0]["country"] = "XX"
    first["dimensions"]["department"] = "XX"
    assert request == {"dimensions": {"location": "WEST"}}
    assert EU_WHOLESALE.defaults["addresses"][0]["country"] == "DE"
    assert apply_template(EU_WHOLESALE, {})["dimensions"]["department"] == "SALES"


def test_explained_lists_the_defaulted_paths() -> None:
    _, used = apply_template_explained(
        EU_WHOLESALE, {"currency": "USD", "overrides": {"DE01": {"currency": "CHF"}}}
    )
    assert used == [
        "kind",
        "customer_type",
        "payment_terms",
        "dimensions",
        "metadata",
        "overrides.DE01.payment_terms",
        "addresses",
    ]


def test_template_validation() -> None:
    with pytest.raises(ValidationFailed) as exc:
        CustomerTemplate(" bad", {"id": "x", "status": "active", "currency": "EUR"})
    assert codes(exc) == [
        ("name", "invalid_format"),
        ("defaults.id", "server_owned_field"),
        ("defaults.status", "server_owned_field"),
    ]
    errors = check_template("ok", {"currency": "EUR", "colour": "red"}, {"currency", "name"})
    assert [(e.field, e.code) for e in errors] == [("defaults.colour", "unknown_field")]
    assert [e.code for e in check_template("ok", ["currency"])] == ["invalid_type"]
    assert EU_WHOLESALE.to_dict()["name"] == "EU wholesale"


def test_template_copies_its_defaults() -> None:
    defaults: dict[str, Any] = {"metadata": {"a": 1}}
    template = CustomerTemplate("t", defaults)
    defaults["metadata"]["a"] = 2
    assert template.defaults == {"metadata": {"a": 1}}


keys = st.sampled_from(["a", "b", "c"])
leaves = st.one_of(st.none(), st.integers(), st.lists(st.integers(), max_size=2))
values = st.recursive(leaves, lambda inner: st.dictionaries(keys, inner, max_size=3), max_leaves=6)
objects = st.dictionaries(keys, values, max_size=3)


def check_merge(defaults: Any, request: Any, merged: Any) -> None:
    for key, value in request.items():
        if isinstance(value, dict) and isinstance(defaults.get(key), dict):
            check_merge(defaults[key], value, merged[key])
        else:
            assert merged[key] == value  # the request wins
    for key, value in defaults.items():
        if key not in request:
            assert merged[key] == value  # the default fills the gap
    assert set(merged) == set(defaults) | set(request)


@given(objects, objects)
def test_request_wins_and_defaults_fill_gaps(
    defaults: dict[str, Any], request: dict[str, Any]
) -> None:
    merged = apply_template(CustomerTemplate("t", defaults), request)
    check_merge(defaults, request, merged)
    assert apply_template(CustomerTemplate("t", {}), request) == request
