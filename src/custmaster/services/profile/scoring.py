"""Re-scoring a customer: the active rules on each of its profile rows (every legal entity
and ``*``), the scores written to ``profile_scores`` and, for each row whose tier, health
band, churn band, segments or actions changed, an event in the outbox.

Activity intake calls :func:`rescore` in the transaction that changed the customer's
features (``services/profile/hooks.py``), so the profile and its scores commit together.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID, uuid4

from custmaster.domain.events import CloudEvent
from custmaster.domain.profile_scoring import Score, score
from custmaster.services.ports import UnitOfWork
from custmaster.services.profile.active_rules import active, compiled
from custmaster.services.recording import utcnow

EVENT_TYPE = "custmaster.profile.scores_changed"


def _event(customer_id: UUID, entity: str, before: Score | None, after: Score) -> CloudEvent:
    old: dict[str, Any] = before.outcome() if before else {}
    new = after.outcome()
    changed = sorted(k for k in new if old.get(k) != new[k])
    return CloudEvent(
        id=uuid4(),
        type=EVENT_TYPE,
        subject=str(customer_id),
        time=utcnow(),
        data={
            "customer_id": str(customer_id),
            "legal_entity": entity,
            "changed": changed,
            "before": old or None,
            "after": new,
            "health_score": after.health_score,
            "health_trend": after.health_trend,
            "rules_version": after.rules_version,
        },
    )


def score_customer(
    uow: UnitOfWork, customer_id: UUID, today: date | None = None
) -> list[CloudEvent]:
    """Score the customer's profile rows with the active rules and save the scores in
    ``uow``'s transaction; the events of the rows whose outcome changed, for the caller to
    add to the outbox (``services.profile.hooks`` does, with the activity that moved them)."""
    return score_customers(uow, [customer_id], today)


def score_customers(
    uow: UnitOfWork, customer_ids: Iterable[UUID], today: date | None = None
) -> list[CloudEvent]:
    """:func:`score_customer` of several customers at once, as an intake batch needs it:
    the active rules read once, the customers' rows and previous scores in one query each,
    then each customer scored, and all their scores saved at once."""
    ids = sorted(set(customer_ids))
    if not ids:
        return []
    day = today or utcnow().date()
    with uow:
        stored = active(uow)
        rules = compiled(stored)
        previous = uow.profile_rules.scores_of(ids)
        rows = uow.profile_rules.rows_of(ids)
        at = utcnow()
        events: list[CloudEvent] = []
        scores_of: dict[UUID, dict[str, Score]] = {}
        for customer_id in ids:
            before_of = previous[customer_id]
            scores = scores_of[customer_id] = {}
            for row in rows[customer_id]:
                before = before_of.get(row.legal_entity)
                after = score(rules, stored.version, row.values, day, before)
                scores[row.legal_entity] = after
                if before is None or before.outcome() != after.outcome():
                    events.append(_event(customer_id, row.legal_entity, before, after))
        uow.profile_rules.save_scores_of(scores_of, at)
    return events


def rescore(uow: UnitOfWork, customer_id: UUID, today: date | None = None) -> list[CloudEvent]:
    """Score the customer's profile rows with the active rules; the events of the rows
    whose outcome changed (also added to the outbox)."""
    with uow:
        events = score_customer(uow, customer_id, today)
        uow.outbox.add_many(events)
    return events


@dataclass(frozen=True, slots=True)
class RescoreRun:
    customers: int
    events: int


def rescore_all(uow: UnitOfWork, batch: int = 500, today: date | None = None) -> RescoreRun:
    """Re-score every profiled customer (after a new rule version), a transaction per batch."""
    after: UUID | None = None
    customers = events = 0
    while True:
        with uow:
            ids = uow.profile_rules.profiled_customers(after, batch)
            for customer_id in ids:
                events += len(rescore(uow, customer_id, today))
        customers += len(ids)
        if len(ids) < batch:
            return RescoreRun(customers, events)
        after = ids[-1]
