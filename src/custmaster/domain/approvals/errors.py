"""Errors of the approval policy and of change requests.

All derive from :mod:`custmaster.domain.errors` so ``custmaster.api.problems`` maps
them without knowing this package: a policy error is a start-up failure, segregation
of duties is 403, a move the state machine forbids is 409, an unapprovable request 422.
"""

from __future__ import annotations

from collections.abc import Iterable

from custmaster.domain.errors import Conflict, DomainError, FieldError, ValidationFailed
from custmaster.domain.permissions import PermissionDenied


class PolicyError(DomainError):
    """The approval policy is invalid; ``problems`` names the path of each bad key."""

    title = "Invalid approval policy"

    def __init__(self, problems: Iterable[FieldError], source: str | None = None) -> None:
        self.problems: list[FieldError] = list(problems)
        self.source = source
        where = f" in {source}" if source else ""
        lines = "\n".join(f"  {p.field}: {p.message}" for p in self.problems)
        super().__init__(f"invalid approval policy{where}:\n{lines}")


class SegregationOfDuties(PermissionDenied):
    """The principal may not decide this step: submitter, second step, or wrong role."""

    title = "Segregation of duties"


class InvalidTransition(Conflict):
    """The change request is not in a state that allows this move."""

    title = "Invalid change request transition"


class Unapprovable(ValidationFailed):
    """No set of distinct eligible approvers could ever approve the request."""

    title = "Change request cannot be approved"

    def __init__(self, message: str) -> None:
        super().__init__([FieldError("steps", "unapprovable", message)], message)
