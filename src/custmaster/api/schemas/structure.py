"""Request and response schemas of the account structure (issue 5): hierarchies,
relationships, org units and account teams, templates, extra reference data, per-account
settings and contact participations."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from custmaster.api.schemas.common import Strict, WarningOut
from custmaster.api.schemas.customers import ContactOut, CustomerOut

Code = Field(min_length=1, max_length=64, description="1-64 letters, digits, '_', '.', '-'")
Percent = Field(description='a percentage as a decimal string, e.g. "33.33"')


class CustomerRef(BaseModel):
    id: UUID
    number: str | None
    name: str | None


# --- hierarchies -----------------------------------------------------------------------


class LinkIn(Strict):
    parent_id: UUID
    child_id: UUID
    valid_from: date
    valid_to: date | None = Field(default=None, description="exclusive; null: open-ended")


class LinkOut(BaseModel):
    id: UUID
    hierarchy_type: str
    parent_id: UUID
    child_id: UUID
    valid_from: date
    valid_to: date | None


class MoveIn(Strict):
    new_parent_id: UUID | None = Field(description="null detaches the subtree (a new root)")
    effective_date: date


class LinkPeriodOut(BaseModel):
    parent_id: UUID
    child_id: UUID
    valid_from: date
    valid_to: date | None


class LinkChangeOut(BaseModel):
    action: Literal["open", "close", "delete"]
    before: LinkPeriodOut | None
    after: LinkPeriodOut | None


class MoveOut(BaseModel):
    customer_id: UUID
    from_parent_id: UUID | None
    to_parent_id: UUID | None
    effective_date: date
    changes: list[LinkChangeOut]


class TreeNodeOut(CustomerRef):
    children: list[TreeNodeOut]


class HierarchyItemOut(CustomerRef):
    distance: int | None = Field(default=None, description="ancestors: 1 is the parent")
    parent_id: UUID | None = Field(default=None, description="descendants: the parent")
    depth: int | None = Field(default=None, description="descendants: 1 is a child")


class HierarchyOut(BaseModel):
    hierarchy_type: str
    as_of: date
    customer_id: UUID
    root_id: UUID | None = Field(default=None, description="tree and subtree views")
    tree: TreeNodeOut | None = Field(default=None, description="tree and subtree views")
    items: list[HierarchyItemOut] | None = Field(
        default=None, description="ancestors and descendants views"
    )


class FlatRowOut(CustomerRef):
    root_id: UUID
    parent_id: UUID | None
    level: int
    path: list[UUID]


class RollupChildOut(CustomerRef):
    total: str


class RollupOut(BaseModel):
    customer_id: UUID
    hierarchy_type: str
    as_of: date
    figure: str
    own: str
    total: str
    nodes: int
    currencies: list[str] = Field(description="more than one: the total mixes currencies")
    children: list[RollupChildOut]


# --- relationships ---------------------------------------------------------------------


class RelationshipTypeIn(Strict):
    code: str = Field(min_length=1, max_length=50, description="lower snake case, 2-50 chars")
    name: str | None = Field(default=None, max_length=255)


class RelationshipTypeOut(BaseModel):
    code: str
    name: str
    builtin: bool


class RelationshipIn(Strict):
    customer_id: UUID
    related_id: UUID = Field(description="the customer that is the customer's <type>")
    relationship_type: str = Field(min_length=1, max_length=50)
    valid_from: date
    valid_to: date | None = None
    is_primary: bool = False
    replace_primary: bool = Field(
        default=False,
        description="a new primary ends the customer's current primary of the type on "
        "valid_from instead of being refused",
    )


class RelationshipOut(BaseModel):
    id: UUID
    customer_id: UUID
    related_id: UUID
    relationship_type: str
    valid_from: date
    valid_to: date | None
    is_primary: bool
    related: CustomerRef | None = Field(default=None, description="the other customer")


class EndIn(Strict):
    valid_to: date = Field(description="exclusive end date")


# --- org units and account teams -------------------------------------------------------


class OrgUnitIn(Strict):
    code: str = Code
    kind: str = Field(max_length=32, description="sales_organisation, region, territory, branch")
    name: str = Field(min_length=1, max_length=255)
    parent_code: str | None = Field(default=None, max_length=64)


class OrgUnitPatch(Strict):
    kind: str | None = Field(default=None, max_length=32)
    name: str | None = Field(default=None, min_length=1, max_length=255)
    parent_code: str | None = Field(default=None, max_length=64, description="null: a root")


class OrgUnitOut(BaseModel):
    code: str
    kind: str
    name: str
    parent_code: str | None
    path: list[str]
    children: list[str]


class CustomerAssignmentIn(Strict):
    customer_id: UUID
    valid_from: date
    valid_to: date | None = None


class CustomerAssignmentOut(BaseModel):
    id: UUID
    customer_id: UUID
    org_unit: str
    valid_from: date
    valid_to: date | None
    customer: CustomerRef | None = None


class TeamAssignmentIn(Strict):
    user_id: str = Field(min_length=1, max_length=128)
    role: str = Field(max_length=64, description="key_account_manager, account_manager, sales_rep")
    valid_from: date
    valid_to: date | None = None
    customer_id: UUID | None = Field(default=None, description="a direct assignment, or ...")
    org_unit: str | None = Field(default=None, max_length=64, description="... an org unit's")


class TeamAssignmentOut(BaseModel):
    id: UUID
    user_id: str
    role: str
    customer_id: UUID | None
    org_unit: str | None
    valid_from: date
    valid_to: date | None


class UnitAssignmentsOut(BaseModel):
    org_unit: str
    customers: list[CustomerAssignmentOut]
    users: list[TeamAssignmentOut]


class CustomerOrgAssignmentsOut(BaseModel):
    customer_id: UUID
    org_units: list[CustomerAssignmentOut]
    users: list[TeamAssignmentOut]


class TeamMemberOut(BaseModel):
    user_id: str
    role: str
    source: str = Field(description='"direct" or the org unit path it comes from, "EU/DACH"')
    org_unit_path: list[str]


class AccountTeamOut(BaseModel):
    customer_id: UUID
    as_of: date
    org_units: list[str]
    members: list[TeamMemberOut]


# --- templates -------------------------------------------------------------------------


class TemplateIn(Strict):
    name: str = Field(min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=2000)
    defaults: dict[str, Any] = Field(description="fields of a create request")


class TemplatePatch(Strict):
    description: str | None = Field(default=None, max_length=2000)
    defaults: dict[str, Any] | None = None


class TemplateOut(BaseModel):
    name: str
    description: str | None
    defaults: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class CustomerFromTemplateOut(CustomerOut):
    from_template: list[str] = Field(description="fields whose value came from the template")


# --- extra reference data --------------------------------------------------------------


class NameAffixIn(Strict):
    code: str = Code
    name: str = Field(min_length=1, max_length=255)
    kind: Literal["salutation", "title", "suffix"]


class NameAffixPatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    kind: Literal["salutation", "title", "suffix"] | None = None


class NameAffixOut(BaseModel):
    code: str
    name: str
    kind: str
    created_at: datetime


class SalesOrganisationIn(Strict):
    code: str = Code
    name: str = Field(min_length=1, max_length=255)
    legal_entity: str | None = Field(default=None, max_length=64)
    currency: str | None = Field(default=None, max_length=3, description="ISO 4217")


class SalesOrganisationPatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    legal_entity: str | None = Field(default=None, max_length=64)
    currency: str | None = Field(default=None, max_length=3)


class SalesOrganisationOut(BaseModel):
    code: str
    name: str
    legal_entity: str | None
    currency: str | None
    created_at: datetime


class ScheduleLineIn(Strict):
    percentage: Decimal = Percent
    due_days: int = Field(description="days after the invoice date, 0-3650")
    discount_percent: Decimal | None = Field(default=None, description="cash discount")


class ScheduleIn(Strict):
    lines: list[ScheduleLineIn] = Field(default=[], max_length=12)
    payment_days: list[int] = Field(default=[], max_length=31, description="days of month")


class ScheduleLineOut(BaseModel):
    line_no: int
    percentage: str
    due_days: int
    discount_percent: str | None


class ScheduleOut(BaseModel):
    payment_terms: str
    lines: list[ScheduleLineOut]
    payment_days: list[int]


# --- per-account settings --------------------------------------------------------------


class HoursExceptionIn(Strict):
    date: date
    closed: bool = False
    hours: list[str] | None = Field(default=None, max_length=24, description='["09:00-12:00"]')
    note: str | None = Field(default=None, max_length=255)


class OperatingHoursIn(Strict):
    timezone: str | None = Field(default=None, max_length=64, description="IANA, Europe/Berlin")
    weekly: dict[str, list[str]] = Field(
        default={}, description='{"monday": ["08:00-12:00", "13:00-17:00"], ...}'
    )
    exceptions: list[HoursExceptionIn] = Field(default=[], max_length=400)


class HoursExceptionOut(BaseModel):
    date: date
    closed: bool = False
    hours: list[str] = []
    note: str | None = None


class OperatingHoursOut(BaseModel):
    timezone: str | None
    weekly: dict[str, list[str]]
    exceptions: list[HoursExceptionOut]
    warnings: list[WarningOut] = []


class VisitSettingsIn(Strict):
    frequency: str = Field(max_length=16, description="weekly, biweekly, monthly, quarterly")
    preferred_days: list[str] = Field(default=[], max_length=7, description='["tuesday"]')


class VisitSettingsOut(BaseModel):
    frequency: str
    preferred_days: list[str]
    warnings: list[WarningOut] = []


class ParticipationIn(Strict):
    kind: str = Field(
        min_length=1, max_length=64, description="quote or order make the contact sellable"
    )


class ParticipationOut(BaseModel):
    contact: ContactOut
    changed: bool = Field(description="true when this participation made the contact sellable")
