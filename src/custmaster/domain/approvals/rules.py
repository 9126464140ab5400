"""Operations, lanes, field changes and the risk rules that choose a lane."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from custmaster.domain.approvals.fields import path_matches
from custmaster.domain.permissions import Role


class Operation(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DEACTIVATE = "deactivate"
    REACTIVATE = "reactivate"
    HARD_DELETE = "hard_delete"
    BULK_IMPORT = "bulk_import"
    MERGE = "merge"
    UNMERGE = "unmerge"
    ERASE_PERSONAL_DATA = "erase_personal_data"
    HIERARCHY_LINK = "hierarchy_link"
    HIERARCHY_MOVE = "hierarchy_move"
    HIERARCHY_END = "hierarchy_end"
    RELATIONSHIP_CREATE = "relationship_create"
    RELATIONSHIP_END = "relationship_end"
    ORG_UNIT_ASSIGNMENT = "org_unit_assignment"
    TEAM_ASSIGNMENT = "team_assignment"
    #: a new version of the profile rules (health, churn, tier, segments, actions)
    PROFILE_RULES_CHANGE = "profile_rules_change"

    @property
    def is_structure(self) -> bool:
        """A change of the account structure: rules test its ``types``, not fields."""
        return self in STRUCTURE_OPERATIONS


#: Structure changes. Their "type" is the hierarchy type (hierarchy_*), the relationship
#: type (relationship_*), the org unit's kind (org_unit_assignment) or the team role
#: (team_assignment); the record a rule sees is ``{"type": ...}``.
STRUCTURE_OPERATIONS = frozenset(
    {
        Operation.HIERARCHY_LINK,
        Operation.HIERARCHY_MOVE,
        Operation.HIERARCHY_END,
        Operation.RELATIONSHIP_CREATE,
        Operation.RELATIONSHIP_END,
        Operation.ORG_UNIT_ASSIGNMENT,
        Operation.TEAM_ASSIGNMENT,
    }
)


class Lane(StrEnum):
    """green: applies at once; yellow: needs approval; red: high risk, more approvers."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"

    @property
    def rank(self) -> int:
        return _LANE_RANK[self]


_LANE_RANK = {Lane.GREEN: 0, Lane.YELLOW: 1, Lane.RED: 2}


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field a proposed change touches, with its value before and after."""

    path: str
    before: Any = None
    after: Any = None


class Combine(StrEnum):
    ANY = "any"
    ALL = "all"


def as_decimal(value: Any) -> Decimal | None:
    """A number as a Decimal, or ``None`` for absent or non-numeric values."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


@dataclass(frozen=True, slots=True)
class Threshold:
    """Numeric tests on the changes of one field.

    ``increase_above``: after - before > x (an absent before counts as 0);
    ``increase_ratio_above``: (after - before) / before > r, only when before > 0;
    ``value_above``: after > x. ``combine`` says whether any or all given tests must hold.
    """

    field: str
    increase_above: Decimal | None = None
    increase_ratio_above: Decimal | None = None
    value_above: Decimal | None = None
    combine: Combine = Combine.ANY

    def holds_for(self, change: FieldChange) -> bool:
        after = as_decimal(change.after)
        if after is None:
            return False
        before = as_decimal(change.before)
        results: list[bool] = []
        if self.increase_above is not None:
            results.append(after - (before or Decimal(0)) > self.increase_above)
        if self.increase_ratio_above is not None:
            if before is not None and before > 0:
                results.append((after - before) / before > self.increase_ratio_above)
            else:
                results.append(False)
        if self.value_above is not None:
            results.append(after > self.value_above)
        if not results:
            return False
        return all(results) if self.combine is Combine.ALL else any(results)

    def holds(self, changes: Sequence[FieldChange]) -> bool:
        return any(self.holds_for(c) for c in changes if path_matches(self.field, c.path))


@dataclass(frozen=True, slots=True)
class Condition:
    """When a rule applies; every part given must hold (an empty condition always holds).

    ``only_fields``: the change touches at least one field and only fields under these;
    ``any_field``: the change touches at least one field under these;
    ``threshold``: a numeric test on one field's changes;
    ``record``: top-level record fields equal one of the listed values (compared as
    text; read from the record after the change, or before it for removals);
    ``types``: a structure change's type (the record's ``type``) is one of these.
    """

    only_fields: tuple[str, ...] | None = None
    any_field: tuple[str, ...] | None = None
    threshold: Threshold | None = None
    record: Mapping[str, frozenset[str]] | None = None
    types: frozenset[str] | None = None

    def holds(
        self,
        changes: Sequence[FieldChange],
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any] | None,
    ) -> bool:
        if self.only_fields is not None and not (
            changes and all(any(path_matches(p, c.path) for p in self.only_fields) for c in changes)
        ):
            return False
        if self.any_field is not None and not any(
            path_matches(p, c.path) for p in self.any_field for c in changes
        ):
            return False
        if self.threshold is not None and not self.threshold.holds(changes):
            return False
        if self.record is not None:
            record = after if after is not None else before
            if record is None:
                return False
            for name, allowed in self.record.items():
                value = record.get(name)
                if value is None or str(value) not in allowed:
                    return False
        if self.types is not None:
            record = after if after is not None else before
            if record is None or str(record.get("type")) not in self.types:
                return False
        return True


@dataclass(frozen=True, slots=True)
class Rule:
    """A risk rule: when ``when`` holds for one of ``operations``, set the lane.

    A green rule lets the change apply at once, unless another rule escalates. A yellow
    or red rule raises the lane to at least its own and appends ``add_steps`` (roles
    already among the steps are not added twice).
    """

    name: str
    operations: frozenset[Operation]
    when: Condition
    lane: Lane
    add_steps: tuple[Role, ...] = ()
    reason: str = ""

    def applies(
        self,
        operation: Operation,
        changes: Sequence[FieldChange],
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any] | None,
    ) -> bool:
        return operation in self.operations and self.when.holds(changes, before, after)


@dataclass(frozen=True, slots=True)
class OperationPolicy:
    """The default lane and approval steps of one operation.

    ``checks`` are automated checks that must pass before the first human step (e.g.
    ``validation`` of a bulk import batch); the service layer runs them.
    """

    lane: Lane
    steps: tuple[Role, ...]
    checks: tuple[str, ...] = ()
