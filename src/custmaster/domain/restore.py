"""The inverse of :func:`custmaster.domain.snapshot.snapshot`: rebuild an aggregate from
its JSON snapshot exactly (same ids, numbers, child ids, decimals with their scale)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from custmaster.domain.model import (
    OVERRIDABLE_FIELDS,
    Address,
    AddressType,
    Contact,
    Customer,
    CustomerKind,
    CustomerStatus,
    CustomerType,
    EntityOverride,
    PricingTier,
    RelationshipStatus,
    SourceRef,
    TaxProfile,
)

_DECIMALS = frozenset({"credit_limit"})
_ENUMS: dict[str, Any] = {
    "kind": CustomerKind,
    "customer_type": CustomerType,
    "relationship_status": RelationshipStatus,
    "status": CustomerStatus,
}
_SPECIAL = frozenset(
    {
        "id",
        "created_at",
        "updated_at",
        "addresses",
        "contacts",
        "pricing_tiers",
        "tax_profiles",
        "source_refs",
        "overrides",
        "metadata",
        "dimensions",
    }
)


def _date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _datetime(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def address_from_snapshot(data: Mapping[str, Any]) -> Address:
    return Address(
        id=UUID(data["id"]),
        type=AddressType(data["type"]),
        lines=list(data["lines"]),
        city=data.get("city"),
        region=data.get("region"),
        postal_code=data.get("postal_code"),
        country=data.get("country"),
        is_primary=bool(data.get("is_primary")),
    )


def contact_from_snapshot(data: Mapping[str, Any]) -> Contact:
    fields = {k: v for k, v in data.items() if k != "id"}
    return Contact(id=UUID(data["id"]), **fields)


def tier_from_snapshot(data: Mapping[str, Any]) -> PricingTier:
    return PricingTier(
        id=UUID(data["id"]),
        item=data["item"],
        unit_price=Decimal(data["unit_price"]),
        currency=data["currency"],
        min_quantity=data["min_quantity"],
        max_quantity=data.get("max_quantity"),
        effective_from=_date(data.get("effective_from")),
        effective_to=_date(data.get("effective_to")),
    )


def tax_profile_from_snapshot(data: Mapping[str, Any]) -> TaxProfile:
    return TaxProfile(
        id=UUID(data["id"]),
        tax_code=data["tax_code"],
        certificate_number=data.get("certificate_number"),
        effective_from=_date(data.get("effective_from")),
        effective_to=_date(data.get("effective_to")),
    )


def override_from_snapshot(entity: str, data: Mapping[str, Any]) -> EntityOverride:
    values: dict[str, Any] = {name: data.get(name) for name in OVERRIDABLE_FIELDS}
    values["credit_limit"] = _decimal(values["credit_limit"])
    return EntityOverride(
        entity=entity,
        dimensions=dict(data.get("dimensions") or {}),
        addresses=[address_from_snapshot(a) for a in data.get("addresses") or []],
        **values,
    )


def customer_from_snapshot(data: Mapping[str, Any]) -> Customer:
    """Rebuild the aggregate a snapshot was taken of.

    Example:
        >>> from custmaster.domain.snapshot import snapshot
        >>> c = Customer(id=UUID(int=1), number="C1", kind=CustomerKind.ORGANIZATION,
        ...              name="Acme", email="ap@acme.example", credit_limit=Decimal("9.50"))
        >>> snapshot(customer_from_snapshot(snapshot(c))) == snapshot(c)
        True
    """
    values: dict[str, Any] = {k: v for k, v in data.items() if k not in _SPECIAL}
    for name, enum in _ENUMS.items():
        value = values.get(name)
        if value is not None:
            values[name] = enum(value)
    for name in _DECIMALS:
        if name in values:
            values[name] = _decimal(values[name])
    return Customer(
        id=UUID(data["id"]),
        created_at=_datetime(data.get("created_at")),
        updated_at=_datetime(data.get("updated_at")),
        metadata=dict(data.get("metadata") or {}),
        dimensions=dict(data.get("dimensions") or {}),
        addresses=[address_from_snapshot(a) for a in data.get("addresses") or []],
        contacts=[contact_from_snapshot(c) for c in data.get("contacts") or []],
        pricing_tiers=[tier_from_snapshot(t) for t in data.get("pricing_tiers") or []],
        tax_profiles=[tax_profile_from_snapshot(t) for t in data.get("tax_profiles") or []],
        source_refs=[
            SourceRef(r["source_system"], r["source_id"]) for r in data.get("source_refs") or []
        ],
        overrides={
            entity: override_from_snapshot(entity, o)
            for entity, o in (data.get("overrides") or {}).items()
        },
        **values,
    )
