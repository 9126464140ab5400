"""Snapshots: the aggregate as JSON-compatible data, child records as ``asdict`` makes
them (without its deep copy)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import uuid4

import pytest

from custmaster.domain.model import (
    Address,
    AddressType,
    Contact,
    Customer,
    CustomerKind,
    EntityOverride,
    PricingTier,
    SourceRef,
    TaxProfile,
)
from custmaster.domain.snapshot import CHILD_COLLECTIONS, diff, json_default, jsonable, snapshot


def _rich() -> Customer:
    address = Address(
        uuid4(),
        AddressType.BILLING,
        ["1 Main St", "Floor 2"],
        "Springfield",
        "US-IL",
        "62701",
        "US",
        is_primary=True,
    )
    return Customer(
        id=uuid4(),
        number="C000042",
        kind=CustomerKind.ORGANIZATION,
        name="Acme",
        email="a@b.c",
        credit_limit=Decimal("0.0000001"),
        metadata={"tags": ["a", {"b": Decimal("1.50")}]},
        dimensions={"department": "SALES"},
        addresses=[address],
        contacts=[Contact(uuid4(), first_name="Dana", is_primary=True)],
        pricing_tiers=[
            PricingTier(uuid4(), "W-1", Decimal("9.50"), "USD", 1, None, date(2026, 1, 1), None)
        ],
        tax_profiles=[TaxProfile(uuid4(), "EXEMPT", "CERT-1", None, date(2027, 12, 31))],
        source_refs=[SourceRef("erp", "42")],
        overrides={
            "DE01": EntityOverride(
                "DE01",
                credit_limit=Decimal("80000"),
                currency="EUR",
                dimensions={"location": "EAST"},
                addresses=[address],
            )
        },
        created_at=datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        updated_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )


def test_child_records_are_rendered_as_asdict_renders_them() -> None:
    customer = _rich()
    data = snapshot(customer)
    for name in CHILD_COLLECTIONS:
        expected = [jsonable(asdict(child)) for child in getattr(customer, name)]
        assert data[name] == expected
        assert [list(r) for r in data[name]] == [list(r) for r in expected]  # same key order
    assert data["overrides"]["DE01"]["addresses"] == [jsonable(asdict(customer.addresses[0]))]
    assert data["credit_limit"] == "1E-7" and data["metadata"]["tags"][1] == {"b": "1.50"}
    assert data["created_at"] == "2026-01-02T03:04:05.000006+00:00"
    assert data["kind"] == "organization" and type(data["kind"]) is str


def test_a_snapshot_shares_no_mutable_state_with_the_aggregate() -> None:
    customer = _rich()
    data = snapshot(customer)
    data["addresses"][0]["lines"].append("changed")
    data["metadata"]["tags"].append("changed")
    data["overrides"]["DE01"]["dimensions"]["location"] = "WEST"
    assert customer.addresses[0].lines == ["1 Main St", "Floor 2"]
    assert customer.metadata["tags"] == ["a", {"b": Decimal("1.50")}]
    assert customer.overrides["DE01"].dimensions == {"location": "EAST"}


def test_json_default_writes_what_jsonable_makes() -> None:
    """The encoder with ``json_default`` writes a view (string keys) as it writes the
    view converted by ``jsonable``; what neither knows is refused."""
    customer = _rich()
    view = {
        "customer": snapshot(customer),
        "id": customer.id,
        "as_of": date(2026, 12, 6),
        "at": datetime(2026, 12, 6, 10, 30, tzinfo=UTC),
        "limit": Decimal("1500.50"),
        "kind": CustomerKind.ORGANIZATION,
        "series": [(date(2026, 11, 1), 1.5), {"ids": [uuid4(), None, True, 3]}],
        "über": "ünïcode",
    }
    assert json.dumps(view, default=json_default) == json.dumps(jsonable(view))
    with pytest.raises(TypeError, match="object is not JSON serialisable"):
        json.dumps({"x": object()}, default=json_default)


def test_a_diff_from_nothing_lists_what_the_general_comparison_lists() -> None:
    """``diff(None, after)`` (a created record, its own short path) is the change list the
    general comparison makes against a snapshot with no audited field: every value but
    ``None``, child records whole by id (sorted), dimensions and overrides per key."""
    customer = _rich()
    customer.addresses.append(
        Address(uuid4(), AddressType.SHIPPING, ["2 Side St"], "Springfield", None, None, "US")
    )
    after = snapshot(customer)
    after["legal_name"] = None  # no value: not listed
    only_unaudited = {"version": 0}  # takes the general path, compares nothing audited
    changes = diff(None, after)
    assert changes == diff(only_unaudited, after) == diff({}, after)
    assert [list(c) for c in changes] == [list(c) for c in diff(only_unaudited, after)]
    fields = [c["field"] for c in changes]
    assert "legal_name" not in fields and "created_at" not in fields
    assert "dimensions.department" in fields and "overrides.DE01" in fields
    ids = sorted(a["id"] for a in after["addresses"])
    assert [f for f in fields if f.startswith("addresses[")] == [f"addresses[{i}]" for i in ids]
    assert all(c["before"] is None for c in changes)


def test_jsonable_converts_inside_plain_containers() -> None:
    when = datetime(2026, 1, 2, tzinfo=UTC)
    value = {"a": [Decimal("1.5"), (when, AddressType.BILLING)], 3: {"d": date(2026, 1, 1)}}
    assert jsonable(value) == {
        "a": ["1.5", ["2026-01-02T00:00:00+00:00", "billing"]],
        "3": {"d": "2026-01-01"},
    }
