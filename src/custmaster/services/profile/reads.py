"""Reading the living profile: receivables, sales history, KPIs, the 360 view and the
credit check. Every figure is per legal entity; a user scoped to entities sees only
theirs (``governance.access``), and totals are over the entities they see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import Any
from uuid import UUID

from anyio import to_thread

from custmaster.domain.activity_state import ActivityState
from custmaster.domain.credit import check_credit
from custmaster.domain.kpis import evaluate_set, set_for
from custmaster.domain.permissions import Permission, Principal
from custmaster.domain.profile import ALL_ENTITIES, PROFILE_FEATURES, REPORTING_CURRENCY
from custmaster.domain.profile_calc import Money, entity_receivables
from custmaster.domain.sales import sales_history
from custmaster.services.customers.common import load
from custmaster.services.governance.access import (
    may_see_entity,
    require_entity,
    require_permission,
)
from custmaster.services.ports import UnitOfWork
from custmaster.services.profile.config import ProfileConfig
from custmaster.services.profile.features import today
from custmaster.services.profile.ports import AsyncProfileReads, ProfileSnapshot
from custmaster.services.structure.common import DEFAULT_SETTINGS

RENEWAL_DAYS = 90
#: what the view shows of a row's scores (``domain.profile_scoring.Score``'s fields)
SCORE_VIEW = (
    "tier",
    "health_score",
    "health_band",
    "health_trend",
    "churn_risk",
    "churn_band",
    "segments",
    "actions",
    "rules_version",
    "explanation",
)


@dataclass(frozen=True, slots=True)
class _Header:
    """The customer fields the view needs (from its read row, else the master record)."""

    id: UUID
    number: str
    name: str
    owning_entity: str | None
    customer_group: str | None


@dataclass
class _Loaded:
    customer: _Header
    state: ActivityState
    rows: dict[str, dict[str, Any]]  # legal entity (or "*") -> read row (profile_wide)
    entities: list[str]  # the entities whose figures the actor sees
    money: Money
    limits: dict[str, float]
    as_of: date
    descendants: list[UUID]  # the subtree a parent's figures roll up, breadth first
    below: list[ActivityState] | None = None  # their states, read once when needed

    def subtree_states(self, uow: UnitOfWork) -> list[ActivityState]:
        """The customer's state and its descendants' (read on first use)."""
        if self.below is None:
            self.below = (
                list(uow.activity.load_states(self.descendants).values())
                if self.descendants
                else []
            )
        return [self.state, *self.below]


def _known_header(customer_id: UUID, snapshot: ProfileSnapshot) -> _Header | None:
    """The header from what the snapshot read: a profiled customer's read rows carry the
    master fields, and on PostgreSQL the snapshot reads the master's (None: ask ``load``)."""
    fields = next(iter(snapshot.rows.values()), None) or snapshot.master
    if fields is None:
        return None
    return _Header(
        customer_id,
        fields["number"],
        fields["name"],
        fields["owning_entity"],
        fields["customer_group"],
    )


def _header(uow: UnitOfWork, customer_id: UUID, snapshot: ProfileSnapshot) -> _Header:
    known = _known_header(customer_id, snapshot)
    if known is not None:
        return known
    customer = load(uow, customer_id)  # 404, or 410 naming a merge's survivor
    return _Header(
        customer.id,
        customer.number,
        customer.name,
        customer.owning_entity,
        customer.customer_group,
    )


def _check(actor: Principal, entity: str | None) -> None:
    require_permission(actor, Permission.CUSTOMER_READ)
    if entity is not None:
        require_entity(actor, entity)


def _loaded(
    actor: Principal,
    customer: _Header,
    snapshot: ProfileSnapshot,
    config: ProfileConfig,
    entity: str | None,
    as_of: date,
) -> _Loaded:
    state, rows = snapshot.state, snapshot.rows
    present = sorted(
        state.entities() | ({customer.owning_entity} if customer.owning_entity else set())
    )
    entities = [entity] if entity is not None else [e for e in present if may_see_entity(actor, e)]
    money = Money(config.rates, snapshot.currencies)
    return _Loaded(
        customer, state, rows, entities, money, snapshot.limits, as_of, snapshot.descendants
    )


def _load(
    uow: UnitOfWork,
    actor: Principal,
    customer_id: UUID,
    config: ProfileConfig,
    entity: str | None,
) -> _Loaded:
    _check(actor, entity)
    as_of = today()
    snapshot = uow.activity.profile_snapshot(
        customer_id, DEFAULT_SETTINGS.inheritance_hierarchy, as_of
    )
    return _loaded(actor, _header(uow, customer_id, snapshot), snapshot, config, entity, as_of)


