"""Org units, customer and user assignments, and the effective account team.

Org units form a tree (kinds ``sales_organisation``, ``region``, ``territory``,
``branch``; no cycles; the tree itself is current state, not dated). Customers are
assigned to org units, and users are assigned with a role either directly to a customer
or to an org unit; both kinds of assignment carry ``valid_from`` (inclusive) and
``valid_to`` (exclusive; None = open-ended).

Effective account team of a customer on a date, per role:

1. direct assignments of the role to the customer win: when any exists, no inherited
   assignment of that role is used;
2. otherwise, for each org unit the customer is assigned to, the nearest unit on the
   path from that unit up to its root that has assignments of the role supplies them
   (a territory's sales rep hides the region's sales rep); assignments of the role
   farther up are not used;
3. a user holding the same role twice is listed once (direct first, then nearest unit).

Members come ordered by role (key account manager, account manager, sales rep, others),
direct before inherited.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable, Set
from dataclasses import dataclass, replace
from datetime import date

from custmaster.domain.errors import FieldError, NotFound, ValidationFailed
from custmaster.domain.hierarchy import period_contains, period_is_valid, periods_overlap

OrgUnitId = Hashable
CustomerId = Hashable
UserId = Hashable

ORG_UNIT_KINDS: tuple[str, ...] = ("sales_organisation", "region", "territory", "branch")
TEAM_ROLES: tuple[str, ...] = ("key_account_manager", "account_manager", "sales_rep")
PATH_SEPARATOR = "/"


@dataclass(frozen=True, slots=True)
class OrgUnit:
    id: OrgUnitId
    kind: str
    name: str
    parent_id: OrgUnitId | None = None


@dataclass(frozen=True, slots=True)
class CustomerAssignment:
    """The customer belongs to the org unit in ``[valid_from, valid_to)``."""

    customer_id: CustomerId
    org_unit_id: OrgUnitId
    valid_from: date
    valid_to: date | None = None

    def active_on(self, as_of: date) -> bool:
        return period_contains(self.valid_from, self.valid_to, as_of)


@dataclass(frozen=True, slots=True)
class TeamAssignment:
    """A user in a role for one customer or for every customer of one org unit."""

    user_id: UserId
    role: str
    valid_from: date
    valid_to: date | None = None
    customer_id: CustomerId | None = None
    org_unit_id: OrgUnitId | None = None

    def active_on(self, as_of: date) -> bool:
        return period_contains(self.valid_from, self.valid_to, as_of)


@dataclass(frozen=True, slots=True)
class TeamMember:
    """One member of an effective account team.

    ``source`` is ``"direct"`` or the path of the org unit the assignment sits on,
    root first (``"EU/DACH/MUC"``); ``org_unit_path`` is the same path as a tuple
    (empty for direct assignments).
    """

    user_id: UserId
    role: str
    source: str
    org_unit_path: tuple[OrgUnitId, ...] = ()


def _period_errors(valid_from: date, valid_to: date | None) -> list[FieldError]:
    if period_is_valid(valid_from, valid_to):
        return []
    return [
        FieldError(
            "valid_to",
            "invalid_period",
            f"valid_to ({valid_to}) must be after valid_from ({valid_from})",
        )
    ]


class OrgStructure:
    """Org unit tree plus assignments, as a repository loads them; validated on add."""

    def __init__(
        self,
        *,
        kinds: Set[str] = frozenset(ORG_UNIT_KINDS),
        roles: Iterable[str] = TEAM_ROLES,
    ) -> None:
        self.kinds = frozenset(kinds)
        self.roles: tuple[str, ...] = tuple(roles)
        self._units: dict[OrgUnitId, OrgUnit] = {}
        self._children: dict[OrgUnitId, list[OrgUnitId]] = {}
        self._customer_units: dict[CustomerId, list[CustomerAssignment]] = {}
        self._unit_customers: dict[OrgUnitId, list[CustomerAssignment]] = {}
        self._team_by_customer: dict[CustomerId, list[TeamAssignment]] = {}
        self._team_by_unit: dict[OrgUnitId, list[TeamAssignment]] = {}

    # --- the org unit tree ---------------------------------------------------------------

    def add_unit(self, unit: OrgUnit) -> None:
        """Add a unit under an existing parent (or as a root)."""
        errors: list[FieldError] = []
        if unit.id in self._units:
            errors.append(FieldError("id", "duplicate", f"org unit {unit.id} already exists"))
        if unit.kind not in self.kinds:
            known = ", ".join(sorted(self.kinds))
            errors.append(
                FieldError(
                    "kind", "unknown_org_unit_kind", f"unknown kind '{unit.kind}' (known: {known})"
                )
            )
        if not unit.name.strip():
            errors.append(FieldError("name", "required", "an org unit needs a name"))
        if unit.parent_id is not None and unit.parent_id == unit.id:
            errors.append(FieldError("parent_id", "cycle", "an org unit cannot be its own parent"))
        elif unit.parent_id is not None and unit.parent_id not in self._units:
            errors.append(
                FieldError(
                    "parent_id", "unknown_org_unit", f"unknown parent org unit {unit.parent_id}"
                )
            )
        if errors:
            raise ValidationFailed(errors)
        self._units[unit.id] = unit
        if unit.parent_id is not None:
            self._children.setdefault(unit.parent_id, []).append(unit.id)

    def add_units(self, units: Iterable[OrgUnit]) -> None:
        """Add units in any order: each is added once its parent is known."""
        waiting: dict[OrgUnitId, list[OrgUnit]] = {}
        queue: deque[OrgUnit] = deque()
        batch: dict[OrgUnitId, OrgUnit] = {}
        for unit in units:
            batch[unit.id] = unit
            if unit.parent_id is None or unit.parent_id in self._units:
                queue.append(unit)
            else:
                waiting.setdefault(unit.parent_id, []).append(unit)
        while queue:
            unit = queue.popleft()
            self.add_unit(unit)
            queue.extend(waiting.pop(unit.id, ()))
        if waiting:
            self._raise_stuck(next(iter(waiting.values()))[0], batch)

    def _raise_stuck(self, unit: OrgUnit, batch: dict[OrgUnitId, OrgUnit]) -> None:
        """Explain why ``unit`` never got a parent: an unknown ancestor or a cycle."""
        seen: set[OrgUnitId] = set()
        while unit.parent_id in batch and unit.id not in seen:
            seen.add(unit.id)
            unit = batch[unit.parent_id]
        if unit.id in seen:
            raise ValidationFailed(
                [FieldError("parent_id", "cycle", f"org unit {unit.id} is in a cycle")]
            )
        self.add_unit(unit)  # raises: unknown parent

    def move_unit(self, unit_id: OrgUnitId, new_parent_id: OrgUnitId | None) -> OrgUnit:
        """Re-parent a unit (with its subtree); refuses a move under itself."""
        unit = self.unit(unit_id)
        if new_parent_id is not None:
            if new_parent_id not in self._units:
                raise ValidationFailed(
                    [
                        FieldError(
                            "parent_id", "unknown_org_unit", f"unknown org unit {new_parent_id}"
                        )
                    ]
                )
            if new_parent_id == unit_id or unit_id in self.ancestors(new_parent_id):
                raise ValidationFailed(
                    [
                        FieldError(
                            "parent_id",
                            "cycle",
                            f"{new_parent_id} is inside {unit_id}: the move would create a cycle",
                        )
                    ]
                )
        if unit.parent_id is not None:
            self._children[unit.parent_id].remove(unit_id)
        moved = replace(unit, parent_id=new_parent_id)
        self._units[unit_id] = moved
        if new_parent_id is not None:
            self._children.setdefault(new_parent_id, []).append(unit_id)
        return moved

    def unit(self, unit_id: OrgUnitId) -> OrgUnit:
        try:
            return self._units[unit_id]
        except KeyError:
            raise NotFound(f"unknown org unit {unit_id}") from None

    def ancestors(self, unit_id: OrgUnitId) -> list[OrgUnitId]:
        """Parent first, root last."""
        found: list[OrgUnitId] = []
        parent = self.unit(unit_id).parent_id
        while parent is not None:
            found.append(parent)
            parent = self._units[parent].parent_id
        return found

    def path(self, unit_id: OrgUnitId) -> tuple[OrgUnitId, ...]:
        """Root first, the unit last."""
        return (*reversed(self.ancestors(unit_id)), unit_id)

    def children(self, unit_id: OrgUnitId) -> list[OrgUnitId]:
        return list(self._children.get(unit_id, ()))

    def subtree(self, unit_id: OrgUnitId) -> list[OrgUnitId]:
        """The unit and everything below it, breadth-first."""
        self.unit(unit_id)
        found: list[OrgUnitId] = []
        queue: deque[OrgUnitId] = deque([unit_id])
        while queue:
            current = queue.popleft()
            found.append(current)
            queue.extend(self._children.get(current, ()))
        return found

    # --- assignments ---------------------------------------------------------------------

    def assign_customer(self, assignment: CustomerAssignment) -> None:
        errors = _period_errors(assignment.valid_from, assignment.valid_to)
        if assignment.org_unit_id not in self._units:
            errors.append(
                FieldError(
                    "org_unit_id", "unknown_org_unit", f"unknown org unit {assignment.org_unit_id}"
                )
            )
        if not errors:
            for other in self._customer_units.get(assignment.customer_id, ()):
                if other.org_unit_id == assignment.org_unit_id and periods_overlap(
                    other.valid_from, other.valid_to, assignment.valid_from, assignment.valid_to
                ):
                    errors.append(
                        FieldError(
                            "valid_from",
                            "duplicate_assignment",
                            f"{assignment.customer_id} is already in {assignment.org_unit_id} "
                            "for part of this period",
                        )
                    )
                    break
        if errors:
            raise ValidationFailed(errors)
        self._customer_units.setdefault(assignment.customer_id, []).append(assignment)
        self._unit_customers.setdefault(assignment.org_unit_id, []).append(assignment)

    def assign_user(self, assignment: TeamAssignment) -> None:
        errors = _period_errors(assignment.valid_from, assignment.valid_to)
        if assignment.role not in self.roles:
            known = ", ".join(self.roles)
            errors.append(
                FieldError(
                    "role", "unknown_role", f"unknown role '{assignment.role}' (known: {known})"
                )
            )
        has_customer = assignment.customer_id is not None
        has_unit = assignment.org_unit_id is not None
        if has_customer == has_unit:
            errors.append(
                FieldError(
                    "customer_id" if has_customer else "org_unit_id",
                    "ambiguous_target" if has_customer else "target_required",
                    "assign a user either to a customer or to an org unit, not both"
                    if has_customer
                    else "a user is assigned to a customer or to an org unit",
                )
            )
        elif has_unit and assignment.org_unit_id not in self._units:
            errors.append(
                FieldError(
                    "org_unit_id", "unknown_org_unit", f"unknown org unit {assignment.org_unit_id}"
                )
            )
        if not errors:
            for other in self._team_list(assignment):
                if (
                    other.user_id == assignment.user_id
                    and other.role == assignment.role
                    and periods_overlap(
                        other.valid_from, other.valid_to, assignment.valid_from, assignment.valid_to
                    )
                ):
                    errors.append(
                        FieldError(
                            "valid_from",
                            "duplicate_assignment",
                            f"{assignment.user_id} already holds role {assignment.role} there "
                            "for part of this period",
                        )
                    )
                    break
        if errors:
            raise ValidationFailed(errors)
        self._team_list(assignment).append(assignment)

    def _team_list(self, assignment: TeamAssignment) -> list[TeamAssignment]:
        if assignment.customer_id is not None:
            return self._team_by_customer.setdefault(assignment.customer_id, [])
        return self._team_by_unit.setdefault(assignment.org_unit_id, [])

    def units_of(self, customer_id: CustomerId, as_of: date) -> list[OrgUnitId]:
        return [
            a.org_unit_id for a in self._customer_units.get(customer_id, ()) if a.active_on(as_of)
        ]

    def customers_of(
        self, unit_id: OrgUnitId, as_of: date, *, include_subtree: bool = False
    ) -> list[CustomerId]:
        units = self.subtree(unit_id) if include_subtree else [unit_id]
        found: dict[CustomerId, None] = {}
        for unit in units:
            for a in self._unit_customers.get(unit, ()):
                if a.active_on(as_of):
                    found[a.customer_id] = None
        return list(found)

    def effective_account_team(self, customer_id: CustomerId, as_of: date) -> list[TeamMember]:
        """The customer's team on ``as_of`` (precedence: see the module docstring)."""
        members: list[TeamMember] = []
        direct_roles: set[str] = set()
        for a in self._team_by_customer.get(customer_id, ()):
            if a.active_on(as_of):
                members.append(TeamMember(a.user_id, a.role, "direct"))
                direct_roles.add(a.role)
        for unit_id in self.units_of(customer_id, as_of):
            path = self.path(unit_id)
            claimed = set(direct_roles)
            for depth in range(len(path), 0, -1):  # nearest unit first
                found: set[str] = set()
                for a in self._team_by_unit.get(path[depth - 1], ()):
                    if a.active_on(as_of) and a.role not in claimed:
                        source = PATH_SEPARATOR.join(str(u) for u in path[:depth])
                        members.append(TeamMember(a.user_id, a.role, source, path[:depth]))
                        found.add(a.role)
                claimed |= found
        unique: dict[tuple[UserId, str], TeamMember] = {}
        for member in members:
            unique.setdefault((member.user_id, member.role), member)
        rank = {role: i for i, role in enumerate(self.roles)}
        return sorted(
            unique.values(), key=lambda m: (rank.get(m.role, len(rank)), m.source != "direct")
        )
