"""A planned structure change: validated against the structure as it is, with what it
would do (its effect), what it was planned on (its base) and how to apply it.

Every structure operation (hierarchy link, move and end; relationship create and end;
org-unit and team assignments) has a planner: a function of the unit of work and the
change's JSON-able ``action`` that locks what it reads, validates and returns a
:class:`Plan`. Submitting plans once; approving the change request plans again on the
structure as it is then (:mod:`custmaster.services.structure.governed`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Generic, TypeVar
from uuid import UUID

from custmaster.domain.approvals import Operation
from custmaster.domain.errors import FieldError, ValidationFailed
from custmaster.domain.permissions import Principal
from custmaster.services.ports import UnitOfWork

T = TypeVar("T")

#: ``apply(uow, actor, change_request_id)``: store the change, audit and event it
Apply = Callable[[UnitOfWork, Principal, UUID | None], T]


@dataclass(frozen=True, slots=True)
class Plan(Generic[T]):
    """What a structure change would do.

    ``type`` is what the approval policy's ``types`` test sees (the hierarchy type, the
    relationship type, the org unit's kind, the team role). ``change`` is the one
    ``{"field", "before", "after"}`` entry the change request lists. ``named`` are the
    customers the change names (their owning entities bound who may submit and approve
    it), ``affected`` the further customers whose inherited fields it changes. ``base``
    fingerprints the structure it was planned on: when it differs at approval, the
    structure moved meanwhile and the request is conflicted. ``effect`` is what it would
    do, for the approvers.
    """

    operation: Operation
    type: str
    customer_id: UUID | None
    change: Mapping[str, Any]
    base: Mapping[str, Any]
    effect: Mapping[str, Any]
    apply: Apply[T]
    named: tuple[UUID, ...] = ()
    affected: tuple[UUID, ...] = field(default_factory=tuple)


Planner = Callable[[UnitOfWork, Mapping[str, Any]], Plan[Any]]


def uuid_of(action: Mapping[str, Any], name: str, *, optional: bool = False) -> UUID | None:
    value = action.get(name)
    if value is None and optional:
        return None
    try:
        return value if isinstance(value, UUID) else UUID(str(value))
    except ValueError:
        raise ValidationFailed([FieldError(name, "invalid_uuid", "must be a UUID")]) from None


def required_uuid(action: Mapping[str, Any], name: str) -> UUID:
    found = uuid_of(action, name)
    assert found is not None
    return found


def date_of(action: Mapping[str, Any], name: str, *, optional: bool = False) -> date | None:
    value = action.get(name)
    if value is None and optional:
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValidationFailed([FieldError(name, "invalid_date", "must be YYYY-MM-DD")]) from None


def required_date(action: Mapping[str, Any], name: str) -> date:
    found = date_of(action, name)
    assert found is not None
    return found