def _receivables(loaded: _Loaded) -> dict[str, Any]:
    by_entity = {
        e: entity_receivables(
            loaded.state,
            [e],
            loaded.as_of,
            loaded.money.currency_of(e),
            loaded.money,
            loaded.limits,
        ).as_dict()
        for e in loaded.entities
    }
    total = entity_receivables(
        loaded.state, loaded.entities, loaded.as_of, REPORTING_CURRENCY, loaded.money, loaded.limits
    ).as_dict(items=False)
    return {"by_entity": by_entity, "total": total}


def _sales(uow: UnitOfWork, loaded: _Loaded) -> dict[str, Any]:
    convert = loaded.money.converter(REPORTING_CURRENCY)
    own = sales_history([loaded.state], loaded.entities, loaded.as_of, REPORTING_CURRENCY, convert)
    out: dict[str, Any] = {"own": own.as_dict(loaded.as_of), "rollup": None}
    if loaded.descendants:
        states = loaded.subtree_states(uow)
        rolled = sales_history(states, loaded.entities, loaded.as_of, REPORTING_CURRENCY, convert)
        out["rollup"] = {"customers": 1 + len(loaded.descendants), **rolled.as_dict(loaded.as_of)}
    return out


def _kpis(uow: UnitOfWork, loaded: _Loaded, config: ProfileConfig) -> dict[str, Any]:
    kpi_set = set_for(config.kpi_sets, loaded.customer.customer_group)
    if kpi_set is None:
        return {"set": None, "currency": REPORTING_CURRENCY, "kpis": [], "aggregate_of": []}
    descendants = loaded.descendants
    values = evaluate_set(
        kpi_set,
        loaded.subtree_states(uow),
        set(loaded.entities),
        loaded.as_of,
        loaded.money.converter(REPORTING_CURRENCY),
    )
    return {
        "set": kpi_set.name,
        "currency": REPORTING_CURRENCY,
        "kpis": values,
        "aggregate_of": descendants,
        "read_only": bool(descendants),
    }


def _cases(loaded: _Loaded) -> list[dict[str, Any]]:
    wanted = set(loaded.entities)
    out = []
    for (entity, case_id), case in sorted(loaded.state.cases.items()):
        if entity in wanted and case.is_open:
            since = case.since
            detail = case.detail.value or (None, None)
            out.append(
                {
                    "legal_entity": entity,
                    "case_id": case_id,
                    "kind": case.kind,
                    "severity": detail[0],
                    "subject": detail[1],
                    "opened_on": since,
                    "open_days": (loaded.as_of - since).days if since else None,
                }
            )
    return out


def _renewals(loaded: _Loaded) -> list[dict[str, Any]]:
    wanted = set(loaded.entities)
    horizon = loaded.as_of + timedelta(days=RENEWAL_DAYS)
    out = []
    for (entity, contract_id), register in sorted(loaded.state.contracts.items()):
        start, end, renewal, volume, sla = register.value
        if entity in wanted and renewal is not None and loaded.as_of <= renewal <= horizon:
            out.append(
                {
                    "legal_entity": entity,
                    "contract_id": contract_id,
                    "start_date": start,
                    "end_date": end,
                    "renewal_date": renewal,
                    "committed_volume": volume,
                    "sla": sla,
                }
            )
    return out


def _features(actor: Principal, loaded: _Loaded) -> dict[str, Any]:
    return {
        e: {**{n: row[n] for n in PROFILE_FEATURES}, "updated_at": row["updated_at"]}
        for e, row in sorted(loaded.rows.items())
        if _shown(actor, loaded, e)
    }


def _shown(actor: Principal, loaded: _Loaded, entity: str) -> bool:
    """Whether the profile row of ``entity`` is shown: one of the entities read, or the
    all-entities row for a user who sees every entity."""
    return entity in loaded.entities or (entity == ALL_ENTITIES and actor.entities is None)


def _scores(actor: Principal, loaded: _Loaded) -> dict[str, Any]:
    """The scores of the rows :func:`_features` shows (the same entities), explained."""
    return {
        e: {n: row[n] for n in SCORE_VIEW}
        for e, row in sorted(loaded.rows.items())
        if row["tier"] is not None and _shown(actor, loaded, e)
    }


