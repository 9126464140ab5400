"""Running a sync target: event-driven catch-up from its cursor, the initial sync,
pause and resume, status, and the dead-letter list.

Each run reads the events after the target's cursor (commit order), keeps the latest
snapshot of each customer they touch, and upserts those customers in the order of their
last change; a record the target holds already (its link's known values) is skipped.
Every record is tried ``retries.attempts`` times with the configured backoff; a record
that still fails, or that the target refuses outright (a 4xx), goes to the dead-letter
list and the run goes on. The cursor moves in the transaction that stores what was sent.
A paused target keeps its cursor: after ``resume`` the next run catches up.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from custmaster.domain.permissions import Permission, Principal
from custmaster.domain.snapshot import snapshot as snapshot_of
from custmaster.services.governance.access import require_permission
from custmaster.services.ports import CustomerQuery, FeedPosition, UnitOfWork
from custmaster.services.recording import utcnow
from custmaster.services.sync.adapter import TargetAdapter, UpsertResult
from custmaster.services.sync.mapping import SyncMapping
from custmaster.services.sync.ports import DeadLetter, Link, TargetState
from custmaster.services.sync.transform import external_id, outgoing, selected, unchanged

#: customer events without a current snapshot to send
_SKIPPED_TYPES = frozenset({"custmaster.customer.deleted", "custmaster.customer.absorbed"})


@dataclass
class SyncReport:
    target: str
    paused: bool = False
    events: int = 0
    sent: int = 0
    skipped: int = 0
    dead_lettered: int = 0
    #: dry run: what would be sent, (external id, record)
    would_send: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Change:
    customer_id: UUID
    event_id: str | None
    snapshot: dict[str, Any]


def _state(uow: UnitOfWork, name: str, now: datetime) -> TargetState:
    return uow.sync.state(name) or TargetState(name=name, updated_at=now)


def _latest(envelopes: list[dict[str, Any]]) -> list[_Change]:
    """The latest snapshot per customer, in the order of each customer's last event."""
    latest: dict[UUID, _Change] = {}
    for envelope in envelopes:
        if not str(envelope.get("type", "")).startswith("custmaster.customer."):
            continue
        data = envelope.get("data") or {}
        customer = data.get("customer") if isinstance(data, dict) else None
        if envelope.get("type") in _SKIPPED_TYPES or not isinstance(customer, dict):
            continue
        customer_id = UUID(str(customer["id"]))
        latest.pop(customer_id, None)
        latest[customer_id] = _Change(customer_id, str(envelope.get("id")), customer)
    return list(latest.values())


def _try(
    adapter: TargetAdapter,
    mapping: SyncMapping,
    key: str,
    record: dict[str, Any],
    sleep: Callable[[float], None],
) -> tuple[UpsertResult, int]:
    result = UpsertResult(False, error="not tried")
    for attempt in range(1, mapping.attempts + 1):
        result = adapter.upsert(key, record)
        if result.ok or result.permanent:
            return result, attempt
        if attempt < mapping.attempts and mapping.backoff_seconds:
            sleep(mapping.backoff_seconds[min(attempt, len(mapping.backoff_seconds)) - 1])
    return result, mapping.attempts


def _push(
    make_uow: Callable[[], UnitOfWork],
    mapping: SyncMapping,
    adapter: TargetAdapter,
    changes: list[_Change],
    report: SyncReport,
    *,
    dry_run: bool,
    now: datetime,
    sleep: Callable[[float], None],
) -> tuple[list[Link], list[DeadLetter]]:
    links: list[Link] = []
    letters: list[DeadLetter] = []
    with make_uow().read_only() as uow:
        known = {c.customer_id: uow.sync.link(mapping.name, c.customer_id) for c in changes}
    for change in changes:
        if not selected(mapping, change.snapshot):
            report.skipped += 1
            continue
        link = known[change.customer_id]
        record = outgoing(mapping, change.snapshot, creating=link is None)
        if link is not None and unchanged(record, link.known_values):
            report.skipped += 1
            continue
        key = external_id(mapping, change.snapshot)
        if dry_run:
            report.would_send.append((key, record))
            continue
        result, attempts = _try(adapter, mapping, key, record, sleep)
        if result.ok:
            report.sent += 1
            values = {**(link.known_values if link else {}), **record}
            links.append(Link(mapping.name, change.customer_id, key, values, now))
        else:
            report.dead_lettered += 1
            letters.append(
                DeadLetter(
                    mapping.name,
                    change.customer_id,
                    change.event_id,
                    record,
                    result.error or "failed",
                    attempts,
                    now,
                )
            )
    return links, letters


def _store(
    uow: UnitOfWork,
    mapping: SyncMapping,
    links: list[Link],
    letters: list[DeadLetter],
    cursor: FeedPosition | None,
    sent: int,
    now: datetime,
) -> None:
    with uow:
        state = _state(uow, mapping.name, now)
        for link in links:
            uow.sync.save_link(link)
        for letter in letters:
            uow.sync.add_dead_letter(letter)
        if cursor is not None:
            state.cursor = cursor
        state.sent += sent
        state.last_run_at = state.updated_at = now
        uow.sync.save_state(state)


