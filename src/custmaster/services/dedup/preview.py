"""A merge's preview: the golden record the survivorship rules and the steward's choices
would make, computed as ``merge_customers`` computes it (``plan_merge``) but written
nowhere. The console shows it before the steward merges."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from custmaster.domain.context import ParseContext
from custmaster.domain.permissions import Permission, Principal, require
from custmaster.domain.snapshot import snapshot
from custmaster.services.customers.read import get_customer
from custmaster.services.dedup.survivorship import load_survivorship, plan_merge
from custmaster.services.governance.access import visible_data
from custmaster.services.ports import UnitOfWork
from custmaster.services.recording import utcnow


def preview_merge(
    uow: UnitOfWork,
    actor: Principal,
    survivor_id: UUID,
    absorbed_ids: Sequence[UUID],
    choices: Mapping[str, Any],
) -> dict[str, Any]:
    """``{"customer": golden snapshot, "rules": field -> rule, "sources": field -> the
    record it came from}``; ``ValidationFailed`` for a bad choice. Reads every record
    through ``get_customer`` (the scope rule), needs ``merge.propose``."""
    require(actor, Permission.MERGE_PROPOSE)
    survivor = get_customer(uow, actor, survivor_id)
    absorbed = [get_customer(uow, actor, customer_id) for customer_id in absorbed_ids]
    ctx = ParseContext()
    plan = plan_merge(survivor, absorbed, load_survivorship(), choices, now=utcnow(), ctx=ctx)
    ctx.errors.raise_if_any()
    return {
        "customer": visible_data(actor, snapshot(plan.customer)),
        "rules": dict(plan.rules),
        "sources": dict(plan.sources),
    }
