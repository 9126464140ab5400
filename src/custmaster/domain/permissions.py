"""Roles, permissions, the permission matrix and the principal acting on the hub.

The matrix below is the single source of truth: the service layer checks it with
:func:`require`, and ``docs/permissions.md`` is generated from it by
:func:`render_matrix_markdown` (a test keeps the two in step).

Holding a permission is necessary, not sufficient: approving a change request also
needs the role of the step being decided and obeys segregation of duties
(:mod:`custmaster.domain.approvals`), and a principal scoped to legal entities sees and
changes only those entities (:func:`can_see_entity`, :func:`filter_entities`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from custmaster.domain.errors import Forbidden


class Role(StrEnum):
    VIEWER = "viewer"
    SALES_REP = "sales_rep"
    DATA_STEWARD = "data_steward"
    AR_MANAGER = "ar_manager"
    CONTROLLER = "controller"
    CFO = "cfo"
    ADMIN = "admin"
    INTEGRATION = "integration"


class Permission(StrEnum):
    CUSTOMER_READ = "customer.read"
    CUSTOMER_PROPOSE = "customer.propose"
    CUSTOMER_CREATE = "customer.create"
    CUSTOMER_UPDATE = "customer.update"
    CUSTOMER_DEACTIVATE = "customer.deactivate"
    CUSTOMER_REACTIVATE = "customer.reactivate"
    CUSTOMER_DELETE = "customer.delete"
    HIERARCHY_CHANGE = "hierarchy.change"
    RELATIONSHIP_CHANGE = "relationship.change"
    ASSIGNMENT_CHANGE = "assignment.change"
    REFERENCE_READ = "reference.read"
    REFERENCE_MANAGE = "reference.manage"
    IMPORT_SUBMIT = "import.submit"
    IMPORT_APPROVE = "import.approve"
    CHANGEREQUEST_READ = "changerequest.read"
    CHANGEREQUEST_APPROVE = "changerequest.approve"
    MERGE_PROPOSE = "merge.propose"
    AUDIT_READ = "audit.read"
    AUDIT_VERIFY = "audit.verify"
    USER_MANAGE = "user.manage"
    PERSONAL_DATA_EXPORT = "personal_data.export"
    PERSONAL_DATA_ERASE = "personal_data.erase"
    INTEGRATION_MANAGE = "integration.manage"
    PROFILE_RULES_PROPOSE = "profile_rules.propose"
    ACTIVITY_WRITE = "activity.write"


PERMISSION_DESCRIPTIONS: Mapping[Permission, str] = {
    Permission.CUSTOMER_READ: "read customers and their effective views",
    Permission.CUSTOMER_PROPOSE: "propose changes (alone: even green ones get reviewed)",
    Permission.CUSTOMER_CREATE: "submit new customers (subject to the approval policy)",
    Permission.CUSTOMER_UPDATE: "submit updates (subject to the approval policy)",
    Permission.CUSTOMER_DEACTIVATE: "submit deactivations (soft delete)",
    Permission.CUSTOMER_REACTIVATE: "submit reactivations",
    Permission.CUSTOMER_DELETE: "submit hard deletes (red lane)",
    Permission.HIERARCHY_CHANGE: "submit hierarchy links, moves and ends (approval policy)",
    Permission.RELATIONSHIP_CHANGE: "submit relationships and their ends (approval policy)",
    Permission.ASSIGNMENT_CHANGE: "submit org-unit and account-team assignments (approval policy)",
    Permission.REFERENCE_READ: "read reference data",
    Permission.REFERENCE_MANAGE: "create and change reference data",
    Permission.IMPORT_SUBMIT: "submit bulk imports",
    Permission.IMPORT_APPROVE: "review bulk imports (with the step's role)",
    Permission.CHANGEREQUEST_READ: "list and read change requests",
    Permission.CHANGEREQUEST_APPROVE: "approve or reject steps (with the step's role)",
    Permission.MERGE_PROPOSE: "propose merges and unmerges of duplicates",
    Permission.AUDIT_READ: "read the audit trail",
    Permission.AUDIT_VERIFY: "verify the audit hash chain",
    Permission.USER_MANAGE: "manage users, roles and entity scopes",
    Permission.PERSONAL_DATA_EXPORT: "export a person's data (subject access)",
    Permission.PERSONAL_DATA_ERASE: "submit erasure of a person's data",
    Permission.INTEGRATION_MANAGE: "run, pause and inspect the outbound sync targets",
    Permission.PROFILE_RULES_PROPOSE: "propose new versions of the profile rules (approval policy)",
    Permission.ACTIVITY_WRITE: "send activity events; list and replay dead letters",
}

_P = Permission
_READ = frozenset({_P.CUSTOMER_READ, _P.REFERENCE_READ})
_WORKFLOW = frozenset({_P.CHANGEREQUEST_READ})
_APPROVER = frozenset({_P.CHANGEREQUEST_APPROVE, _P.CHANGEREQUEST_READ, _P.AUDIT_READ})
_STRUCTURE = frozenset({_P.HIERARCHY_CHANGE, _P.RELATIONSHIP_CHANGE, _P.ASSIGNMENT_CHANGE})

#: The permission matrix: what each role may do. Admin holds every permission but, as
#: every role, is bound by segregation of duties and approves only steps of roles it holds.
PERMISSION_MATRIX: Mapping[Role, frozenset[Permission]] = {
    Role.VIEWER: _READ,
    Role.SALES_REP: _READ | _WORKFLOW | {_P.CUSTOMER_PROPOSE, _P.MERGE_PROPOSE},
    Role.DATA_STEWARD: _READ
    | _APPROVER
    | _STRUCTURE
    | {
        _P.CUSTOMER_PROPOSE,
        _P.CUSTOMER_CREATE,
        _P.CUSTOMER_UPDATE,
        _P.CUSTOMER_DEACTIVATE,
        _P.CUSTOMER_REACTIVATE,
        _P.REFERENCE_MANAGE,
        _P.IMPORT_SUBMIT,
        _P.MERGE_PROPOSE,
        _P.PERSONAL_DATA_EXPORT,
        _P.PERSONAL_DATA_ERASE,
        _P.PROFILE_RULES_PROPOSE,
    },
    Role.AR_MANAGER: _READ
    | _APPROVER
    | _STRUCTURE
    | {
        _P.CUSTOMER_PROPOSE,
        _P.CUSTOMER_CREATE,
        _P.CUSTOMER_UPDATE,
        _P.CUSTOMER_DEACTIVATE,
        _P.CUSTOMER_REACTIVATE,
        _P.IMPORT_SUBMIT,
        _P.IMPORT_APPROVE,
        _P.MERGE_PROPOSE,
    },
    Role.CONTROLLER: _READ
    | _APPROVER
    | {
        _P.CUSTOMER_PROPOSE,
        _P.CUSTOMER_UPDATE,
        _P.CUSTOMER_DEACTIVATE,
        _P.CUSTOMER_DELETE,
        _P.HIERARCHY_CHANGE,
        _P.RELATIONSHIP_CHANGE,
        _P.REFERENCE_MANAGE,
        _P.IMPORT_APPROVE,
        _P.AUDIT_VERIFY,
        _P.PROFILE_RULES_PROPOSE,
    },
    Role.CFO: _READ | _APPROVER | {_P.IMPORT_APPROVE, _P.AUDIT_VERIFY},
    Role.ADMIN: frozenset(Permission),
    Role.INTEGRATION: _READ
    | _STRUCTURE
    | {_P.CUSTOMER_CREATE, _P.CUSTOMER_UPDATE, _P.IMPORT_SUBMIT, _P.ACTIVITY_WRITE},
}


class PermissionDenied(Forbidden):
    """The principal lacks a permission, a role or the entity scope an action needs."""

    def __init__(self, detail: str, permission: Permission | None = None) -> None:
        super().__init__(detail)
        self.permission = permission


def permissions_of(roles: Iterable[Role]) -> frozenset[Permission]:
    """The union of the permissions the given roles grant."""
    granted: set[Permission] = set()
    for role in roles:
        granted |= PERMISSION_MATRIX[role]
    return frozenset(granted)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who acts: a person or a machine user, its roles and its legal-entity scope.

    ``entities`` is the set of legal-entity codes the principal may see and change;
    ``None`` means all entities (an unscoped user). ``via`` names the agent channel the
    user acts through (``"mcp"``: an AI assistant on the MCP server); ``None`` when the
    person acts themselves. An agent proposes and reads as its user, never approves.
    """

    user_id: str
    name: str
    roles: frozenset[Role]
    entities: frozenset[str] | None = None
    via: str | None = None

    @property
    def is_agent(self) -> bool:
        return self.via is not None

    def through(self, channel: str) -> Principal:
        """This user acting through an agent on ``channel`` (e.g. ``"mcp"``): the same
        roles and scope, ``via`` set and the name saying so (audit entries show it)."""
        if self.via is not None:
            return self
        return replace(self, name=f"{self.name} (via {channel.upper()} agent)", via=channel)

    @property
    def permissions(self) -> frozenset[Permission]:
        return permissions_of(self.roles)

    def has(self, permission: Permission) -> bool:
        return permission in self.permissions

    def has_role(self, role: Role) -> bool:
        return role in self.roles

    @property
    def is_scoped(self) -> bool:
        return self.entities is not None


