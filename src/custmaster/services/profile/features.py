"""Writing profile rows: the features of customers computed from their activity state."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from custmaster.domain.activity_state import ActivityState
from custmaster.domain.profile_calc import Money, profile_rows
from custmaster.services.ports import UnitOfWork
from custmaster.services.profile import hooks
from custmaster.services.profile.config import ProfileConfig


def today() -> date:
    return datetime.now(UTC).date()


def money_of(uow: UnitOfWork, config: ProfileConfig) -> Money:
    return Money(config.rates, uow.activity.entity_currencies())


def compute_rows(
    uow: UnitOfWork, states: Mapping[UUID, ActivityState], config: ProfileConfig, as_of: date
) -> dict[UUID, dict[str, dict[str, Any]]]:
    """customer -> legal entity -> features (inside ``uow``); no rows for a customer
    without activity or deleted since."""
    money = money_of(uow, config)
    limits = uow.activity.credit_limits(states)
    existing = uow.activity.existing_customers(states)
    return {
        c: profile_rows(s, as_of, money, limits.get(c, {}))
        if c in existing and not s.is_empty()
        else {}
        for c, s in states.items()
    }


def write_rows(uow: UnitOfWork, rows: dict[UUID, dict[str, dict[str, Any]]], now: datetime) -> None:
    """Store the rows and let the readers react (``hooks.features_changed``): their
    events go to the outbox in the same transaction."""
    uow.activity.write_profiles(rows, now)
    events = hooks.features_changed(uow, rows)
    if len(events) > 1:
        uow.outbox.add_bulk(events)  # an intake batch's: COPY on PostgreSQL
    elif events:
        uow.outbox.add_many(events)
