"""The approval policy: default steps per operation and risk rules that choose the lane."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from custmaster.domain.approvals.fields import DEFAULT_KNOWN_FIELDS
from custmaster.domain.approvals.policy_schema import parse_policy
from custmaster.domain.approvals.rules import (
    FieldChange,
    Lane,
    Operation,
    OperationPolicy,
    Rule,
)
from custmaster.domain.permissions import Role


@dataclass(frozen=True, slots=True)
class Decision:
    """What the policy asks of a proposed change.

    ``steps`` are the approving roles in order (empty for green); ``reasons`` say why,
    ``rules`` name the rules that matched, ``checks`` the automated checks to pass first.
    """

    lane: Lane
    steps: tuple[Role, ...]
    reasons: tuple[str, ...]
    rules: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()

    @property
    def needs_approval(self) -> bool:
        return self.lane is not Lane.GREEN


@dataclass(frozen=True, slots=True)
class Policy:
    """An approval policy. Build it with :meth:`from_dict`, which validates everything.

    ``proposal_steps`` review a change that would go green but whose submitter may only
    propose changes (``customer.propose`` without the direct permission).
    """

    operations: Mapping[Operation, OperationPolicy]
    rules: tuple[Rule, ...]
    proposal_steps: tuple[Role, ...]
    version: int = 1

    @classmethod
    def from_dict(
        cls,
        data: Any,
        *,
        known_fields: Mapping[str, frozenset[str] | None] = DEFAULT_KNOWN_FIELDS,
    ) -> Policy:
        """Validate plain data (e.g. parsed YAML) and build the policy.

        Raises :class:`~custmaster.domain.approvals.errors.PolicyError` listing every
        problem with the path of the bad key.
        """
        parts = parse_policy(data, known_fields)
        return cls(parts.operations, parts.rules, parts.proposal_steps, parts.version)

    def evaluate(
        self,
        operation: Operation,
        changes: Sequence[FieldChange],
        before: Mapping[str, Any] | None = None,
        after: Mapping[str, Any] | None = None,
        *,
        direct: bool = True,
    ) -> Decision:
        """Decide the lane and the approval steps of a proposed change.

        Args:
            operation: what the change does.
            changes: the fields it touches with their values before and after.
            before: the record before the change (``None`` for a create).
            after: the record after the change (``None`` for a delete).
            direct: ``False`` when the submitter may only propose; a green change then
                goes to the policy's ``proposal_steps`` instead of applying at once.

        Example:
            >>> policy.evaluate(Operation.UPDATE, [FieldChange("notes", "a", "b")]).lane
            <Lane.GREEN: 'green'>
        """
        base = self.operations[operation]
        lane = base.lane
        steps = list(base.steps)
        reasons = [f"default for {operation.value}: {base.lane.value}"]
        matched: list[str] = []
        escalated = False
        green_reasons: list[str] = []
        for rule in self.rules:
            if not rule.applies(operation, changes, before, after):
                continue
            matched.append(rule.name)
            if rule.lane is Lane.GREEN:
                green_reasons.append(rule.reason)
                continue
            escalated = True
            if rule.lane.rank > lane.rank:
                lane = rule.lane
            steps.extend(role for role in rule.add_steps if role not in steps)
            reasons.append(rule.reason)
        if not escalated and green_reasons:
            lane, steps = Lane.GREEN, []
            reasons.extend(green_reasons)
        if lane is Lane.GREEN and not direct:
            lane, steps = Lane.YELLOW, list(self.proposal_steps)
            reasons.append("the submitter may only propose changes")
        return Decision(lane, tuple(steps), tuple(reasons), tuple(matched), base.checks)
