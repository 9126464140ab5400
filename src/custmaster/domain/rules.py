"""Aggregate-level business rules and non-blocking warnings."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from decimal import Decimal

from custmaster.domain.context import ParseContext
from custmaster.domain.errors import ChangeWarning
from custmaster.domain.model import Address, Customer, PricingTier

#: The most child records of one kind a customer may have (docs/limits.md).
MAX_CHILDREN = 100
#: The most source cross-references a customer may have (a golden record of many merges).
MAX_SOURCE_REFS = 1000
#: The most legal-entity overrides a customer may have.
MAX_OVERRIDES = 100
#: The largest ``metadata`` object, as UTF-8 JSON (docs/limits.md).
MAX_METADATA_BYTES = 16 * 1024


def check_limits(customer: Customer, ctx: ParseContext) -> None:
    """The documented size limits of one customer (whatever request or merge made it)."""
    counts = {
        "addresses": (len(customer.addresses), MAX_CHILDREN),
        "contacts": (len(customer.contacts), MAX_CHILDREN),
        "pricing_tiers": (len(customer.pricing_tiers), MAX_CHILDREN),
        "tax_profiles": (len(customer.tax_profiles), MAX_CHILDREN),
        "dimensions": (len(customer.dimensions), MAX_CHILDREN),
        "source_refs": (len(customer.source_refs), MAX_SOURCE_REFS),
        "overrides": (len(customer.overrides), MAX_OVERRIDES),
    }
    for entity, override in customer.overrides.items():
        counts[f"overrides.{entity}.addresses"] = (len(override.addresses), MAX_CHILDREN)
    for path, (count, limit) in counts.items():
        if count > limit:
            ctx.errors.add(path, "too_many", f"at most {limit} records ({count} given)")
    if customer.metadata:
        text = json.dumps(customer.metadata, ensure_ascii=False, default=str)
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > MAX_METADATA_BYTES:
            ctx.errors.add(
                "metadata",
                "too_large",
                f"at most {MAX_METADATA_BYTES:,} bytes as JSON ({size:,} given)",
            )


def check_aggregate(customer: Customer, ctx: ParseContext) -> None:
    """Rules spanning several records: the size limits; one primary per address type and
    for contacts; no overlapping pricing tiers for the same item, quantity range and
    period."""
    check_limits(customer, ctx)
    _one_primary_per_type(customer.addresses, "addresses", ctx)
    for entity, override in customer.overrides.items():
        _one_primary_per_type(override.addresses, f"overrides.{entity}.addresses", ctx)
    primaries = [c for c in customer.contacts if c.is_primary]
    if len(primaries) > 1:
        ctx.errors.add("contacts", "multiple_primary", "at most one contact may be primary")
    _no_overlapping_tiers(customer.pricing_tiers, ctx)


def _one_primary_per_type(addresses: list[Address], path: str, ctx: ParseContext) -> None:
    counts: dict[str, int] = defaultdict(int)
    for address in addresses:
        if address.is_primary:
            counts[address.type.value] += 1
    for address_type, count in counts.items():
        if count > 1:
            ctx.errors.add(
                path, "multiple_primary", f"at most one {address_type} address may be primary"
            )


def _no_overlapping_tiers(tiers: list[PricingTier], ctx: ParseContext) -> None:
    by_item: dict[str, list[tuple[int, PricingTier]]] = defaultdict(list)
    for position, tier in enumerate(tiers):
        by_item[tier.item].append((position, tier))
    for item, ranked in by_item.items():
        for i, (pos_a, a) in enumerate(ranked):
            for pos_b, b in ranked[i + 1 :]:
                if tiers_overlap(a, b):
                    ctx.errors.add(
                        f"pricing_tiers[{pos_b}]",
                        "overlap",
                        f"overlaps pricing_tiers[{pos_a}] for item {item} "
                        "in quantity range and period",
                    )


def tiers_overlap(a: PricingTier, b: PricingTier) -> bool:
    """Two tiers overlap when both their quantity ranges and their periods intersect
    (bounds inclusive, missing bounds open)."""
    q_a_max = a.max_quantity if a.max_quantity is not None else float("inf")
    q_b_max = b.max_quantity if b.max_quantity is not None else float("inf")
    if a.min_quantity > q_b_max or b.min_quantity > q_a_max:
        return False
    return _periods_overlap(a.effective_from, a.effective_to, b.effective_from, b.effective_to)


def _periods_overlap(
    a_from: date | None, a_to: date | None, b_from: date | None, b_to: date | None
) -> bool:
    if a_to is not None and b_from is not None and a_to < b_from:
        return False
    return not (b_to is not None and a_from is not None and b_to < a_from)


def credit_limit_warnings(customer: Customer, threshold: Decimal) -> list[ChangeWarning]:
    """Credit limits above ``threshold`` (master and each override) are worth a look."""
    found: list[ChangeWarning] = []
    limits = [("credit_limit", customer.credit_limit)] + [
        (f"overrides.{entity}.credit_limit", o.credit_limit)
        for entity, o in customer.overrides.items()
    ]
    for path, limit in limits:
        if limit is not None and limit > threshold:
            found.append(
                ChangeWarning(
                    path,
                    "large_credit_limit",
                    f"credit limit {limit} is above the usual maximum of {threshold}",
                )
            )
    return found
