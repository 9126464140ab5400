"""Who may submit which operation, and whether their green changes apply directly."""

from __future__ import annotations

from custmaster.domain.approvals.rules import Operation
from custmaster.domain.permissions import Permission, Principal, require_any

_PROPOSE = Permission.CUSTOMER_PROPOSE

#: Any one of these permissions lets a principal submit the operation. A principal
#: holding only ``customer.propose`` submits with ``direct=False`` (see ``Policy.evaluate``).
SUBMIT_PERMISSIONS: dict[Operation, frozenset[Permission]] = {
    Operation.CREATE: frozenset({Permission.CUSTOMER_CREATE, Permission.CUSTOMER_PROPOSE}),
    Operation.UPDATE: frozenset({Permission.CUSTOMER_UPDATE, Permission.CUSTOMER_PROPOSE}),
    Operation.DEACTIVATE: frozenset({Permission.CUSTOMER_DEACTIVATE}),
    Operation.REACTIVATE: frozenset({Permission.CUSTOMER_REACTIVATE}),
    Operation.HARD_DELETE: frozenset({Permission.CUSTOMER_DELETE}),
    Operation.BULK_IMPORT: frozenset({Permission.IMPORT_SUBMIT}),
    Operation.MERGE: frozenset({Permission.MERGE_PROPOSE}),
    Operation.UNMERGE: frozenset({Permission.MERGE_PROPOSE}),
    Operation.ERASE_PERSONAL_DATA: frozenset({Permission.PERSONAL_DATA_ERASE}),
    Operation.HIERARCHY_LINK: frozenset({Permission.HIERARCHY_CHANGE, _PROPOSE}),
    Operation.HIERARCHY_MOVE: frozenset({Permission.HIERARCHY_CHANGE, _PROPOSE}),
    Operation.HIERARCHY_END: frozenset({Permission.HIERARCHY_CHANGE, _PROPOSE}),
    Operation.RELATIONSHIP_CREATE: frozenset({Permission.RELATIONSHIP_CHANGE, _PROPOSE}),
    Operation.RELATIONSHIP_END: frozenset({Permission.RELATIONSHIP_CHANGE, _PROPOSE}),
    Operation.ORG_UNIT_ASSIGNMENT: frozenset({Permission.ASSIGNMENT_CHANGE, _PROPOSE}),
    Operation.TEAM_ASSIGNMENT: frozenset({Permission.ASSIGNMENT_CHANGE, _PROPOSE}),
    Operation.PROFILE_RULES_CHANGE: frozenset({Permission.PROFILE_RULES_PROPOSE}),
}

#: The permission that lets a principal apply a green change directly.
DIRECT_PERMISSIONS: dict[Operation, Permission] = {
    Operation.CREATE: Permission.CUSTOMER_CREATE,
    Operation.UPDATE: Permission.CUSTOMER_UPDATE,
    Operation.HIERARCHY_LINK: Permission.HIERARCHY_CHANGE,
    Operation.HIERARCHY_MOVE: Permission.HIERARCHY_CHANGE,
    Operation.HIERARCHY_END: Permission.HIERARCHY_CHANGE,
    Operation.RELATIONSHIP_CREATE: Permission.RELATIONSHIP_CHANGE,
    Operation.RELATIONSHIP_END: Permission.RELATIONSHIP_CHANGE,
    Operation.ORG_UNIT_ASSIGNMENT: Permission.ASSIGNMENT_CHANGE,
    Operation.TEAM_ASSIGNMENT: Permission.ASSIGNMENT_CHANGE,
}


def require_submit(principal: Principal, operation: Operation) -> bool:
    """Check ``principal`` may submit ``operation``; return whether it submits directly.

    ``False`` (propose only) is what ``Policy.evaluate(..., direct=...)`` expects: a green
    change of a propose-only principal goes to the policy's proposal steps instead.
    """
    require_any(principal, sorted(SUBMIT_PERMISSIONS[operation]))
    direct = DIRECT_PERMISSIONS.get(operation)
    return direct is None or principal.has(direct)


def render_operations_markdown() -> str:
    """Who may submit each operation, as a Markdown table (``docs/permissions.md``)."""
    rows = ["| operation | submitted with | applies at once (when green) with |", "|---|---|---|"]
    for operation in Operation:
        submit = ", ".join(f"`{p.value}`" for p in sorted(SUBMIT_PERMISSIONS[operation]))
        direct = DIRECT_PERMISSIONS.get(operation)
        rows.append(
            f"| `{operation.value}` | {submit} | "
            f"{f'`{direct.value}`' if direct else 'any of them'} |"
        )
    return "\n".join(rows) + "\n"


if __name__ == "__main__":  # pragma: no cover - regenerate docs/permissions.md's table
    print(render_operations_markdown(), end="")
