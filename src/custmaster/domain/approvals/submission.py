"""Who may submit which operation, and whether their green changes apply directly."""

from __future__ import annotations

from custmaster.domain.approvals.rules import Operation
from custmaster.domain.permissions import Permission, Principal, require_any

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
}

#: The permission that lets a principal apply a green change directly.
DIRECT_PERMISSIONS: dict[Operation, Permission] = {
    Operation.CREATE: Permission.CUSTOMER_CREATE,
    Operation.UPDATE: Permission.CUSTOMER_UPDATE,
}


def require_submit(principal: Principal, operation: Operation) -> bool:
    """Check ``principal`` may submit ``operation``; return whether it submits directly.

    ``False`` (propose only) is what ``Policy.evaluate(..., direct=...)`` expects: a green
    change of a propose-only principal goes to the policy's proposal steps instead.
    """
    require_any(principal, sorted(SUBMIT_PERMISSIONS[operation]))
    direct = DIRECT_PERMISSIONS.get(operation)
    return direct is None or principal.has(direct)
