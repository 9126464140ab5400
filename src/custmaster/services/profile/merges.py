"""Activity follows merges: a merge moves the absorbed customers' stored events to the
survivor, an unmerge moves back the events that name a restored customer; both rebuild
the profiles concerned from their events, in the merge's transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from custmaster.domain.activity import parse_envelope
from custmaster.domain.activity_state import ActivityState, state_of
from custmaster.domain.model import SourceRef
from custmaster.services.ports import UnitOfWork
from custmaster.services.profile.config import ProfileConfig, current_config
from custmaster.services.profile.features import compute_rows, today, write_rows


def _rebuild(uow: UnitOfWork, customer_ids: list[UUID], config: ProfileConfig) -> None:
    states = {c: ActivityState() for c in customer_ids}
    for stored in uow.activity.events_of(customer_ids):
        states[stored.customer_id].merge(state_of(parse_envelope(stored.envelope)))
    uow.activity.replace_states(states)
    write_rows(uow, compute_rows(uow, states, config, today()), datetime.now(UTC))


def absorb(
    uow: UnitOfWork,
    survivor_id: UUID,
    absorbed_ids: list[UUID],
    config: ProfileConfig | None = None,
) -> int:
    """Move the absorbed customers' events to the survivor; how many moved."""
    moved = sum(uow.activity.move_events(a, survivor_id) for a in absorbed_ids)
    if moved:
        _rebuild(uow, [survivor_id, *absorbed_ids], config or current_config())
    return moved


def release(
    uow: UnitOfWork,
    survivor_id: UUID,
    restored_ids: list[UUID],
    config: ProfileConfig | None = None,
) -> int:
    """Give the restored customers back the survivor's events that name them (by id, or
    by a source reference they own again); how many moved."""
    restored = set(restored_ids)
    moved = 0
    for stored in uow.activity.events_of([survivor_id]):
        data = stored.envelope.get("data") or {}
        owner: UUID | None = None
        if data.get("customer_id"):
            owner = UUID(str(data["customer_id"]))
        elif data.get("source_system") and data.get("source_id"):
            owner = uow.customers.by_source_ref(
                SourceRef(str(data["source_system"]), str(data["source_id"]))
            )
        if owner in restored:
            assert owner is not None
            moved += uow.activity.move_event(stored.event_id, owner)
    if moved:
        _rebuild(uow, [survivor_id, *restored_ids], config or current_config())
    return moved
