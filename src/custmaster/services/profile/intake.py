"""Activity intake: apply a batch of activity events exactly once.

In one transaction: resolve each event's customer (by id or by source reference, following
merges), lock those customers, drop the events whose id is recorded already, record the
new ones (with their order lines), merge their contribution into the stored aggregates,
recompute the customers' profile rows and call the profile hooks. Redelivered, duplicated
or shuffled events therefore change nothing more than the first delivery did.

An event whose customer is unknown goes to the dead-letter list (once per event id) and
can be replayed after its cross-reference exists (``dead_letters.replay``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from custmaster.domain import activity as a
from custmaster.domain.activity_state import ActivityState, fold_by_customer
from custmaster.domain.errors import FieldError, ValidationFailed
from custmaster.domain.model import SourceRef
from custmaster.domain.permissions import Permission, Principal
from custmaster.services.dedup.redirects import MAX_HOPS
from custmaster.services.governance.access import require_entity, require_permission
from custmaster.services.ports import UnitOfWork
from custmaster.services.profile.config import ProfileConfig
from custmaster.services.profile.features import compute_rows, today, write_rows
from custmaster.services.profile.ports import DeadLetter

MAX_BATCH = 1000

APPLIED = "applied"
DUPLICATE = "duplicate"
DEAD_LETTER = "dead_letter"


@dataclass(frozen=True, slots=True)
class Outcome:
    event_id: str
    status: str
    customer_id: UUID | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.event_id, "status": self.status}
        if self.customer_id is not None:
            out["customer_id"] = self.customer_id
        if self.reason is not None:
            out["reason"] = self.reason
        return out


def parse_batch(envelopes: Sequence[Any]) -> list[a.ActivityEvent]:
    """Validate every envelope; one ``ValidationFailed`` lists all problems."""
    if len(envelopes) > MAX_BATCH:
        raise ValidationFailed(
            [FieldError("events", "too_many", f"at most {MAX_BATCH} events per batch")]
        )
    events: list[a.ActivityEvent] = []
    errors: list[FieldError] = []
    for i, envelope in enumerate(envelopes):
        try:
            events.append(a.parse_envelope(envelope, f"events[{i}]."))
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    return events


def check_scope(actor: Principal, events: Iterable[a.ActivityEvent]) -> None:
    """The sender needs ``activity.write`` and the scope of every event's entity."""
    require_permission(actor, Permission.ACTIVITY_WRITE)
    for entity in sorted({e.legal_entity for e in events}):
        require_entity(actor, entity)


