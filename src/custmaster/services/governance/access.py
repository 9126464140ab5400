"""Who may see and change what: the one access policy every route and tool goes through.

**Reads.** Every read use case calls :func:`require_permission` for its permission (the
matrix is :data:`custmaster.domain.permissions.PERMISSION_MATRIX`) and renders what it
returns through this module:

- The master record (identity fields) is global: a user with ``customer.read`` sees it.
- A legal entity's data is not: a principal scoped to entities (``Principal.entities``)
  sees only its entities' overrides. Asking for another entity explicitly (an effective
  view, a list, an export ``?entity=``/``?owned_by=``) is 403 (:func:`require_entity`);
  everything that carries a customer snapshot or a change to one (customer reads, lists,
  exports, history, the event feed, merge records, change requests, personal-data
  exports, write answers) is passed through :func:`visible_snapshot` /
  :func:`visible_data`, which drop every other entity's override, override action and
  ``overrides.<entity>...`` change.
- The audit trail (``/customers/{id}/history``) needs ``audit.read`` besides
  ``customer.read`` (:func:`require_history`).
- Change requests need ``changerequest.read`` and are visible only when every entity
  they concern is in scope (:func:`may_see_request`); their diffs are redacted too.
- Import jobs (status, report rows, drafts, and approving, rejecting, resuming them)
  are visible only when every legal entity the job touches is in scope
  (:func:`may_see_job`); others get 404 and do not find them in lists.

**Writes.** :func:`check_change_access`: a scoped user changes only their entities'
overrides (creates only for one of them); finance fields need a finance role.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from custmaster.domain.approvals import ChangeRequest, rule_path
from custmaster.domain.model import Customer
from custmaster.domain.permissions import Permission, PermissionDenied, Principal, Role, require

#: Fields that move money: only finance roles (and integrations syncing an ERP) set them.
FINANCE_FIELDS = frozenset(
    {"credit_limit", "payment_terms", "payment_method", "currency", "tax_code", "revenue_account"}
)
FINANCE_ROLES = frozenset(
    {Role.AR_MANAGER, Role.CONTROLLER, Role.CFO, Role.ADMIN, Role.INTEGRATION}
)


def require_entity(actor: Principal, entity: str) -> None:
    """403 unless ``actor`` may see legal entity ``entity``'s data."""
    if actor.entities is not None and entity not in actor.entities:
        raise PermissionDenied(f"{actor.user_id} is not scoped to legal entity {entity}")


def require_permission(actor: Principal, permission: Permission) -> None:
    """403 unless ``actor`` holds ``permission``."""
    require(actor, permission)


def require_history(actor: Principal) -> None:
    """Reading a customer's audit trail needs ``customer.read`` and ``audit.read``."""
    require(actor, Permission.CUSTOMER_READ)
    require(actor, Permission.AUDIT_READ)


def may_see_entity(actor: Principal, entity: str) -> bool:
    return actor.entities is None or entity in actor.entities


def may_see_job(actor: Principal, entities: Iterable[str], submitted_by: str) -> bool:
    """Whether ``actor`` may see an import job (its status, report rows and drafts) and
    act on it (approve, reject, resume). ``entities``: every legal entity the job touches
    (``ImportJob.entities``: the job's entity, the entities its records name and those of
    the existing customers they update or join, as far as validation has got).

    Unscoped users see every job. A scoped user sees a job only when every entity it
    touches is in scope (a GB01 user never sees, approves, rejects or resumes a job that
    writes DE01 data, whoever submitted it); a job that touches no entity yet (still
    validating, no job entity) only its submitter sees. A job still validating may go out
    of sight when a later batch names another entity; approving needs validation done,
    so its entities are complete by then."""
    if actor.entities is None:
        return True
    touched = frozenset(entities)
    if not touched:
        return actor.user_id == submitted_by
    return touched <= actor.entities


def may_see_request(actor: Principal, entities: Iterable[str]) -> bool:
    """A change request is visible when every entity it concerns is in scope."""
    return actor.entities is None or frozenset(entities) <= actor.entities


def visible_request(actor: Principal, request: ChangeRequest) -> dict[str, Any]:
    """A change request as the API shows it to ``actor`` (its diffs redacted)."""
    return visible_data(actor, request.as_dict())  # type: ignore[no-any-return]


def visible_customer(actor: Principal, customer: Customer) -> Customer:
    """The aggregate with only the overrides ``actor`` may see (a copy when some go)."""
    scope = actor.entities
    if scope is None or all(e in scope for e in customer.overrides):
        return customer
    kept = {e: o for e, o in customer.overrides.items() if e in scope}
    return replace(customer, overrides=kept)


