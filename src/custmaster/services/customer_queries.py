"""What a customer search filters by and what a duplicate look-up returns: value types
shared by the ports (``services.ports``) and the import store
(``services.imports.store``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from custmaster.domain.model import CustomerStatus


@dataclass(frozen=True, slots=True)
class CustomerQuery:
    """What ``GET /customers`` (and an export) filters by; ``None`` means no filter.
    The fields named in ``EQUALITY_FILTERS`` compare with the column of the same name."""

    text: str | None = None
    status: CustomerStatus | None = CustomerStatus.ACTIVE
    customer_type: str | None = None
    country: str | None = None
    customer_group: str | None = None
    industry: str | None = None
    account_tier: str | None = None
    relationship_status: str | None = None
    entity: str | None = None
    #: (first, last): a tax-exemption certificate ends in this window (inclusive)
    certificates_ending: tuple[date, date] | None = None
    after_number: str | None = None
    limit: int = 50


#: CustomerQuery fields that filter by equality with the customers column of that name
EQUALITY_FILTERS: tuple[str, ...] = (
    "customer_type",
    "customer_group",
    "industry",
    "account_tier",
    "relationship_status",
)


@dataclass(frozen=True, slots=True)
class SimilarCustomer:
    id: UUID
    number: str
    name: str