class _Resolver:
    """Customer references to current customer ids (None: unknown), cached per batch."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._cache: dict[a.CustomerRef, UUID | None] = {}

    def resolve_all(self, refs: Iterable[a.CustomerRef]) -> dict[a.CustomerRef, UUID | None]:
        refs = list(refs)
        pending = [r for r in set(refs) if r not in self._cache]
        candidates: dict[a.CustomerRef, UUID] = {}
        for ref in pending:
            if ref.customer_id is not None:
                candidates[ref] = ref.customer_id
            else:
                assert ref.source_system is not None and ref.source_id is not None
                owner = self._uow.customers.by_source_ref(
                    SourceRef(ref.source_system, ref.source_id)
                )
                if owner is None:
                    self._cache[ref] = None
                else:
                    candidates[ref] = owner
        for _ in range(MAX_HOPS):  # follow merges, one batched query per hop
            redirects = self._uow.activity.redirects_of(candidates.values())
            if not redirects:
                break
            candidates = {r: redirects.get(c, c) for r, c in candidates.items()}
        existing = self._uow.activity.existing_customers(candidates.values())
        for ref, customer_id in candidates.items():
            self._cache[ref] = customer_id if customer_id in existing else None
        return {r: self._cache[r] for r in refs}


def event_row(event: a.ActivityEvent, customer_id: UUID, now: datetime) -> dict[str, Any]:
    return {
        "event_id": event.id,
        "kind": event.kind,
        "source": event.source,
        "customer_id": customer_id,
        "legal_entity": event.legal_entity,
        "occurred_on": event.occurred_on,
        "event_time": event.time,
        "received_at": now,
        "envelope": dict(event.envelope),
    }


def line_rows(event: a.ActivityEvent, customer_id: UUID) -> list[dict[str, Any]]:
    if event.kind not in a.ORDER_KINDS:
        return []
    data = event.data
    return [
        {
            "event_id": event.id,
            "line_no": i,
            "customer_id": customer_id,
            "legal_entity": event.legal_entity,
            "order_id": data["order_id"],
            "product": line["product"],
            "product_group": line["product_group"],
            "quantity": line["quantity"] / a.QUANTITY_SCALE,
            "amount": line["amount"] / a.AMOUNT_SCALE,
            "currency": data["currency"],
            "order_date": event.occurred_on,
        }
        for i, line in enumerate(data["lines"])
    ]


def dead_letter(
    uow: UnitOfWork,
    envelope: Any,
    reason: str,
    *,
    channel: str,
    attempts: int = 1,
    event_id: str | None = None,
    legal_entity: str | None = None,
    now: datetime | None = None,
) -> UUID:
    """Put an event on the dead-letter list (once per event id while it is open)."""
    at = now or datetime.now(UTC)
    if event_id is not None:
        uow.activity.lock_event_ids([event_id])  # another batch may hold the same event
        existing = uow.activity.open_dead_letter(event_id)
        if existing is not None:
            uow.activity.update_dead_letter(
                existing.id, attempts=existing.attempts + attempts, reason=reason
            )
            return existing.id
    letter = DeadLetter(
        uuid4(), event_id, legal_entity, channel, reason, attempts, "open", envelope, at
    )
    uow.activity.add_dead_letter(letter)
    return letter.id


def apply_events(
    uow: UnitOfWork,
    events: Sequence[a.ActivityEvent],
    config: ProfileConfig,
    *,
    channel: str,
    now: datetime | None = None,
    dead_letter_unknown: bool = True,
) -> list[Outcome]:
    """Apply validated events in ``uow`` (one transaction); the outcome of each, in order.
    The caller checked the sender's permission and scope."""
    at = now or datetime.now(UTC)
    outcomes: dict[int, Outcome] = {}
    with uow:
        resolved = _Resolver(uow).resolve_all(e.customer for e in events)
        known_ids = {e.id for e in events if resolved[e.customer] is not None}
        uow.activity.lock_customers(c for c in resolved.values() if c is not None)
        if dead_letter_unknown:  # their dead letters' ids, all at once in id order
            uow.activity.lock_event_ids(e.id for e in events if resolved[e.customer] is None)
        recorded = uow.activity.known_events(known_ids)
        fresh: list[tuple[UUID, a.ActivityEvent]] = []
        seen: set[str] = set()
        for i, event in enumerate(events):
            customer_id = resolved[event.customer]
            if customer_id is None:
                reason = f"unknown customer {event.customer.describe()}"
                if dead_letter_unknown:
                    dead_letter(
                        uow,
                        dict(event.envelope),
                        reason,
                        channel=channel,
                        event_id=event.id,
                        legal_entity=event.legal_entity,
                        now=at,
                    )
                outcomes[i] = Outcome(event.id, DEAD_LETTER, None, reason)
            elif event.id in recorded or event.id in seen:
                outcomes[i] = Outcome(event.id, DUPLICATE, customer_id)
            else:
                seen.add(event.id)
                fresh.append((customer_id, event))
                outcomes[i] = Outcome(event.id, APPLIED, customer_id)
        if fresh:
            uow.activity.add_events(
                [event_row(e, c, at) for c, e in fresh],
                [line for c, e in fresh for line in line_rows(e, c)],
            )
            merge_into_profiles(uow, fold_by_customer(fresh), config, at)
    return [outcomes[i] for i in range(len(events))]


def merge_into_profiles(
    uow: UnitOfWork, deltas: dict[UUID, ActivityState], config: ProfileConfig, now: datetime
) -> None:
    """Merge per-customer contributions into the stored aggregates (only the keys they
    touch are written) and rewrite those customers' profile rows."""
    stored = uow.activity.load_states(deltas)
    touched: dict[UUID, ActivityState] = {}
    for customer_id, delta in deltas.items():
        current = stored[customer_id]
        changed = ActivityState()
        for part in ActivityState.PARTS:
            theirs = getattr(delta, part)
            if not theirs:
                continue
            mine, out = getattr(current, part), getattr(changed, part)
            for key, value in theirs.items():  # current.merge(delta), noting what it changed
                old = mine.get(key)
                out[key] = mine[key] = value if old is None else old.merge(value)
        touched[customer_id] = changed
    uow.activity.upsert_states(touched)
    write_rows(uow, compute_rows(uow, stored, config, today()), now)


def ingest(
    uow: UnitOfWork,
    actor: Principal,
    envelopes: Sequence[Any],
    config: ProfileConfig,
    *,
    channel: str = "api",
) -> list[Outcome]:
    """``POST /activities``: validate the whole batch (nothing applies when one event is
    invalid), check the sender's scope, apply."""
    require_permission(actor, Permission.ACTIVITY_WRITE)
    events = parse_batch(envelopes)
    check_scope(actor, events)
    return apply_events(uow, events, config, channel=channel)
