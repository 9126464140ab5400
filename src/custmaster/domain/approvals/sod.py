"""Segregation of duties: who may decide a step, and can a request be approved at all.

The rules hold for every role, admin included:

- the submitter never approves (nor rejects) a step of their own request;
- one person decides at most one step of a request;
- the approver holds the step's role (and ``changerequest.approve``); admin is *not* a
  wildcard for approving roles: an admin approves a step only if it also holds that role;
- a scoped approver sees every legal entity the request concerns;
- an agent acting for a user (``Principal.via``, e.g. through the MCP server) never
  decides a step: it proposes, people approve.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from custmaster.domain.approvals.errors import Unapprovable
from custmaster.domain.permissions import Permission, Principal, Role, can_see_entities


def may_hold_step(principal: Principal, role: Role, entities: Iterable[str] = ()) -> bool:
    """Whether ``principal`` could decide a step of ``role`` on a request for ``entities``
    (ignoring who submitted and who decided other steps)."""
    return (
        not principal.is_agent
        and principal.has_role(role)
        and principal.has(Permission.CHANGEREQUEST_APPROVE)
        and can_see_entities(principal, entities)
    )


def find_assignment(
    steps: Sequence[Role],
    eligible_users: Iterable[Principal],
    *,
    submitter_id: str,
    entities: Iterable[str] = (),
    excluded: Iterable[str] = (),
) -> dict[int, str] | None:
    """One distinct approver per step, or ``None`` when no such assignment exists.

    A bipartite matching of steps to users (Kuhn's augmenting paths): a user may take a
    step when :func:`may_hold_step` and it is neither the submitter nor in ``excluded``
    (e.g. those who already decided a step). Returns step index -> user id.
    """
    wanted = tuple(entities)
    barred = {submitter_id, *excluded}
    users = {u.user_id: u for u in eligible_users if u.user_id not in barred}
    candidates = [
        [uid for uid, u in users.items() if may_hold_step(u, role, wanted)] for role in steps
    ]
    owner: dict[str, int] = {}

    def augment(step: int, seen: set[str]) -> bool:
        for uid in candidates[step]:
            if uid in seen:
                continue
            seen.add(uid)
            if uid not in owner or augment(owner[uid], seen):
                owner[uid] = step
                return True
        return False

    for step in range(len(steps)):
        if not augment(step, set()):
            return None
    return {step: uid for uid, step in owner.items()}


def check_approvable(
    steps: Sequence[Role],
    eligible_users: Iterable[Principal],
    *,
    submitter_id: str,
    entities: Iterable[str] = (),
    excluded: Iterable[str] = (),
) -> dict[int, str]:
    """Refuse (:class:`Unapprovable`) a request no set of distinct approvers could approve.

    ``eligible_users`` are the active users; returns one possible assignment.
    """
    assignment = find_assignment(
        steps, eligible_users, submitter_id=submitter_id, entities=entities, excluded=excluded
    )
    if assignment is None:
        roles = ", ".join(r.value for r in steps)
        raise Unapprovable(
            f"no {len(steps)} distinct users other than the submitter hold the roles "
            f"{roles} for the entities concerned; nobody could ever approve this request"
        )
    return assignment
