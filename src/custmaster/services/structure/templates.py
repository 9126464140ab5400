"""Named customer templates (default values of a create request) and creating a customer
from one through the normal create use case (under the approval policy)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from custmaster.domain.approvals import Policy
from custmaster.domain.build import REQUEST_FIELDS
from custmaster.domain.errors import Conflict, FieldError, NotFound, ValidationFailed
from custmaster.domain.permissions import Permission, Principal, require
from custmaster.domain.templates import CustomerTemplate, apply_template_explained, check_template
from custmaster.services.customers.create import create_customer
from custmaster.services.customers.outcome import Outcome
from custmaster.services.ports import UnitOfWork
from custmaster.services.recording import utcnow
from custmaster.services.settings import ServiceSettings
from custmaster.services.structure.common import record

KIND = "customer_templates"


@dataclass(frozen=True, slots=True)
class TemplateOutcome:
    """The create submitted under the approval policy (applied, or a change request)."""

    outcome: Outcome
    from_template: list[str] = field(default_factory=list)


def _parse(name: str, defaults: Any, description: str | None) -> CustomerTemplate:
    errors = check_template(name, defaults, REQUEST_FIELDS)
    if description is not None and len(description) > 2000:
        errors.append(FieldError("description", "too_long", "at most 2000 characters"))
    if errors:
        raise ValidationFailed(errors)
    return CustomerTemplate(name, defaults, description)


def _load(uow: UnitOfWork, name: str) -> dict[str, Any]:
    found = uow.structure.get_record(KIND, name)
    if found is None:
        raise NotFound(f"no customer template '{name}'")
    return found


def _public(record_: Mapping[str, Any]) -> dict[str, Any]:
    return {k: record_[k] for k in ("name", "description", "defaults", "created_at", "updated_at")}


def create_template(
    uow: UnitOfWork, actor: Principal, *, name: str, defaults: Any, description: str | None = None
) -> dict[str, Any]:
    require(actor, Permission.REFERENCE_MANAGE)
    template = _parse(name, defaults, description)
    with uow:
        if uow.structure.get_record(KIND, name) is not None:
            raise Conflict(f"customer template '{name}' exists already")
        now = utcnow()
        stored = {**template.to_dict(), "created_at": now, "updated_at": now}
        uow.structure.add_record(KIND, stored)
        record(
            uow,
            actor,
            resource_type="customer_template",
            resource_id=name,
            operation="create",
            before=None,
            after=template.to_dict(),
        )
        return stored


def update_template(
    uow: UnitOfWork, actor: Principal, name: str, changes: Mapping[str, Any]
) -> dict[str, Any]:
    """Replace ``defaults`` and/or ``description`` (present keys change)."""
    require(actor, Permission.REFERENCE_MANAGE)
    with uow:
        current = _load(uow, name)
        template = _parse(
            name,
            changes.get("defaults", current["defaults"]),
            changes["description"] if "description" in changes else current["description"],
        )
        values = {
            "defaults": template.to_dict()["defaults"],
            "description": template.description,
            "updated_at": utcnow(),
        }
        uow.structure.update_record(KIND, name, values)
        before = {k: current[k] for k in ("name", "description", "defaults")}
        record(
            uow,
            actor,
            resource_type="customer_template",
            resource_id=name,
            operation="update",
            before=before,
            after=template.to_dict(),
        )
        return {**current, **values}


def delete_template(uow: UnitOfWork, actor: Principal, name: str) -> None:
    require(actor, Permission.REFERENCE_MANAGE)
    with uow:
        current = _load(uow, name)
        uow.structure.delete_record(KIND, name)
        before = {k: current[k] for k in ("name", "description", "defaults")}
        record(
            uow,
            actor,
            resource_type="customer_template",
            resource_id=name,
            operation="delete",
            before=before,
            after=None,
        )


def get_template(uow: UnitOfWork, actor: Principal, name: str) -> dict[str, Any]:
    require(actor, Permission.REFERENCE_READ)
    with uow.read_only():
        return _public(_load(uow, name))


def list_templates(
    uow: UnitOfWork, actor: Principal, *, after: str | None, limit: int
) -> list[dict[str, Any]]:
    require(actor, Permission.REFERENCE_READ)
    with uow.read_only():
        return [_public(r) for r in uow.structure.records(KIND, after=after, limit=limit)]


def create_from_template(
    uow: UnitOfWork,
    actor: Principal,
    name: str,
    request: Mapping[str, Any],
    policy: Policy,
    settings: ServiceSettings,
) -> TemplateOutcome:
    """The request merged over the template's defaults, submitted like any new customer
    (under the approval policy, in one transaction); says which fields came from the
    template."""
    with uow:
        stored = _load(uow, name)
        template = CustomerTemplate(stored["name"], stored["defaults"], stored["description"])
        merged, used = apply_template_explained(template, request)
        return TemplateOutcome(create_customer(uow, actor, policy, merged, settings), used)
