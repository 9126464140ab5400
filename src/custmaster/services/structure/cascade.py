"""What a customer's hard delete removes beyond its aggregate: its hierarchy links (as
parent or child), its relationships (either way), its org-unit and account-team
assignments. The database removes them with the customer (foreign keys cascade); this
records each one, as its own delete would, so that the audit trail and the change feed say
what went and the other customers' links do not vanish unrecorded."""

from __future__ import annotations

from typing import Any
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
    relationships = {
        r.id: r
        for r in (
            *structure.relationships_of(customer_id),
            *structure.relationships_of(customer_id, incoming=True),
        )
    }
    # (resource type, id, record as its own delete records it, event subject)
    removed: list[tuple[str, UUID, dict[str, Any], UUID]] = [
        *(
            ("hierarchy_link", link.id, link_dict(link), link.link.child_id)
            for link in structure.links_of(customer_id)
        ),
        *(
            ("customer_relationship", rel.id, relationship_dict(rel), rel.relationship.customer_id)
            for rel in relationships.values()
        ),
        *(
            ("org_unit_assignment", a.id, customer_assignment_dict(a), customer_id)
            for a in structure.customer_assignments(customer_id=customer_id)
        ),
        *(
            ("team_assignment", t.id, team_assignment_dict(t), customer_id)
            for t in structure.team_assignments(customer_id=customer_id)
        ),
    ]
    for resource_type, resource_id, before, subject in removed:
        record(
            uow,
            actor,
            resource_type=resource_type,
            resource_id=str(resource_id),
            operation="delete",
            before=before,
            after=None,
            subject=str(subject),
        )
    return len(removed)
