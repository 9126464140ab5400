"""Org units (sales organisation, region, territory, branch), customers and users assigned
to them with dates and roles, and the effective account team of a customer.

The rules are :class:`custmaster.domain.org_units.OrgStructure`'s; every change loads the
structure under one lock, lets it validate the change and stores it.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from typing import Any
from uuid import UUID

from custmaster.domain.errors import Conflict, FieldError, NotFound, ValidationFailed
from custmaster.domain.org_units import (
    OrgStructure,
    OrgUnit,
    TeamMember,
)
from custmaster.domain.permissions import Permission, Principal, require
from custmaster.services.ports import UnitOfWork
from custmaster.services.recording import utcnow
from custmaster.services.structure.common import (
    brief_dict,
    record,
    require_customer,
    today,
)
from custmaster.services.structure.ports import StoredCustomerAssignment, StoredTeamAssignment

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
LOCK = "org_units"


def structure_of(uow: UnitOfWork, customer_id: UUID | None = None) -> OrgStructure:
    """The unit tree; with ``customer_id`` also that customer's assignments and every
    unit-level team assignment (what its account team needs)."""
    structure = OrgStructure()
    structure.add_units(uow.structure.org_units())
    if customer_id is not None:
        for stored in uow.structure.customer_assignments(customer_id=customer_id):
            structure.assign_customer(stored.assignment)
        for team in (
            uow.structure.team_assignments(customer_id=customer_id),
            uow.structure.team_assignments(unit_level=True),
        ):
            for st in team:
                structure.assign_user(st.assignment)
    return structure


def unit_dict(unit: OrgUnit, structure: OrgStructure | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": unit.id,
        "kind": unit.kind,
        "name": unit.name,
        "parent_code": unit.parent_id,
    }
    if structure is not None:
        data["path"] = [str(u) for u in structure.path(unit.id)]
        data["children"] = [str(u) for u in structure.children(unit.id)]
    return data


# --- the unit tree ---------------------------------------------------------------------


def create_unit(
    uow: UnitOfWork,
    actor: Principal,
    *,
    code: str,
    kind: str,
    name: str,
    parent_code: str | None = None,
) -> dict[str, Any]:
    require(actor, Permission.REFERENCE_MANAGE)
    if not _CODE.match(code):
        raise ValidationFailed(
            [FieldError("code", "invalid_code", "1-64 letters, digits, '_', '.', '-'")]
        )
    with uow:
        uow.structure.lock(LOCK)
        structure = structure_of(uow)
        try:
            structure.unit(code)
        except NotFound:
            pass
        else:
            raise Conflict(f"org unit '{code}' exists already")
        unit = OrgUnit(code, kind, name.strip(), parent_code)
        structure.add_unit(unit)
        uow.structure.add_org_unit(unit, utcnow())
        after = unit_dict(unit, structure)
        record(
            uow,
            actor,
            resource_type="org_unit",
            resource_id=code,
            operation="create",
            before=None,
            after=after,
        )
        return after


def update_unit(
    uow: UnitOfWork, actor: Principal, code: str, changes: dict[str, Any]
) -> dict[str, Any]:
    """Rename, change the kind or move under another parent (``parent_code``; null: root)."""
    require(actor, Permission.REFERENCE_MANAGE)
    with uow:
        uow.structure.lock(LOCK)
        structure = structure_of(uow)
        current = structure.unit(code)
        before = unit_dict(current, structure)
        if "parent_code" in changes and changes["parent_code"] != current.parent_id:
            structure.move_unit(code, changes["parent_code"])
        updated = replace(
            structure.unit(code),
            name=str(changes.get("name") or current.name).strip(),
            kind=changes.get("kind") or current.kind,
        )
        errors = []
        if updated.kind not in structure.kinds:
            errors.append(
                FieldError("kind", "unknown_org_unit_kind", f"unknown kind {updated.kind}")
            )
        if not updated.name:
            errors.append(FieldError("name", "required", "an org unit needs a name"))
        if errors:
            raise ValidationFailed(errors)
        uow.structure.update_org_unit(updated)
        structure = structure_of(uow)
        after = unit_dict(updated, structure)
        record(
            uow,
            actor,
            resource_type="org_unit",
            resource_id=code,
            operation="update",
            before=before,
            after=after,
        )
        return after


def delete_unit(uow: UnitOfWork, actor: Principal, code: str) -> None:
    require(actor, Permission.REFERENCE_MANAGE)
    with uow:
        uow.structure.lock(LOCK)
        structure = structure_of(uow)
        before = unit_dict(structure.unit(code), structure)
        if uow.structure.org_unit_in_use(code):
            raise Conflict(f"org unit '{code}' has child units or assignments; remove them first")
        uow.structure.delete_org_unit(code)
        record(
            uow,
            actor,
            resource_type="org_unit",
            resource_id=code,
            operation="delete",
            before=before,
            after=None,
        )


def list_units(
    uow: UnitOfWork, actor: Principal, *, after: str | None, limit: int
) -> list[dict[str, Any]]:
    require(actor, Permission.REFERENCE_READ)
    with uow.read_only():
        structure = structure_of(uow)
        ordered = sorted(uow.structure.org_units(), key=lambda u: str(u.id))  # codepoint order
        units = [u for u in ordered if after is None or str(u.id) > after]
        return [unit_dict(u, structure) for u in units[:limit]]


def get_unit(uow: UnitOfWork, actor: Principal, code: str) -> dict[str, Any]:
    require(actor, Permission.REFERENCE_READ)
    with uow.read_only():
        structure = structure_of(uow)
        return unit_dict(structure.unit(code), structure)


# --- assignments -----------------------------------------------------------------------


def customer_assignment_dict(stored: StoredCustomerAssignment) -> dict[str, Any]:
    a = stored.assignment
    return {
        "id": stored.id,
        "customer_id": a.customer_id,
        "org_unit": a.org_unit_id,
        "valid_from": a.valid_from,
        "valid_to": a.valid_to,
    }


def team_assignment_dict(stored: StoredTeamAssignment) -> dict[str, Any]:
    a = stored.assignment
    return {
        "id": stored.id,
        "user_id": a.user_id,
        "role": a.role,
        "customer_id": a.customer_id,
        "org_unit": a.org_unit_id,
        "valid_from": a.valid_from,
        "valid_to": a.valid_to,
    }


def unit_assignments(uow: UnitOfWork, actor: Principal, code: str) -> dict[str, Any]:
    """The customers and users assigned to one unit (every period)."""
    require(actor, Permission.CUSTOMER_READ)
    with uow.read_only():
        structure_of(uow).unit(code)
        customers = uow.structure.customer_assignments(org_unit=code)
        ids = [_customer_id(s) for s in customers]
        briefs = uow.structure.briefs(ids)
        users = uow.structure.team_assignments(org_unit=code)
        return {
            "org_unit": code,
            "customers": [
                {**customer_assignment_dict(s), "customer": brief_dict(briefs.get(c), c)}
                for s, c in zip(customers, ids, strict=True)
            ],
            "users": [team_assignment_dict(s) for s in users],
        }


def _customer_id(stored: StoredCustomerAssignment) -> UUID:
    customer_id = stored.assignment.customer_id
    assert isinstance(customer_id, UUID)
    return customer_id


def customer_org_assignments(
    uow: UnitOfWork, actor: Principal, customer_id: UUID
) -> dict[str, Any]:
    """The customer's org units and direct team assignments (every period)."""
    require(actor, Permission.CUSTOMER_READ)
    with uow.read_only():
        require_customer(uow, customer_id)
        return {
            "customer_id": customer_id,
            "org_units": [
                customer_assignment_dict(s)
                for s in uow.structure.customer_assignments(customer_id=customer_id)
            ],
            "users": [
                team_assignment_dict(s)
                for s in uow.structure.team_assignments(customer_id=customer_id)
            ],
        }


def account_team(
    uow: UnitOfWork, actor: Principal, customer_id: UUID, *, as_of: date | None = None
) -> dict[str, Any]:
    """The effective account team on ``as_of``: direct assignments win per role, otherwise
    the nearest org unit above each of the customer's units supplies the role."""
    require(actor, Permission.CUSTOMER_READ)
    with uow.read_only():
        require_customer(uow, customer_id)
        return team_of(uow, customer_id, as_of or today())


def team_of(uow: UnitOfWork, customer_id: UUID, day: date) -> dict[str, Any]:
    """``account_team``'s answer once its checks passed (in the caller's unit of work: an
    existing customer, a reader)."""
    structure = structure_of(uow, customer_id)
    members = structure.effective_account_team(customer_id, day)
    return {
        "customer_id": customer_id,
        "as_of": day,
        "org_units": [str(u) for u in structure.units_of(customer_id, day)],
        "members": [_member(m) for m in members],
    }


def _member(member: TeamMember) -> dict[str, Any]:
    return {
        "user_id": str(member.user_id),
        "role": member.role,
        "source": member.source,
        "org_unit_path": [str(u) for u in member.org_unit_path],
    }
