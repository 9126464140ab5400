"""customer_from_snapshot is the exact inverse of snapshot."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from custmaster.domain.build import new_customer
from custmaster.domain.context import ParseContext
from custmaster.domain.restore import customer_from_snapshot
from custmaster.domain.snapshot import snapshot
from tests.factories import acme


def test_a_snapshot_restores_the_same_aggregate() -> None:
    ctx = ParseContext()
    customer = new_customer(
        acme(),
        customer_id=uuid4(),
        number="C000042",
        now=datetime(2026, 1, 2, tzinfo=UTC),
        ctx=ctx,
    )
    assert customer is not None, ctx.errors.errors
    data = snapshot(customer)
    restored = customer_from_snapshot(data)
    assert restored == customer
    assert snapshot(restored) == data
    assert data["pricing_tiers"][0]["unit_price"] == "9.50"  # the scale survives