def run_target(
    make_uow: Callable[[], UnitOfWork],
    mapping: SyncMapping,
    adapter: TargetAdapter,
    *,
    dry_run: bool = False,
    max_events: int = 1000,
    sleep: Callable[[float], None] = time.sleep,
) -> SyncReport:
    """One catch-up step of a target: the events after its cursor (at most
    ``max_events``). A dry run sends nothing and keeps the cursor."""
    now = utcnow()
    report = SyncReport(mapping.name)
    with make_uow().read_only() as uow:
        state = _state(uow, mapping.name, now)
        if state.paused:
            report.paused = True
            return report
        page = uow.outbox.read(state.cursor, max_events)
    if not page:
        return report
    report.events = len(page)
    changes = _latest([item.envelope for item in page])
    links, letters = _push(
        make_uow, mapping, adapter, changes, report, dry_run=dry_run, now=now, sleep=sleep
    )
    if not dry_run:
        _store(make_uow(), mapping, links, letters, page[-1].position, report.sent, now)
    return report


def outbox_head(uow: UnitOfWork) -> FeedPosition:
    position = FeedPosition()
    while page := uow.outbox.read(position, 1000):
        position = page[-1].position
    return position


def initial_sync(
    make_uow: Callable[[], UnitOfWork],
    mapping: SyncMapping,
    adapter: TargetAdapter,
    *,
    dry_run: bool = False,
    batch_size: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SyncReport:
    """Bring a target in line once. ``initial.master: custmaster``: every customer the
    filter selects is upserted, ``batch_size`` per transaction. ``master: target``: the
    target's records are the truth; nothing is sent (load them through inbound changes
    or an import first). Either way the cursor then starts at the events committed
    before the initial sync began (changes made meanwhile are sent again, harmlessly)."""
    now = utcnow()
    report = SyncReport(mapping.name)
    size = batch_size or mapping.batch_size
    with make_uow().read_only() as uow:
        head = outbox_head(uow)
    after: str | None = None
    while mapping.master == "custmaster":
        with make_uow().read_only() as uow:
            batch = uow.customers.search(CustomerQuery(status=None, after_number=after, limit=size))
        if not batch:
            break
        after = batch[-1].number
        changes = [_Change(c.id, None, snapshot_of(c)) for c in batch]
        before = report.sent
        links, letters = _push(
            make_uow, mapping, adapter, changes, report, dry_run=dry_run, now=now, sleep=sleep
        )
        if not dry_run:
            _store(make_uow(), mapping, links, letters, None, report.sent - before, now)
    if not dry_run:
        _store(make_uow(), mapping, [], [], head, 0, now)
    return report


@dataclass(frozen=True, slots=True)
class TargetStatus:
    name: str
    paused: bool
    cursor: str
    behind: int
    sent: int
    links: int
    dead_letters: int
    last_run_at: datetime | None


def target_status(
    uow: UnitOfWork, actor: Principal, name: str, *, cap: int = 10000
) -> TargetStatus:
    """Where a target stands: paused, its cursor, how many events it is behind (up to
    ``cap``), what it sent, its links and its open dead letters."""
    require_permission(actor, Permission.INTEGRATION_MANAGE)
    now = utcnow()
    with uow.read_only():
        state = _state(uow, name, now)
        behind = len(uow.outbox.read(state.cursor, cap))
        return TargetStatus(
            name,
            state.paused,
            state.cursor.encode(),
            behind,
            state.sent,
            uow.sync.link_count(name),
            len(uow.sync.dead_letters(name, open_only=True, limit=cap)),
            state.last_run_at,
        )


def set_paused(uow: UnitOfWork, actor: Principal, name: str, paused: bool) -> TargetStatus:
    require_permission(actor, Permission.INTEGRATION_MANAGE)
    now = utcnow()
    with uow:
        state = uow.sync.state(name, for_update=True) or TargetState(name=name, updated_at=now)
        state.paused, state.updated_at = paused, now
        uow.sync.save_state(state)
    return target_status(uow, actor, name)


def dead_letters(
    uow: UnitOfWork, actor: Principal, name: str, *, open_only: bool = True, limit: int = 100
) -> list[DeadLetter]:
    require_permission(actor, Permission.INTEGRATION_MANAGE)
    with uow.read_only():
        return uow.sync.dead_letters(name, open_only=open_only, limit=limit)


def retry_dead_letters(
    make_uow: Callable[[], UnitOfWork],
    mapping: SyncMapping,
    adapter: TargetAdapter,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> SyncReport:
    """Send the current state of every customer on the open dead-letter list; the
    letters of those that go through are resolved."""
    now = utcnow()
    report = SyncReport(mapping.name)
    with make_uow().read_only() as uow:
        letters = uow.sync.dead_letters(mapping.name, open_only=True, limit=10000)
        current = {d.customer_id: uow.customers.get(d.customer_id) for d in letters}
    changes = [_Change(cid, None, snapshot_of(c)) for cid, c in current.items() if c is not None]
    links, failed = _push(
        make_uow, mapping, adapter, changes, report, dry_run=False, now=now, sleep=sleep
    )
    still_failing = {letter.customer_id for letter in failed}
    uow = make_uow()
    with uow:
        for letter in letters:
            if letter.customer_id not in still_failing and letter.id is not None:
                uow.sync.resolve_dead_letter(letter.id, now)
    _store(make_uow(), mapping, links, [], None, report.sent, now)
    return report