def customer_profile(
    uow: UnitOfWork,
    actor: Principal,
    customer_id: UUID,
    config: ProfileConfig,
    *,
    entity: str | None = None,
) -> dict[str, Any]:
    """The 360 view: features, receivables, sales, KPIs, open cases and contracts up for
    renewal, and per legal entity the scores with their explanation and the next-best
    actions of the active profile rules."""
    with uow.read_only(autocommit=True):
        loaded = _load(uow, actor, customer_id, config, entity)
        return _view(uow, actor, loaded, config)


async def read_customer_profile(
    reads: AsyncProfileReads,
    uow: UnitOfWork,
    actor: Principal,
    customer_id: UUID,
    config: ProfileConfig,
    *,
    entity: str | None = None,
) -> dict[str, Any]:
    """``customer_profile`` on an event loop: the one statement is awaited and the view
    computed from it; what needs more than it (an unknown id, which may have been merged
    away; a parent, whose subtree's states are read too) is answered by
    ``customer_profile`` in a thread."""
    _check(actor, entity)
    as_of = today()
    snapshot = await reads.profile_snapshot(
        customer_id, DEFAULT_SETTINGS.inheritance_hierarchy, as_of
    )
    header = _known_header(customer_id, snapshot)
    if header is None or snapshot.descendants:
        return await to_thread.run_sync(
            partial(customer_profile, uow, actor, customer_id, config, entity=entity)
        )
    return _view(uow, actor, _loaded(actor, header, snapshot, config, entity, as_of), config)


def _view(
    uow: UnitOfWork, actor: Principal, loaded: _Loaded, config: ProfileConfig
) -> dict[str, Any]:
    return {
        "customer_id": loaded.customer.id,
        "number": loaded.customer.number,
        "name": loaded.customer.name,
        "as_of": loaded.as_of,
        "entities": loaded.entities,
        "features": _features(actor, loaded),
        "receivables": _receivables(loaded),
        "sales": _sales(uow, loaded),
        "kpis": _kpis(uow, loaded, config),
        "open_cases": _cases(loaded),
        "contracts_up_for_renewal": _renewals(loaded),
        "scores": (scores := _scores(actor, loaded)),
        "actions": {e: s["actions"] for e, s in scores.items()},
    }


def customer_kpis(
    uow: UnitOfWork,
    actor: Principal,
    customer_id: UUID,
    config: ProfileConfig,
    *,
    entity: str | None = None,
) -> dict[str, Any]:
    """The customer's KPI set evaluated (a parent: the aggregate of its subtree)."""
    with uow.read_only(autocommit=True):
        loaded = _load(uow, actor, customer_id, config, entity)
        return {
            "customer_id": loaded.customer.id,
            "as_of": loaded.as_of,
            "entities": loaded.entities,
            **_kpis(uow, loaded, config),
        }


def customer_receivables(
    uow: UnitOfWork,
    actor: Principal,
    customer_id: UUID,
    config: ProfileConfig,
    *,
    entity: str | None = None,
) -> dict[str, Any]:
    with uow.read_only(autocommit=True):
        loaded = _load(uow, actor, customer_id, config, entity)
        return {"customer_id": loaded.customer.id, "as_of": loaded.as_of, **_receivables(loaded)}


def customer_sales(
    uow: UnitOfWork,
    actor: Principal,
    customer_id: UUID,
    config: ProfileConfig,
    *,
    entity: str | None = None,
) -> dict[str, Any]:
    with uow.read_only(autocommit=True):
        loaded = _load(uow, actor, customer_id, config, entity)
        return {
            "customer_id": loaded.customer.id,
            "as_of": loaded.as_of,
            **_sales(uow, loaded),
        }


def credit_check(
    uow: UnitOfWork,
    actor: Principal,
    customer_id: UUID,
    config: ProfileConfig,
    *,
    entity: str,
    amount: float,
) -> dict[str, Any]:
    """Release or hold an order of ``amount`` (in the entity's currency) for ``entity``."""
    with uow.read_only(autocommit=True):
        loaded = _load(uow, actor, customer_id, config, entity)
        currency = loaded.money.currency_of(entity)
        ar = entity_receivables(
            loaded.state, [entity], loaded.as_of, currency, loaded.money, loaded.limits
        )
        decision = check_credit(config.credit_rule, ar, amount)
        return {
            "customer_id": loaded.customer.id,
            "legal_entity": entity,
            "currency": currency,
            "order_amount": amount,
            "decision": decision.decision,
            "reasons": decision.reasons,
            "receivables": ar.as_dict(items=False),
            "rule": {
                k: getattr(config.credit_rule, k) for k in config.credit_rule.__dataclass_fields__
            },
        }