def require(principal: Principal, permission: Permission) -> None:
    """Raise :class:`PermissionDenied` unless ``principal`` holds ``permission``."""
    if not principal.has(permission):
        raise PermissionDenied(
            f"{principal.name} ({principal.user_id}) lacks the permission {permission.value}",
            permission,
        )


def require_any(principal: Principal, permissions: Iterable[Permission]) -> None:
    """Raise :class:`PermissionDenied` unless ``principal`` holds one of ``permissions``."""
    wanted = list(permissions)
    if not any(principal.has(p) for p in wanted):
        names = ", ".join(p.value for p in wanted)
        raise PermissionDenied(
            f"{principal.name} ({principal.user_id}) lacks all of the permissions {names}",
            wanted[0] if wanted else None,
        )


def can_see_entity(principal: Principal, entity: str) -> bool:
    """Whether ``principal`` may see and change the data of legal entity ``entity``."""
    return principal.entities is None or entity in principal.entities


def can_see_entities(principal: Principal, entities: Iterable[str]) -> bool:
    """Whether ``principal`` may see every one of ``entities``."""
    return all(can_see_entity(principal, e) for e in entities)


def filter_entities(principal: Principal, entities: Iterable[str]) -> list[str]:
    """The entities of ``entities`` the principal may see, in their original order."""
    return [e for e in entities if can_see_entity(principal, e)]


def require_entity(principal: Principal, entity: str) -> None:
    """Raise :class:`PermissionDenied` unless ``principal`` may act on ``entity``."""
    if not can_see_entity(principal, entity):
        raise PermissionDenied(
            f"{principal.name} ({principal.user_id}) is not scoped to legal entity {entity}"
        )


def render_matrix_markdown() -> str:
    """The permission matrix as a Markdown table (one row per permission)."""
    roles = list(Role)
    header = "| permission | meaning | " + " | ".join(r.value for r in roles) + " |"
    rule = "|---|---|" + "|".join(":-:" for _ in roles) + "|"
    rows = [header, rule]
    for permission in Permission:
        marks = " | ".join("✓" if permission in PERMISSION_MATRIX[r] else "" for r in roles)
        rows.append(f"| `{permission.value}` | {PERMISSION_DESCRIPTIONS[permission]} | {marks} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":  # pragma: no cover - regenerate docs/permissions.md's table
    print(render_matrix_markdown(), end="")
