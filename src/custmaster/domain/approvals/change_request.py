"""The change request: a proposed change waiting for its approval steps.

States::

    pending --approve (last step)--> approved --mark_applied--> applied
    pending --reject--> rejected        pending --withdraw--> withdrawn
    pending | approved --mark_conflicted--> conflicted

Steps are decided in order: approve and reject act on the first pending step.
Segregation of duties (see :mod:`.sod`) is enforced on every decision.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

from custmaster.domain.approvals.errors import InvalidTransition, SegregationOfDuties
from custmaster.domain.approvals.policy import Decision
from custmaster.domain.approvals.rules import Lane, Operation
from custmaster.domain.approvals.sod import check_approvable, may_hold_step
from custmaster.domain.permissions import Permission, Principal, Role, require


class StepState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class RequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    APPLIED = "applied"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    CONFLICTED = "conflicted"

    @property
    def is_final(self) -> bool:
        return self in _FINAL


_FINAL = frozenset(
    {
        RequestStatus.APPLIED,
        RequestStatus.REJECTED,
        RequestStatus.WITHDRAWN,
        RequestStatus.CONFLICTED,
    }
)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ProposedChange:
    """What the request would do, and what it was made against.

    ``payload`` is the JSON-able change as the API received it; ``fields`` the field
    paths it touches; ``base_version`` the record version it was made against and
    ``base_values`` the values of ``fields`` at that version (for the rebase check).
    """

    payload: Mapping[str, Any]
    fields: tuple[str, ...] = ()
    base_version: int | None = None
    base_values: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ApprovalStep:
    role: Role
    state: StepState = StepState.PENDING
    decided_by: str | None = None
    decided_at: datetime | None = None
    comment: str | None = None


@dataclass(slots=True)
class ChangeRequest:
    """A change waiting for approval. Create it with :meth:`submit`."""

    id: UUID
    operation: Operation
    customer_id: UUID | None
    submitted_by: str
    lane: Lane
    steps: list[ApprovalStep]
    change: ProposedChange
    created_at: datetime
    entities: frozenset[str] = frozenset()
    reasons: tuple[str, ...] = ()
    status: RequestStatus = RequestStatus.PENDING
    updated_at: datetime | None = None
    conflict_fields: tuple[str, ...] = ()
    #: non-blocking warnings computed at submission (large credit limit, possible
    #: duplicate): ``{"field", "code", "message"}``, shown to every approver
    warnings: tuple[Mapping[str, Any], ...] = ()

    @classmethod
    def submit(
        cls,
        *,
        operation: Operation,
        customer_id: UUID | None,
        submitter: Principal,
        decision: Decision,
        change: ProposedChange,
        entities: Iterable[str] = (),
        eligible_approvers: Iterable[Principal] | None = None,
        request_id: UUID | None = None,
        at: datetime | None = None,
        warnings: Iterable[Mapping[str, Any]] = (),
    ) -> ChangeRequest:
        """Open a request for a change the policy sends to approval.

        ``customer_id`` is ``None`` when there is no single target yet (create, bulk
        import). ``entities`` are the legal entities the change concerns (owning entity,
        overrides touched): a scoped approver must see all of them. With
        ``eligible_approvers`` (the active users) the request is refused with
        :class:`Unapprovable` when no distinct approvers could ever approve it.
        """
        if not decision.steps:
            raise InvalidTransition("a change without approval steps applies at once")
        scope = frozenset(entities)
        if eligible_approvers is not None:
            check_approvable(
                decision.steps,
                eligible_approvers,
                submitter_id=submitter.user_id,
                entities=scope,
            )
        when = at or _now()
        return cls(
            id=request_id or uuid4(),
            operation=operation,
            customer_id=customer_id,
            submitted_by=submitter.user_id,
            lane=decision.lane,
            steps=[ApprovalStep(role) for role in decision.steps],
            change=change,
            created_at=when,
            entities=scope,
            reasons=decision.reasons,
            updated_at=when,
            warnings=tuple(dict(w) for w in warnings),
        )

    @property
    def current_step(self) -> ApprovalStep | None:
        """The first pending step while the request is pending."""
        if self.status is not RequestStatus.PENDING:
            return None
        return next((s for s in self.steps if s.state is StepState.PENDING), None)

    @property
    def deciders(self) -> frozenset[str]:
        return frozenset(s.decided_by for s in self.steps if s.decided_by is not None)

    def can_decide(self, principal: Principal) -> bool:
        """Whether ``principal`` may approve or reject the current step now."""
        try:
            self._check_decider(principal)
        except (SegregationOfDuties, InvalidTransition):
            return False
        return principal.has(Permission.CHANGEREQUEST_APPROVE)

    def approve(
        self, principal: Principal, comment: str | None = None, at: datetime | None = None
    ) -> ApprovalStep:
        """Approve the current step; after the last one the request is ``approved``
        (the service then re-validates, applies and calls :meth:`mark_applied`)."""
        step = self._decide(principal, StepState.APPROVED, comment, at)
        if all(s.state is StepState.APPROVED for s in self.steps):
            self.status = RequestStatus.APPROVED
        return step

    def reject(self, principal: Principal, reason: str, at: datetime | None = None) -> ApprovalStep:
        """Reject the current step with a reason; the request is ``rejected``."""
        if not reason or not reason.strip():
            raise InvalidTransition("a rejection needs a reason")
        step = self._decide(principal, StepState.REJECTED, reason, at)
        self.status = RequestStatus.REJECTED
        return step

    def withdraw(self, principal: Principal, at: datetime | None = None) -> None:
        """The submitter takes back a pending request."""
        self._require_status(RequestStatus.PENDING, "withdraw")
        if principal.user_id != self.submitted_by:
            raise SegregationOfDuties("only the submitter may withdraw a change request")
        self._move(RequestStatus.WITHDRAWN, at)

    def mark_conflicted(self, fields: Iterable[str], at: datetime | None = None) -> None:
        """The record changed meanwhile in the fields this request touches."""
        self._require_status((RequestStatus.PENDING, RequestStatus.APPROVED), "mark conflicted")
        self.conflict_fields = tuple(fields)
        self._move(RequestStatus.CONFLICTED, at)

    def mark_applied(self, at: datetime | None = None) -> None:
        """The approved change was applied to the record."""
        self._require_status(RequestStatus.APPROVED, "mark applied")
        self._move(RequestStatus.APPLIED, at)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able snapshot (ids, times and enums as strings) for the API and audit."""

        def iso(moment: datetime | None) -> str | None:
            return moment.isoformat() if moment else None

        return {
            "id": str(self.id),
            "operation": self.operation.value,
            "customer_id": str(self.customer_id) if self.customer_id else None,
            "submitted_by": self.submitted_by,
            "lane": self.lane.value,
            "status": self.status.value,
            "entities": sorted(self.entities),
            "reasons": list(self.reasons),
            "steps": [
                {
                    "role": s.role.value,
                    "state": s.state.value,
                    "decided_by": s.decided_by,
                    "decided_at": iso(s.decided_at),
                    "comment": s.comment,
                }
                for s in self.steps
            ],
            "change": {
                "payload": dict(self.change.payload),
                "fields": list(self.change.fields),
                "base_version": self.change.base_version,
                "base_values": dict(self.change.base_values),
            },
            "conflict_fields": list(self.conflict_fields),
            "warnings": [dict(w) for w in self.warnings],
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }

    def _decide(
        self, principal: Principal, state: StepState, comment: str | None, at: datetime | None
    ) -> ApprovalStep:
        require(principal, Permission.CHANGEREQUEST_APPROVE)
        step = self._check_decider(principal)
        when = at or _now()
        step.state, step.decided_by, step.decided_at = state, principal.user_id, when
        step.comment = comment
        self.updated_at = when
        return step

    def _check_decider(self, principal: Principal) -> ApprovalStep:
        self._require_status(RequestStatus.PENDING, "decide")
        step = self.current_step
        if step is None:  # pragma: no cover - a pending request always has a pending step
            raise InvalidTransition("no step is waiting for a decision")
        if principal.is_agent:
            raise SegregationOfDuties(
                f"an agent acting for {principal.user_id} (via {principal.via}) may not decide "
                "a change request: approvals are made by people"
            )
        if principal.user_id == self.submitted_by:
            raise SegregationOfDuties("the submitter may not decide their own change request")
        if principal.user_id in self.deciders:
            raise SegregationOfDuties("one person may not decide two steps of a change request")
        if not may_hold_step(principal, step.role, self.entities):
            raise SegregationOfDuties(
                f"this step needs the role {step.role.value} for the entities "
                f"{', '.join(sorted(self.entities)) or '(none)'}"
            )
        return step

    def _require_status(
        self, allowed: RequestStatus | tuple[RequestStatus, ...], action: str
    ) -> None:
        statuses = allowed if isinstance(allowed, tuple) else (allowed,)
        if self.status not in statuses:
            raise InvalidTransition(f"cannot {action} a change request that is {self.status}")

    def _move(self, status: RequestStatus, at: datetime | None) -> None:
        self.status = status
        self.updated_at = at or _now()
