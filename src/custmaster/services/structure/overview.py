"""Everything about a customer's place in the structure at once, for a page that shows it
all (the console's structure page): its hierarchy trees, its relationships both ways, its
account team and its cross-references.

Each part is the answer of the service call the API makes for it (``read_hierarchy``,
``customer_relationships``, ``account_team``, ``customer_xrefs``) after the same checks
(customer.read, the customer exists; a merged-away one answers 410 as ``get_customer``
does), made once instead of once per part: one unit of work, the customer loaded once (its
record with the overrides the actor may see, as ``get_customer`` gives it, and its
cross-references from the same read). Like ``get_customer`` the reads need no transaction
(PostgreSQL: each statement reads its own snapshot, as the separate calls did).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from custmaster.domain.model import Customer
from custmaster.domain.permissions import Permission, Principal, require
from custmaster.services.customers.common import load
from custmaster.services.dedup.xrefs import CustomerXrefs, xrefs_of
from custmaster.services.governance.access import visible_customer
from custmaster.services.ports import UnitOfWork
from custmaster.services.structure import hierarchies, org_units, relationships
from custmaster.services.structure.common import DEFAULT_SETTINGS, StructureSettings, today


@dataclass(frozen=True, slots=True)
class CustomerStructure:
    customer: Customer  #: with the overrides the actor may see
    trees: list[dict[str, Any]]  #: one per hierarchy type, in name order
    outgoing: list[dict[str, Any]]
    incoming: list[dict[str, Any]]
    team: dict[str, Any]
    xrefs: CustomerXrefs


def customer_structure(
    uow: UnitOfWork,
    actor: Principal,
    customer_id: UUID,
    *,
    as_of: date | None = None,
    settings: StructureSettings = DEFAULT_SETTINGS,
) -> CustomerStructure:
    """The customer's trees of every hierarchy type, relationships, team and
    cross-references on ``as_of`` (default today)."""
    require(actor, Permission.CUSTOMER_READ)
    day = as_of or today()
    with uow.read_only(autocommit=True):
        stored = load(uow, customer_id)
        return CustomerStructure(
            customer=visible_customer(actor, stored),
            trees=[
                hierarchies.hierarchy_view(uow, kind, customer_id, "tree", day, settings)
                for kind in sorted(settings.hierarchy_types)
            ],
            outgoing=relationships.relationship_list(uow, customer_id, as_of, None, False),
            incoming=relationships.relationship_list(uow, customer_id, as_of, None, True),
            team=org_units.team_of(uow, customer_id, day),
            xrefs=xrefs_of(uow, stored),
        )
