"""What a customer's hard delete removes beyond its aggregate: its hierarchy links (as
parent or child), its relationships (either way), its org-unit and account-team
assignments. The database removes them with the customer (foreign keys cascade); this
records each one, as its own delete would, so that the audit trail and the change feed say
what went and the other customers' links do not vanish unrecorded."""

from __future__ import annotations

from uuid import UUID

from custmaster.domain.permissions import Principal
from custmaster.services.ports import UnitOfWork
from custmaster.services.structure.common import record
from custmaster.services.structure.hierarchies import link_dict
from custmaster.services.structure.org_units import (
    customer_assignment_dict,
    team_assignment_dict,
)
from custmaster.services.structure.relationships import relationship_dict


def record_removed_with(uow: UnitOfWork, actor: Principal, customer_id: UUID) -> int:
    """Record the removal of everything linked to ``customer_id`` that its delete takes
    with it (call inside the delete's unit of work); returns how many records."""
    structure = uow.structure
    count = 0
    for link in structure.links_of(customer_id):
        record(uow, actor, resource_type="hierarchy_link", resource_id=str(link.id),
               operation="delete", before=link_dict(link), after=None,
               subject=str(link.link.child_id))  # fmt: skip
        count += 1
    outgoing = structure.relationships_of(customer_id)
    incoming = structure.relationships_of(customer_id, incoming=True)
    for rel in {r.id: r for r in (*outgoing, *incoming)}.values():
        record(uow, actor, resource_type="customer_relationship", resource_id=str(rel.id),
               operation="delete", before=relationship_dict(rel), after=None,
               subject=str(rel.relationship.customer_id))  # fmt: skip
        count += 1
    for assignment in structure.customer_assignments(customer_id=customer_id):
        record(uow, actor, resource_type="org_unit_assignment", resource_id=str(assignment.id),
               operation="delete", before=customer_assignment_dict(assignment), after=None,
               subject=str(customer_id))  # fmt: skip
        count += 1
    for team in structure.team_assignments(customer_id=customer_id):
        record(uow, actor, resource_type="team_assignment", resource_id=str(team.id),
               operation="delete", before=team_assignment_dict(team), after=None,
               subject=str(customer_id))  # fmt: skip
        count += 1
    return count
