"""The port the account-structure use cases need; ``persistence.structure`` implements it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID

from custmaster.domain.hierarchy import HierarchyLink
from custmaster.domain.org_units import CustomerAssignment, OrgUnit, TeamAssignment
from custmaster.domain.relationships import Relationship, RelationshipType

#: record kinds stored by ``records``/``add_record``/...: kind -> key column
RECORD_KEYS: dict[str, str] = {
    "customer_templates": "name",
    "name_affixes": "code",
    "sales_organisations": "code",
}
#: per-account settings stored by ``account_setting``/...
ACCOUNT_SETTINGS = ("operating_hours", "visit_settings")


@dataclass(frozen=True, slots=True)
class CustomerBrief:
    """What structure reads show of a customer."""

    id: UUID
    number: str
    name: str
    status: str
    credit_limit: Decimal | None
    currency: str | None
    owning_entity: str | None = None


@dataclass(frozen=True, slots=True)
class StoredLink:
    id: UUID
    link: HierarchyLink[UUID]


@dataclass(frozen=True, slots=True)
class StoredRelationship:
    id: UUID
    relationship: Relationship[UUID]


@dataclass(frozen=True, slots=True)
class StoredCustomerAssignment:
    id: UUID
    assignment: CustomerAssignment


@dataclass(frozen=True, slots=True)
class StoredTeamAssignment:
    id: UUID
    assignment: TeamAssignment


@dataclass(frozen=True, slots=True)
class ScheduleLine:
    percentage: Decimal
    due_days: int
    discount_percent: Decimal | None = None


class StructureRepository(Protocol):
    def lock(self, name: str) -> None:
        """Serialise writers of one structure (a hierarchy type, a customer's relations)."""
        ...

    # customers
    def briefs(self, ids: Iterable[UUID]) -> dict[UUID, CustomerBrief]: ...
    def field_values(
        self, ids: Iterable[UUID], fields: Sequence[str], entity: str | None
    ) -> dict[UUID, dict[str, Any]]: ...

    # hierarchies
    def links(self, hierarchy_type: str) -> list[StoredLink]: ...
    def links_of(self, customer_id: UUID) -> list[StoredLink]: ...
    def parent_link(
        self, hierarchy_type: str, child_id: UUID, as_of: date
    ) -> StoredLink | None: ...
    def get_link(self, link_id: UUID) -> StoredLink | None: ...
    def add_link(self, stored: StoredLink, created_at: datetime) -> None: ...
    def set_link_end(self, link_id: UUID, valid_to: date | None) -> None: ...
    def delete_link(self, link_id: UUID) -> None: ...

    # relationships
    def relationship_types(self) -> list[RelationshipType]: ...
    def add_relationship_type(self, rel_type: RelationshipType, created_at: datetime) -> None: ...
    def delete_relationship_type(self, code: str) -> None: ...
    def relationship_type_in_use(self, code: str) -> bool: ...
    def relationships_of(
        self, customer_id: UUID, *, incoming: bool = False
    ) -> list[StoredRelationship]: ...
    def get_relationship(self, relationship_id: UUID) -> StoredRelationship | None: ...
    def add_relationship(self, stored: StoredRelationship, created_at: datetime) -> None: ...
    def set_relationship_end(self, relationship_id: UUID, valid_to: date) -> None: ...
    def delete_relationship(self, relationship_id: UUID) -> None: ...

    # org units and assignments
    def org_units(self) -> list[OrgUnit]: ...
    def add_org_unit(self, unit: OrgUnit, created_at: datetime) -> None: ...
    def update_org_unit(self, unit: OrgUnit) -> None: ...
    def delete_org_unit(self, code: str) -> None: ...
    def org_unit_in_use(self, code: str) -> bool: ...
    def customer_assignments(
        self, *, customer_id: UUID | None = None, org_unit: str | None = None
    ) -> list[StoredCustomerAssignment]: ...
    def add_customer_assignment(
        self, stored: StoredCustomerAssignment, created_at: datetime
    ) -> None: ...
    def delete_customer_assignment(self, assignment_id: UUID) -> None: ...
    def team_assignments(
        self,
        *,
        customer_id: UUID | None = None,
        org_unit: str | None = None,
        unit_level: bool = False,
    ) -> list[StoredTeamAssignment]: ...
    def add_team_assignment(self, stored: StoredTeamAssignment, created_at: datetime) -> None: ...
    def delete_team_assignment(self, assignment_id: UUID) -> None: ...

    # keyed records (templates, name affixes, sales organisations)
    def records(self, kind: str, *, after: str | None, limit: int) -> list[dict[str, Any]]: ...
    def get_record(self, kind: str, key: str) -> dict[str, Any] | None: ...
    def add_record(self, kind: str, record: dict[str, Any]) -> None: ...
    def update_record(self, kind: str, key: str, values: dict[str, Any]) -> None: ...
    def delete_record(self, kind: str, key: str) -> None: ...
    def record_in_use(self, kind: str, key: str) -> bool: ...

    # payment schedules
    def schedule(self, payment_terms: str) -> tuple[list[ScheduleLine], list[int]]: ...
    def replace_schedule(
        self, payment_terms: str, lines: Sequence[ScheduleLine], days: Sequence[int]
    ) -> None: ...

    # per-account settings (operating hours, visit settings)
    def account_setting(self, kind: str, customer_id: UUID) -> dict[str, Any] | None: ...
    def put_account_setting(
        self, kind: str, customer_id: UUID, value: dict[str, Any], updated_at: datetime
    ) -> None: ...
    def delete_account_setting(self, kind: str, customer_id: UUID) -> None: ...
