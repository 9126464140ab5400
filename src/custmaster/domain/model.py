"""The customer aggregate: the master record, its child records and its overrides.

Plain dataclasses, no framework. Identity fields are global; the commercial fields in
``OVERRIDABLE_FIELDS`` (and addresses by type, and dimensions by type) may be
overridden per legal entity. Only overrides that exist are stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID


class CustomerKind(StrEnum):
    ORGANIZATION = "organization"
    PERSON = "person"


class CustomerType(StrEnum):
    RETAIL = "retail"
    WHOLESALE = "wholesale"
    DISTRIBUTOR = "distributor"
    ENTERPRISE = "enterprise"
    GOVERNMENT = "government"
    NONPROFIT = "nonprofit"
    OTHER = "other"


class RelationshipStatus(StrEnum):
    PROSPECT = "prospect"
    ACTIVE = "active"
    AT_RISK = "at_risk"
    CHURNED = "churned"


class CustomerStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"


class AddressType(StrEnum):
    BILLING = "billing"
    SHIPPING = "shipping"


#: Master fields a legal entity may override (addresses and dimensions also, see below).
OVERRIDABLE_FIELDS: tuple[str, ...] = (
    "credit_limit",
    "payment_terms",
    "payment_method",
    "currency",
    "tax_code",
    "revenue_account",
    "customer_group",
)

#: Master fields a request may set (children, dimensions and overrides aside).
MASTER_FIELDS: tuple[str, ...] = (
    "kind",
    "name",
    "legal_name",
    "first_name",
    "last_name",
    "name_affix",
    "email",
    "billing_email",
    "phone",
    "website",
    "tax_id",
    "customer_type",
    "industry",
    "customer_group",
    "account_tier",
    "relationship_status",
    "owning_entity",
    "credit_limit",
    "payment_terms",
    "payment_method",
    "currency",
    "tax_code",
    "revenue_account",
    "notes",
    "metadata",
)

#: Master fields a request must give on create (and may never clear): a customer always
#: belongs to a legal entity (imports without an entity column take the job's ``entity``
#: option or their template's ``defaults``).
REQUIRED_FIELDS: frozenset[str] = frozenset({"kind", "name", "email", "owning_entity"})


@dataclass(slots=True)
class Address:
    id: UUID
    type: AddressType
    lines: list[str]
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None
    is_primary: bool = False


@dataclass(slots=True)
class Contact:
    id: UUID
    first_name: str | None = None
    last_name: str | None = None
    job_title: str | None = None
    role: str | None = None
    email: str | None = None
    phone: str | None = None
    is_primary: bool = False
    sellable: bool = False


@dataclass(slots=True)
class PricingTier:
    id: UUID
    item: str
    unit_price: Decimal
    currency: str
    min_quantity: int = 1
    max_quantity: int | None = None
    effective_from: date | None = None
    effective_to: date | None = None


@dataclass(slots=True)
class TaxProfile:
    id: UUID
    tax_code: str
    certificate_number: str | None = None
    effective_from: date | None = None
    effective_to: date | None = None


@dataclass(frozen=True, slots=True)
class SourceRef:
    source_system: str
    source_id: str


@dataclass(slots=True)
class EntityOverride:
    """What one legal entity overrides of the master. ``None`` means not overridden."""

    entity: str
    credit_limit: Decimal | None = None
    payment_terms: str | None = None
    payment_method: str | None = None
    currency: str | None = None
    tax_code: str | None = None
    revenue_account: str | None = None
    customer_group: str | None = None
    dimensions: dict[str, str] = field(default_factory=dict)
    addresses: list[Address] = field(default_factory=list)

    def overridden_fields(self) -> list[str]:
        names = [f for f in OVERRIDABLE_FIELDS if getattr(self, f) is not None]
        if self.dimensions:
            names.append("dimensions")
        if self.addresses:
            names.append("addresses")
        return names

    def is_empty(self) -> bool:
        return not self.overridden_fields()


@dataclass(slots=True)
class Customer:
    """The customer aggregate root."""

    id: UUID
    number: str
    kind: CustomerKind
    name: str
    email: str
    legal_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    name_affix: str | None = None
    billing_email: str | None = None
    phone: str | None = None
    website: str | None = None
    tax_id: str | None = None
    customer_type: CustomerType | None = None
    industry: str | None = None
    customer_group: str | None = None
    account_tier: str | None = None
    relationship_status: RelationshipStatus | None = None
    status: CustomerStatus = CustomerStatus.ACTIVE
    owning_entity: str | None = None
    credit_limit: Decimal | None = None
    payment_terms: str | None = None
    payment_method: str | None = None
    currency: str | None = None
    tax_code: str | None = None
    revenue_account: str | None = None
    notes: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    dimensions: dict[str, str] = field(default_factory=dict)
    addresses: list[Address] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    pricing_tiers: list[PricingTier] = field(default_factory=list)
    tax_profiles: list[TaxProfile] = field(default_factory=list)
    source_refs: list[SourceRef] = field(default_factory=list)
    overrides: dict[str, EntityOverride] = field(default_factory=dict)
    version: int = 1
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def country(self) -> str | None:
        """The customer's country: its primary billing address's, else any address's."""
        ranked = sorted(
            self.addresses,
            key=lambda a: (a.type is not AddressType.BILLING, not a.is_primary),
        )
        for address in ranked:
            if address.country:
                return address.country
        return None