def visible_snapshot(actor: Principal, data: dict[str, Any]) -> dict[str, Any]:
    """A customer snapshot (or effective view) with only the overrides ``actor`` may see."""
    visible: dict[str, Any] = visible_data(actor, data)
    return visible


_OVERRIDE_PATH = re.compile(r"overrides\.([^.\[]+)")
#: free JSON owned by the customer: never interpreted as overrides
_OPAQUE = frozenset({"metadata"})


def visible_data(actor: Principal, value: Any) -> Any:
    """Stored data (snapshots, audit changes, event data, merge records, change
    requests) without what belongs to entities outside ``actor``'s scope:

    - ``"overrides"`` mappings keep only in-scope entities, override action lists only
      actions whose ``entity`` is in scope;
    - changes ``{"field": "overrides.<E>...", ...}``, keys and paths
      ``overrides.<E>...`` (``fields``, ``base_values``, ``proposed``) of other entities
      are dropped;
    - everything else is kept, walked recursively (snapshots nested in ``before`` and
      ``after``, absorbed records, request payloads).
    """
    if actor.entities is None:
        return value
    return _walk(actor.entities, value)


def _hidden_path(scope: frozenset[str], text: Any) -> bool:
    if not isinstance(text, str):
        return False
    found = _OVERRIDE_PATH.match(text)
    return found is not None and found.group(1) not in scope


def _hidden_item(scope: frozenset[str], item: Any) -> bool:
    if isinstance(item, dict):
        return _hidden_path(scope, item.get("field"))
    return _hidden_path(scope, item)


def _walk(scope: frozenset[str], value: Any) -> Any:
    if isinstance(value, dict):
        kept: dict[str, Any] = {}
        for key, item in value.items():
            if _hidden_path(scope, key):
                continue
            if key == "overrides":
                kept[key] = _overrides(scope, item)
            elif key in _OPAQUE:
                kept[key] = item
            else:
                kept[key] = _walk(scope, item)
        return kept
    if isinstance(value, list):
        return [_walk(scope, item) for item in value if not _hidden_item(scope, item)]
    return value


def _overrides(scope: frozenset[str], value: Any) -> Any:
    if isinstance(value, dict):  # entity -> override
        return {e: _walk(scope, o) for e, o in value.items() if e in scope}
    if isinstance(value, list):  # override actions of a patch
        return [
            _walk(scope, a)
            for a in value
            if not (isinstance(a, dict) and str(a.get("entity")) not in scope)
        ]
    return value


def touched_entities(
    request: Mapping[str, Any], customer: Customer | None = None
) -> frozenset[str]:
    """The legal entities a create request or patch concerns."""
    entities: set[str] = set()
    overrides = request.get("overrides")
    if isinstance(overrides, dict):
        entities.update(str(e) for e in overrides)
    elif isinstance(overrides, list):
        entities.update(str(a.get("entity")) for a in overrides if isinstance(a, dict))
    if isinstance(request.get("owning_entity"), str):
        entities.add(request["owning_entity"])
    if customer is not None and customer.owning_entity:
        entities.add(customer.owning_entity)
    return frozenset(entities)


def check_change_access(
    actor: Principal,
    request: Mapping[str, Any],
    changed_paths: Iterable[str],
    customer: Customer | None = None,
) -> None:
    """A scoped user changes only their entities' overrides (creating: owning one of
    their entities); finance fields need a finance role."""
    paths = list(changed_paths)
    if actor.entities is not None:
        if customer is None:
            owning = request.get("owning_entity")
            if not isinstance(owning, str) or owning not in actor.entities:
                raise PermissionDenied(
                    f"{actor.user_id} creates customers only for "
                    f"{', '.join(sorted(actor.entities))} (owning_entity)"
                )
        else:
            master = [p for p in paths if not p.startswith("overrides.")]
            if master:
                raise PermissionDenied(
                    f"{actor.user_id} is scoped to legal entities and may change only their "
                    f"overrides, not {', '.join(sorted(master)[:5])}"
                )
        for entity in touched_entities(request) - {request.get("owning_entity")}:
            require_entity(actor, entity)
    if not (actor.roles & FINANCE_ROLES):
        finance = sorted({rule_path(p) for p in paths} & FINANCE_FIELDS)
        if finance:
            raise PermissionDenied(
                f"only finance roles set {', '.join(finance)}; propose it through a finance user"
            )
