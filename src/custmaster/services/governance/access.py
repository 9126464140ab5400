"""Object- and property-level access: legal-entity scopes and finance fields."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from custmaster.domain.approvals import rule_path
from custmaster.domain.model import Customer
from custmaster.domain.permissions import PermissionDenied, Principal, Role

#: Fields that move money: only finance roles (and integrations syncing an ERP) set them.
FINANCE_FIELDS = frozenset(
    {"credit_limit", "payment_terms", "payment_method", "currency", "tax_code",
     "revenue_account"}
)  # fmt: skip
FINANCE_ROLES = frozenset({Role.AR_MANAGER, Role.CONTROLLER, Role.CFO, Role.ADMIN,
                           Role.INTEGRATION})  # fmt: skip


def require_entity(actor: Principal, entity: str) -> None:
    if actor.entities is not None and entity not in actor.entities:
        raise PermissionDenied(f"{actor.user_id} is not scoped to legal entity {entity}")


def visible_overrides(actor: Principal, data: dict[str, Any]) -> dict[str, Any]:
    """A customer snapshot with only the overrides the actor may see."""
    if actor.entities is None:
        return data
    scope = actor.entities
    return {**data, "overrides": {e: o for e, o in data["overrides"].items() if e in scope}}


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
