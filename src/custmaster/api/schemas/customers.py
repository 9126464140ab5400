"""Request and response schemas of /customers (field names as in DESIGN.md §4)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, Optional
from uuid import UUID

from pydantic import BaseModel, Field, create_model

from custmaster.api.schemas.common import Strict, WarningOut
from custmaster.domain.model import (
    AddressType,
    CustomerKind,
    CustomerStatus,
    CustomerType,
    RelationshipStatus,
)

Money = Annotated[Decimal, Field(description='decimal as a string, e.g. "50000.00"')]


class AddressIn(Strict):
    type: AddressType
    lines: list[str]
    city: str | None = None
    region: str | None = Field(default=None, description="ISO 3166-2, e.g. US-CA")
    postal_code: str | None = None
    country: str = Field(description="ISO 3166-1 alpha-2")
    is_primary: bool = False


class ContactIn(Strict):
    first_name: str | None = None
    last_name: str | None = None
    job_title: str | None = None
    role: str | None = None
    email: str | None = None
    phone: str | None = None
    is_primary: bool = False
    sellable: bool = False


class PricingTierIn(Strict):
    item: str
    unit_price: Money
    currency: str
    min_quantity: int = 1
    max_quantity: int | None = None
    effective_from: date | None = None
    effective_to: date | None = None


class TaxProfileIn(Strict):
    tax_code: str
    certificate_number: str | None = None
    effective_from: date | None = None
    effective_to: date | None = None


class SourceRefIn(Strict):
    source_system: str
    source_id: str


class OverrideIn(Strict):
    credit_limit: Money | None = None
    payment_terms: str | None = None
    payment_method: str | None = None
    currency: str | None = None
    tax_code: str | None = None
    revenue_account: str | None = None
    customer_group: str | None = None
    dimensions: dict[str, str] | None = None
    addresses: list[AddressIn] | None = None


class _MasterFields(Strict):
    legal_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    name_affix: str | None = None
    billing_email: str | None = None
    phone: str | None = Field(default=None, description="stored as E.164")
    website: str | None = None
    tax_id: str | None = Field(default=None, description="checked and compacted for its country")
    customer_type: CustomerType | None = None
    industry: str | None = None
    customer_group: str | None = None
    account_tier: str | None = None
    relationship_status: RelationshipStatus | None = None
    owning_entity: str | None = None
    credit_limit: Money | None = None
    payment_terms: str | None = None
    payment_method: str | None = None
    currency: str | None = None
    tax_code: str | None = None
    revenue_account: str | None = None
    notes: str | None = None
    metadata: dict[str, Any] | None = None


class CustomerCreate(_MasterFields):
    kind: CustomerKind
    name: str
    email: str
    dimensions: dict[str, str] | None = None
    addresses: list[AddressIn] | None = None
    contacts: list[ContactIn] | None = None
    pricing_tiers: list[PricingTierIn] | None = None
    tax_profiles: list[TaxProfileIn] | None = None
    source_refs: list[SourceRefIn] | None = None
    overrides: dict[str, OverrideIn] | None = Field(
        default=None, description="legal entity code -> overridden fields"
    )


def _actions(name: str, model: type[Strict]) -> Any:
    """add (the full record) | update (id + the fields to change) | delete (id)."""
    optional: dict[str, Any] = {
        field: (Optional[info.annotation], None)  # noqa: UP045 - a runtime type expression
        for field, info in model.model_fields.items()
    }
    add_fields: dict[str, Any] = {"action": (Literal["add"], ...)}
    update_fields: dict[str, Any] = {"action": (Literal["update"], ...), "id": (UUID, ...)}
    delete_fields: dict[str, Any] = {"action": (Literal["delete"], ...), "id": (UUID, ...)}
    add = create_model(f"{name}Add", __base__=model, **add_fields)
    change = create_model(f"{name}Update", __base__=Strict, **update_fields, **optional)
    remove = create_model(f"{name}Delete", __base__=Strict, **delete_fields)
    return list[Annotated[add | change | remove, Field(discriminator="action")]]


class DimensionAction(Strict):
    action: Literal["add", "update", "delete"]
    type: str
    value: str | None = Field(default=None, description="required for add and update")


class OverrideAction(OverrideIn):
    action: Literal["add", "update", "delete"]
    entity: str


class SourceRefAction(SourceRefIn):
    action: Literal["add", "delete"]


AddressActions = _actions("Address", AddressIn)
ContactActions = _actions("Contact", ContactIn)
PricingTierActions = _actions("PricingTier", PricingTierIn)
TaxProfileActions = _actions("TaxProfile", TaxProfileIn)


class CustomerPatch(_MasterFields):
    """Fields present change, absent ones stay, null clears an optional field."""

    kind: CustomerKind | None = None
    name: str | None = None
    email: str | None = None
    addresses: AddressActions | None = None  # type: ignore[valid-type]
    contacts: ContactActions | None = None  # type: ignore[valid-type]
    pricing_tiers: PricingTierActions | None = None  # type: ignore[valid-type]
    tax_profiles: TaxProfileActions | None = None  # type: ignore[valid-type]
    dimensions: list[DimensionAction] | None = None
    overrides: list[OverrideAction] | None = None
    source_refs: list[SourceRefAction] | None = None


class AddressOut(BaseModel):
    id: UUID
    type: AddressType
    lines: list[str]
    city: str | None
    region: str | None
    postal_code: str | None
    country: str | None
    is_primary: bool


class ContactOut(BaseModel):
    id: UUID
    first_name: str | None
    last_name: str | None
    job_title: str | None
    role: str | None
    email: str | None
    phone: str | None
    is_primary: bool
    sellable: bool


class PricingTierOut(BaseModel):
    id: UUID
    item: str
    unit_price: str
    currency: str
    min_quantity: int
    max_quantity: int | None
    effective_from: date | None
    effective_to: date | None


class TaxProfileOut(BaseModel):
    id: UUID
    tax_code: str
    certificate_number: str | None
    effective_from: date | None
    effective_to: date | None


class SourceRefOut(BaseModel):
    source_system: str
    source_id: str


class OverrideOut(BaseModel):
    credit_limit: str | None
    payment_terms: str | None
    payment_method: str | None
    currency: str | None
    tax_code: str | None
    revenue_account: str | None
    customer_group: str | None
    dimensions: dict[str, str]
    addresses: list[AddressOut]


class CustomerSummary(BaseModel):
    """The master record without child records (list responses)."""

    id: UUID
    number: str
    kind: CustomerKind
    name: str
    legal_name: str | None
    first_name: str | None
    last_name: str | None
    name_affix: str | None
    email: str
    billing_email: str | None
    phone: str | None
    website: str | None
    tax_id: str | None
    customer_type: CustomerType | None
    industry: str | None
    customer_group: str | None
    account_tier: str | None
    relationship_status: RelationshipStatus | None
    status: CustomerStatus
    owning_entity: str | None
    credit_limit: str | None
    payment_terms: str | None
    payment_method: str | None
    currency: str | None
    tax_code: str | None
    revenue_account: str | None
    notes: str | None
    metadata: dict[str, Any]
    dimensions: dict[str, str]
    version: int
    created_at: datetime
    updated_at: datetime


class CustomerOut(CustomerSummary):
    addresses: list[AddressOut]
    contacts: list[ContactOut]
    pricing_tiers: list[PricingTierOut]
    tax_profiles: list[TaxProfileOut]
    source_refs: list[SourceRefOut]
    overrides: dict[str, OverrideOut]
    warnings: list[WarningOut] = []


class InheritedValueOut(BaseModel):
    value: Any
    from_: UUID = Field(alias="from", description="the ancestor the value comes from")
    hierarchy: str


class EffectiveCustomerOut(CustomerOut):
    entity: str
    overridden_fields: list[str]
    inherited: dict[str, InheritedValueOut] = Field(
        default={}, description="inheritable fields taken from an ancestor (?as_of=)"
    )


class HistoryEntryOut(BaseModel):
    id: int
    occurred_at: datetime
    actor_id: str
    actor_name: str
    operation: str
    change_request_id: UUID | None
    changes: list[dict[str, Any]]
