"""``custmaster profile rebuild``: recompute every profile from the stored activity events
and report where the incremental state differs.

On PostgreSQL the rebuild is set-based (``persistence/activity_rebuild.py``): every
aggregate part and every feature row is recomputed by SQL into scratch tables, compared
with the stored ones in SQL -- the customers split by id into ``jobs`` slices (default
:data:`JOBS`) computed at the same time, a connection and a thread each --, and only the
drifted customers are written (their drifted
parts, their feature rows as of today and their read rows by ``INSERT ... SELECT``,
re-scored in SQL by ``persistence/profile_scoring_sql.py`` with the outbox events
``hooks.features_changed`` would give), a transaction per ``chunk`` customers (default
:data:`SET_BASED_CHUNK`).

Elsewhere (SQLite: the reference implementation), customers are processed in chunks,
each in its own transaction: their stored events are
folded from scratch (following merges: an absorbed customer's events count for its
survivor), the result is compared with the stored aggregates and with the stored feature
rows (recomputed as of the day those rows were written, so only real differences count),
and then written (aggregates replaced, feature rows recomputed as of today).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from custmaster.domain.activity import parse_envelope
from custmaster.domain.activity_state import ActivityState, state_of
from custmaster.domain.permissions import Permission, Principal
from custmaster.domain.profile_calc import same_features
from custmaster.services.governance.access import require_permission
from custmaster.services.ports import UnitOfWork
from custmaster.services.profile.active_rules import active, compiled
from custmaster.services.profile.config import ProfileConfig
from custmaster.services.profile.features import compute_rows, today, write_rows
from custmaster.services.recording import utcnow

CHUNK = 500
#: the drifted customers the set-based rebuild reads into its report (the first by id)
SHOWN = 20
#: customers per transaction of the set-based writes (PostgreSQL)
SET_BASED_CHUNK = 100_000
#: slices of the customers the set-based rebuild computes at the same time, a connection
#: each (PostgreSQL runs most of a slice's statements on one core: two keep two busy)
JOBS = 2
MAX_HOPS = 64


@dataclass(frozen=True, slots=True)
class Drift:
    customer_id: UUID
    parts: list[str]  # aggregate parts that differ
    features: dict[str, list[str]]  # legal entity -> features that differ

    def as_dict(self) -> dict[str, Any]:
        return {
            "customer_id": str(self.customer_id),
            "parts": self.parts,
            "features": self.features,
        }


@dataclass
class RebuildReport:
    customers: int = 0
    events: int = 0
    drifted: list[Drift] = field(default_factory=list)
    #: how many drifted when ``drifted`` holds only the first of them (the set-based
    #: rebuild reads the first :data:`SHOWN`), else None
    drifted_total: int | None = None
    seconds: float = 0.0
    written: bool = True
    #: stage -> seconds (the set-based rebuild)
    stages: dict[str, float] = field(default_factory=dict)
    #: score events added to the outbox (the set-based rebuild's writes)
    events_written: int = 0

    @property
    def drift(self) -> bool:
        return self.drifted_count > 0

    @property
    def drifted_count(self) -> int:
        return len(self.drifted) if self.drifted_total is None else self.drifted_total

    def as_dict(self, limit: int = 20) -> dict[str, Any]:
        return {
            "customers": self.customers,
            "events": self.events,
            "drifted_customers": self.drifted_count,
            "written": self.written,
            "seconds": round(self.seconds, 3),
            "stages": {k: round(v, 3) for k, v in self.stages.items()},
            "events_written": self.events_written,
            "drift": [d.as_dict() for d in self.drifted[:limit]],
        }


def _final(redirects: dict[UUID, UUID], customer_id: UUID) -> UUID:
    for _ in range(MAX_HOPS):
        nxt = redirects.get(customer_id)
        if nxt is None:
            return customer_id
        customer_id = nxt
    return customer_id


def _compare(
    uow: UnitOfWork, rebuilt: dict[UUID, ActivityState], config: ProfileConfig
) -> list[Drift]:
    stored = uow.activity.load_states(rebuilt)
    rows = uow.activity.read_profiles(rebuilt)
    by_day: dict[date, dict[UUID, ActivityState]] = {}
    for customer_id, entities in rows.items():
        written = min(r["updated_at"] for r in entities.values())
        day = written.astimezone(UTC).date() if written.tzinfo else written.date()
        by_day.setdefault(day, {})[customer_id] = rebuilt[customer_id]
    expected: dict[UUID, dict[str, dict[str, Any]]] = {}
    for day, states in by_day.items():
        expected.update(compute_rows(uow, states, config, day))
    drifted = []
    for customer_id, state in rebuilt.items():
        parts = [
            p for p in ActivityState.PARTS if getattr(state, p) != getattr(stored[customer_id], p)
        ]
        mine = rows.get(customer_id, {})
        theirs = expected.get(customer_id, {} if state.is_empty() else None)
        features: dict[str, list[str]] = {}
        if theirs is None:
            features["*"] = ["missing profile rows"]
        else:
            for entity in sorted(set(mine) | set(theirs)):
                if entity not in mine or entity not in theirs:
                    features[entity] = ["row missing" if entity not in mine else "row extra"]
                else:
                    differ = same_features(mine[entity], theirs[entity])
                    if differ:
                        features[entity] = differ
        if parts or features:
            drifted.append(Drift(customer_id, parts, features))
    return drifted


def _process(
    new_uow: Callable[[], UnitOfWork],
    rebuilt: dict[UUID, ActivityState],
    config: ProfileConfig,
    write: bool,
    report: RebuildReport,
) -> None:
    uow = new_uow()
    with uow:
        uow.activity.lock_customers(rebuilt)
        report.drifted.extend(_compare(uow, rebuilt, config))
        if write:
            uow.activity.replace_states(rebuilt)
            write_rows(uow, compute_rows(uow, rebuilt, config, today()), datetime.now(UTC))


def _chunks(ids: Iterable[UUID], size: int) -> Iterable[list[UUID]]:
    batch: list[UUID] = []
    for i in ids:
        batch.append(i)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def rebuild(
    new_uow: Callable[[], UnitOfWork],
    actor: Principal,
    config: ProfileConfig,
    *,
    write: bool = True,
    chunk: int | None = None,
    jobs: int = JOBS,
    progress: Callable[[int, int, str], None] = lambda done, total, what: None,
) -> RebuildReport:
    """Recompute every profile from the stored events; the differences found.
    ``jobs``: the set-based rebuild's slices of the customers computed at the same time
    (a connection each).
    ``progress(done, total, what)`` is called as the work goes on."""
    require_permission(actor, Permission.AUDIT_VERIFY)
    started = datetime.now(UTC)
    report = RebuildReport(written=write)
    probe = new_uow()
    with probe.read_only():
        set_based = probe.activity.set_based_rebuild()
    if set_based:
        _set_based(new_uow, config, write, chunk, jobs, progress, report)
        report.seconds = (datetime.now(UTC) - started).total_seconds()
        return report
    done: set[UUID] = set()
    chunk = chunk or CHUNK

    def flush(states: dict[UUID, ActivityState]) -> None:
        for ids in _chunks(list(states), chunk):
            _process(new_uow, {c: states[c] for c in ids}, config, write, report)
            report.customers += len(ids)
            done.update(ids)

    reader = new_uow()
    with reader.read_only():
        redirects = reader.activity.redirects()
        survivors = {_final(redirects, absorbed) for absorbed in redirects}
        with_state = reader.activity.customers_with_state()
        total = reader.activity.count_events()
        states: dict[UUID, ActivityState] = {}
        deferred: dict[UUID, ActivityState] = {}  # survivors of merges: folded to the end
        for batch in reader.activity.iter_events(5000):
            for stored in batch:
                report.events += 1
                target = _final(redirects, stored.customer_id)
                bucket = deferred if target in survivors else states
                state = bucket.setdefault(target, ActivityState())
                state.merge(state_of(parse_envelope(stored.envelope)))
                if len(states) > chunk:  # events come by customer: all but the last are whole
                    last = stored.customer_id
                    flush({c: states.pop(c) for c in list(states) if c != last})
                    progress(report.events, total, "events")
    flush({**states, **deferred})
    progress(report.events, total, "events")
    # aggregates left behind by customers without events
    orphans = sorted(with_state - done)
    flush({c: ActivityState() for c in orphans})
    report.seconds = (datetime.now(UTC) - started).total_seconds()
    return report


def _set_based(
    new_uow: Callable[[], UnitOfWork],
    config: ProfileConfig,
    write: bool,
    chunk: int | None,
    jobs: int,
    progress: Callable[[int, int, str], None],
    report: RebuildReport,
) -> None:
    """The rebuild in SQL (see the module's docstring); scratch tables dropped at the end.
    The customers are split into ``jobs`` slices (by id) whose aggregates and comparisons
    run at the same time, each on a connection of its own."""
    run = secrets.token_hex(4)
    rates = dict(config.rates.to_reporting)
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        report.stages[stage] = now - clock
        clock = now

    try:
        uow = new_uow()
        with uow.read_only():
            bounds = uow.activity.rebuild_split(jobs)
        slices = range(len(bounds) + 1)

        def aggregates(slice_no: int) -> int:
            worker = new_uow()
            with worker:
                return worker.activity.rebuild_stage(run, bounds, slice_no)

        def compare(slice_no: int) -> int:
            worker = new_uow()
            with worker:
                return worker.activity.rebuild_compare(run, bounds, slice_no, rates)

        with ThreadPoolExecutor(len(slices), thread_name_prefix="rebuild") as pool:
            report.events = sum(pool.map(aggregates, slices))
            lap("aggregates")
            progress(report.events, report.events, "events folded")
            report.customers = sum(pool.map(compare, slices))
            lap("compare")
        with uow.read_only():
            count, found = uow.activity.rebuild_drifted(run, bounds, SHOWN)
        report.drifted = [Drift(c, parts, features) for c, parts, features in found]
        report.drifted_total = count
        lap("drift read")
        progress(count, report.customers, "customers drifted")
        if not write or not count:
            return
        with uow:
            total = uow.activity.rebuild_plan(run, bounds, today(), rates)
        lap("features")
        size = chunk or SET_BASED_CHUNK
        for first in range(1, total + 1, size):
            last = min(first + size - 1, total)
            writer = new_uow()
            with writer:
                stored = active(writer)
                report.events_written += writer.activity.rebuild_write(
                    run,
                    first,
                    last,
                    utcnow(),
                    compiled(stored),
                    stored.version,
                    utcnow().date(),
                )
            progress(last, total, "customers written")
        lap("writes")
    finally:
        cleaner = new_uow()
        with cleaner:
            cleaner.activity.rebuild_drop(run)
