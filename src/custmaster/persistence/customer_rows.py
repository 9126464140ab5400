"""Mapping between the customer aggregate and its rows."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Row

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
    TaxProfile,
)
from custmaster.matching.normalize import normalize_company_name

_MASTER_COLUMNS = (
    "legal_name",
    "first_name",
    "last_name",
    "name_affix",
    "billing_email",
    "phone",
    "website",
    "tax_id",
    "industry",
    "customer_group",
    "account_tier",
    "owning_entity",
    "credit_limit",
    "payment_terms",
    "payment_method",
    "currency",
    "tax_code",
    "revenue_account",
    "notes",
)


def _mapping(row: Row[Any] | Mapping[Any, Any]) -> Mapping[Any, Any]:
    """A result row's mapping, or the mapping itself (children decoded from JSON)."""
    return row._mapping if isinstance(row, Row) else row


def name_key(name: str) -> str:
    """The normalised name the similar-name check compares (legal forms, case, accents
    and punctuation folded)."""
    return normalize_company_name(name).core or name.casefold()


def customer_values(customer: Customer) -> dict[str, Any]:
    values = _stored_values(customer)
    values.update(name_key=name_key(customer.name)[:255], email_key=customer.email.casefold())
    return values


def changed_customer_values(before: Customer, after: Customer) -> dict[str, Any]:
    """The master columns to write over ``before``'s row: those whose stored value differs
    (see ``same_value``), ``name_key``/``email_key`` with their field, and ``version`` and
    ``updated_at`` always."""
    old, new = _stored_values(before), _stored_values(after)
    changed = {name: value for name, value in new.items() if not same_value(old[name], value)}
    if "name" in changed:
        changed["name_key"] = name_key(after.name)[:255]
    if "email" in changed:
        changed["email_key"] = after.email.casefold()
    changed.update(version=after.version, updated_at=after.updated_at)
    return changed


def same_value(a: Any, b: Any) -> bool:
    """Whether a column holding ``a`` holds ``b`` already: equal values of the same type,
    decimals with the same scale ("9.50" is not "9.5"), JSON documents with the same text
    (``True`` is not ``1``, ``1.0`` is not ``1``)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, Decimal):
        return str(a) == str(b)
    if isinstance(a, dict | list):
        return json.dumps(a, default=str) == json.dumps(b, default=str)
    return bool(a == b)


def same_values(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """``same_value`` for every column of two rows."""
    return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)


def _stored_values(customer: Customer) -> dict[str, Any]:
    """The master row's values but the normalised keys."""
    values: dict[str, Any] = {name: getattr(customer, name) for name in _MASTER_COLUMNS}
    values.update(
        id=customer.id,
        number=customer.number,
        kind=customer.kind.value,
        name=customer.name,
        email=customer.email,
        customer_type=customer.customer_type.value if customer.customer_type else None,
        relationship_status=(
            customer.relationship_status.value if customer.relationship_status else None
        ),
        status=customer.status.value,
        metadata=customer.metadata,
        dimensions=customer.dimensions,
        country=customer.country,
        version=customer.version,
        created_at=customer.created_at,
        updated_at=customer.updated_at,
    )
    return values


def customer_from_row(row: Row[Any] | Mapping[Any, Any]) -> Customer:
    m = _mapping(row)
    return Customer(
        id=m["id"],
        number=m["number"],
        kind=CustomerKind(m["kind"]),
        name=m["name"],
        email=m["email"],
        customer_type=CustomerType(m["customer_type"]) if m["customer_type"] else None,
        relationship_status=(
            RelationshipStatus(m["relationship_status"]) if m["relationship_status"] else None
        ),
        status=CustomerStatus(m["status"]),
        metadata=m["metadata"] or {},
        dimensions=m["dimensions"] or {},
        version=m["version"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        **{name: m[name] for name in _MASTER_COLUMNS},
    )


def address_values(
    address: Address, customer_id: UUID, position: int, entity: str | None
) -> dict[str, Any]:
    return {
        "id": address.id,
        "customer_id": customer_id,
        "position": position,
        "entity_code": entity,
        "type": address.type.value,
        "lines": address.lines,
        "city": address.city,
        "region": address.region,
        "postal_code": address.postal_code,
        "country": address.country,
        "is_primary": address.is_primary,
    }


def address_from_row(row: Row[Any] | Mapping[Any, Any]) -> Address:
    m = _mapping(row)
    return Address(
        id=m["id"],
        type=AddressType(m["type"]),
        lines=list(m["lines"]),
        city=m["city"],
        region=m["region"],
        postal_code=m["postal_code"],
        country=m["country"],
        is_primary=m["is_primary"],
    )


_CONTACT = (
    "first_name",
    "last_name",
    "job_title",
    "role",
    "email",
    "phone",
    "is_primary",
    "sellable",
)
_TIER = (
    "item",
    "unit_price",
    "currency",
    "min_quantity",
    "max_quantity",
    "effective_from",
    "effective_to",
)
_TAX_PROFILE = ("tax_code", "certificate_number", "effective_from", "effective_to")
CHILD_FIELDS: dict[str, tuple[str, ...]] = {
    "contacts": _CONTACT,
    "pricing_tiers": _TIER,
    "tax_profiles": _TAX_PROFILE,
}
CHILD_CLASSES: dict[str, type[Any]] = {
    "contacts": Contact,
    "pricing_tiers": PricingTier,
    "tax_profiles": TaxProfile,
}


def child_values(kind: str, record: Any, customer_id: UUID, position: int) -> dict[str, Any]:
    values = {name: getattr(record, name) for name in CHILD_FIELDS[kind]}
    values.update(id=record.id, customer_id=customer_id, position=position)
    return values


def child_from_row(kind: str, row: Row[Any] | Mapping[Any, Any]) -> Any:
    m = _mapping(row)
    return CHILD_CLASSES[kind](id=m["id"], **{name: m[name] for name in CHILD_FIELDS[kind]})


def override_values(override: EntityOverride, customer_id: UUID) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(override, name) for name in OVERRIDABLE_FIELDS}
    values.update(
        customer_id=customer_id, entity_code=override.entity, dimensions=override.dimensions
    )
    return values


def override_from_row(row: Row[Any] | Mapping[Any, Any]) -> EntityOverride:
    m = _mapping(row)
    return EntityOverride(
        entity=m["entity_code"],
        dimensions=dict(m["dimensions"] or {}),
        **{name: m[name] for name in OVERRIDABLE_FIELDS},
    )
