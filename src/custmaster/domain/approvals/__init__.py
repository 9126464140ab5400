"""Approval policy and change requests (issue 6).

- :mod:`.rules` / :mod:`.policy`: operations, lanes, risk rules, :class:`Policy` and
  its :class:`Decision`; :mod:`.policy_schema` validates a policy given as plain data.
- :mod:`.change_request`: the change-request state machine.
- :mod:`.sod`: segregation of duties and the submission-time approvability check.
- :mod:`.rebase`: conflicted or rebased, when the last approval is applied.
"""

from custmaster.domain.approvals.change_request import (
    ApprovalStep,
    ChangeRequest,
    ProposedChange,
    RequestStatus,
    StepState,
)
from custmaster.domain.approvals.errors import (
    InvalidTransition,
    PolicyError,
    SegregationOfDuties,
    Unapprovable,
)
from custmaster.domain.approvals.fields import DEFAULT_KNOWN_FIELDS, path_matches, rule_path
from custmaster.domain.approvals.policy import Decision, Policy
from custmaster.domain.approvals.rebase import RebaseResult, RebaseStatus, rebase
from custmaster.domain.approvals.rules import (
    STRUCTURE_OPERATIONS,
    Condition,
    FieldChange,
    Lane,
    Operation,
    OperationPolicy,
    Rule,
    Threshold,
)
from custmaster.domain.approvals.sod import check_approvable, find_assignment, may_hold_step
from custmaster.domain.approvals.submission import (
    DIRECT_PERMISSIONS,
    SUBMIT_PERMISSIONS,
    require_submit,
)

__all__ = [
    "DEFAULT_KNOWN_FIELDS",
    "DIRECT_PERMISSIONS",
    "STRUCTURE_OPERATIONS",
    "SUBMIT_PERMISSIONS",
    "ApprovalStep",
    "ChangeRequest",
    "Condition",
    "Decision",
    "FieldChange",
    "InvalidTransition",
    "Lane",
    "Operation",
    "OperationPolicy",
    "Policy",
    "PolicyError",
    "ProposedChange",
    "RebaseResult",
    "RebaseStatus",
    "RequestStatus",
    "Rule",
    "SegregationOfDuties",
    "StepState",
    "Threshold",
    "Unapprovable",
    "check_approvable",
    "find_assignment",
    "may_hold_step",
    "path_matches",
    "rebase",
    "require_submit",
    "rule_path",
]
