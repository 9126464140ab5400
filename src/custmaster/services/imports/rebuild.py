"""Rebuild a validated customer from its snapshot (no second validation pass).

The validation stage parses each record with the domain (``new_customer``) and keeps
the snapshot of the result; after approval the import stage turns the snapshot back into
the aggregate. Only values the domain produced are read back, so this is plain data
conversion, not parsing: strings to enums, decimals, dates and UUIDs.
"""

from __future__ import annotations

from datetime import date
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

_PLAIN = (
    "legal_name", "first_name", "last_name", "name_affix", "billing_email", "phone",
    "website", "tax_id", "industry", "customer_group", "account_tier", "owning_entity",
    "payment_terms", "payment_method", "currency", "tax_code", "revenue_account", "notes",
)  # fmt: skip


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


def _date(value: Any) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _address(data: dict[str, Any]) -> Address:
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


def _override(entity: str, data: dict[str, Any]) -> EntityOverride:
    values: dict[str, Any] = {name: data.get(name) for name in OVERRIDABLE_FIELDS}
    values["credit_limit"] = _decimal(values["credit_limit"])
    return EntityOverride(
        entity=entity,
        dimensions=dict(data.get("dimensions") or {}),
        addresses=[_address(a) for a in data.get("addresses") or []],
        **values,
    )


def customer_from_snapshot(data: dict[str, Any]) -> Customer:
    """The aggregate a ``snapshot()`` was taken of (version, timestamps and number
    included as they were)."""
    customer_type = data.get("customer_type")
    relationship = data.get("relationship_status")
    return Customer(
        id=UUID(data["id"]),
        number=data["number"],
        kind=CustomerKind(data["kind"]),
        name=data["name"],
        email=data["email"],
        customer_type=CustomerType(customer_type) if customer_type else None,
        relationship_status=RelationshipStatus(relationship) if relationship else None,
        status=CustomerStatus(data.get("status", "active")),
        credit_limit=_decimal(data.get("credit_limit")),
        metadata=dict(data.get("metadata") or {}),
        dimensions=dict(data.get("dimensions") or {}),
        addresses=[_address(a) for a in data.get("addresses") or []],
        contacts=[
            Contact(
                id=UUID(c["id"]),
                **{k: v for k, v in c.items() if k != "id"},
            )
            for c in data.get("contacts") or []
        ],
        pricing_tiers=[
            PricingTier(
                id=UUID(t["id"]),
                item=t["item"],
                unit_price=Decimal(t["unit_price"]),
                currency=t["currency"],
                min_quantity=t["min_quantity"],
                max_quantity=t.get("max_quantity"),
                effective_from=_date(t.get("effective_from")),
                effective_to=_date(t.get("effective_to")),
            )
            for t in data.get("pricing_tiers") or []
        ],
        tax_profiles=[
            TaxProfile(
                id=UUID(p["id"]),
                tax_code=p["tax_code"],
                certificate_number=p.get("certificate_number"),
                effective_from=_date(p.get("effective_from")),
                effective_to=_date(p.get("effective_to")),
            )
            for p in data.get("tax_profiles") or []
        ],
        source_refs=[
            SourceRef(r["source_system"], r["source_id"]) for r in data.get("source_refs") or []
        ],
        overrides={e: _override(e, o) for e, o in (data.get("overrides") or {}).items()},
        version=int(data.get("version", 1)),
        **{name: data.get(name) for name in _PLAIN},
    )
