"""Incomplete source records take part in matching.

A source record missing required fields (an e-mail, say) is not a golden record, but it
is matched like one: it sits in the match index under its own id (``pending`` records,
``golden_id`` ``NULL``), so online matching and ``match run`` find it. When it matches a
golden record it joins it (consolidated like any source record: it fills gaps and never
overwrites a better-ranked source or a steward); when its cluster holds only incomplete
records and, together, they have every required field, they become a new golden record;
until then they are one *pending group* (``pending_group``: the id of one of them), matched
as one (``services.sources.variants``) and settled as one: a record of the group that
joins a golden record brings the others along.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from custmaster.domain.build import new_customer
from custmaster.domain.context import ParseContext
from custmaster.domain.errors import DomainError
from custmaster.domain.events import customer_event
from custmaster.domain.model import REQUIRED_FIELDS, Customer
from custmaster.domain.permissions import Permission, Principal, require
from custmaster.domain.snapshot import diff, snapshot
from custmaster.matching.record import from_customer_dict, prepare
from custmaster.services.customers.common import check_references, load
from custmaster.services.customers.create import write_new
from custmaster.services.dedup.index import refresh_match_keys
from custmaster.services.dedup.ports import IndexEntry
from custmaster.services.dedup.records import features_from_json, features_to_json, index_keys
from custmaster.services.dedup.survivorship import load_survivorship
from custmaster.services.ports import UnitOfWork
from custmaster.services.recording import record_change, utcnow
from custmaster.services.settings import ServiceSettings
from custmaster.services.sources.consolidate import Ranks
from custmaster.services.sources.keep import consolidate_source
from custmaster.services.sources.ports import SourceRecord

#: The prefix of a pending record's "number" in the match index.
PENDING_PREFIX = "~"


def command_features(command: Mapping[str, Any], record_id: UUID) -> dict[str, Any]:
    """The match features of a (possibly incomplete) create command."""
    data = {k: v for k, v in command.items() if k != "id"}
    features = prepare(from_customer_dict({**data, "id": str(record_id)}))
    return features_to_json(features)


def pending_entry(record: SourceRecord) -> IndexEntry | None:
    """The match-index entry of a pending source record."""
    if record.features is None:
        return None
    features = features_from_json(record.features)
    label = f"{PENDING_PREFIX}{record.source_system[:12]}/{(record.source_id or '')[:18]}"
    name = record.received.get("name")
    return IndexEntry(
        customer_id=record.id,
        number=label[:32],
        name=(name if isinstance(name, str) and name else label)[:255],
        features=record.features,
        keys=index_keys(features),
    )


#: Warning codes of a value the import set aside as invalid (``on_invalid_field``).
SET_ASIDE = frozenset({"invalid_field_drop", "invalid_field_draft"})


def usable_values(record: SourceRecord) -> dict[str, Any]:
    """What a record contributes to its golden record: the values as received but those
    the import set aside as invalid (they stay on the record and in its match features,
    as evidence, but never become a golden record's values)."""
    aside = {
        str(w.get("field")).split("[", 1)[0]
        for w in record.warnings
        if w.get("code") in SET_ASIDE and w.get("field")
    }
    return {k: v for k, v in record.received.items() if k not in aside}


def filled_command(command: Mapping[str, Any], golden: Customer) -> dict[str, Any]:
    """``command`` with the required fields it lacks taken from ``golden`` (so that it
    parses; only the fields the command carries are consolidated)."""
    filled = dict(command)
    for name in REQUIRED_FIELDS:
        if filled.get(name) in (None, ""):
            value = getattr(golden, name)
            filled[name] = getattr(value, "value", value)
    return filled


def join(
    uow: UnitOfWork,
    actor: Principal,
    record: SourceRecord,
    golden: Customer,
    now: datetime,
) -> Customer:
    """Join a pending record to ``golden`` (inside the caller's transaction): the golden
    record consolidated with it, the record attached and out of the match index."""
    ctx = ParseContext()
    command = usable_values(record)
    parsed = new_customer(
        filled_command(command, golden), customer_id=uuid4(), number="", now=now, ctx=ctx
    )
    check_references(uow, ctx)
    if parsed is None or ctx.errors:
        ctx.errors.raise_if_any()
    assert parsed is not None
    result = consolidate_source(uow, golden, parsed, command, record, now=now, ctx=ctx)
    ctx.errors.raise_if_any()
    assert result is not None
    record.golden_id = golden.id
    record.pending_group = None
    uow.sources.replace(record)
    uow.matching.remove_entries([record.id])
    uow.sources.save_provenance(golden.id, result.provenance, now)
    before, after = snapshot(golden), snapshot(result.customer)
    changes = diff(before, after)
    if not changes:
        return golden
    result.customer.version = golden.version + 1
    after["version"] = result.customer.version
    uow.customers.update(golden, result.customer)
    refresh_match_keys(uow, result.customer)
    source = f"{record.source_system}/{record.source_id or record.id}"
    record_change(
        uow,
        actor,
        operation="update",
        resource_type="customer",
        resource_id=str(golden.id),
        changes=[*changes, {"field": "source_record", "before": None, "after": source}],
        event=customer_event(
            "updated",
            golden.id,
            now,
            {"changes": changes, "customer": after, "source_record": str(record.id)},
        ),
    )
    return result.customer


def combined_command(records: Sequence[SourceRecord]) -> dict[str, Any]:
    """The create command of pending records together: per field, the best-ranked
    record's value (then the oldest)."""
    ranks = Ranks(load_survivorship().source_priority)
    ordered = sorted(records, key=lambda r: (ranks(r.source_system), r.received_at))
    command: dict[str, Any] = {}
    for record in ordered:
        for name, value in usable_values(record).items():
            if name == "source_refs" or value in (None, "", [], {}):
                continue
            command.setdefault(name, value)
    refs = [
        {"source_system": r.source_system, "source_id": r.source_id}
        for r in ordered
        if r.source_id is not None
    ]
    if refs:
        command["source_refs"] = refs
    return command


def settle(
    new_uow: Callable[[], UnitOfWork],
    actor: Principal,
    settings: ServiceSettings,
    golden_id: UUID | None,
    pending_ids: Sequence[UUID],
) -> UUID | None:
    """Join pending records to ``golden_id``; without one, make them a golden record
    when they have every required field together. The golden record's id, or ``None``
    when nothing could be settled (left for a steward)."""
    uow = new_uow()
    try:
        with uow:
            records = with_groups(uow, uow.sources.get(list(pending_ids)))
            if not records:
                return golden_id
            now = utcnow()
            if golden_id is not None:
                golden = uow.customers.get(golden_id, for_update=True)
                if golden is None:
                    return None
                for record in records:
                    golden = join(uow, actor, record, golden, now)
                return golden_id
            ctx = ParseContext()
            command = combined_command(records)
            customer = new_customer(command, customer_id=uuid4(), number="", now=now, ctx=ctx)
            check_references(uow, ctx)
            if customer is None or ctx.errors:
                # still incomplete together: one pending group, matched and settled as one
                group = min((r.pending_group or r.id for r in records), key=str)
                uow.sources.set_group([r.id for r in records], group)
                return None
            write_new(uow, actor, customer, settings, warnings=ctx.warnings)
            for record in records:
                record.golden_id = customer.id
                record.pending_group = None
                uow.sources.replace(record)
            uow.matching.remove_entries([r.id for r in records])
            return customer.id
    except DomainError:
        return None


def with_groups(uow: UnitOfWork, records: Sequence[SourceRecord]) -> list[SourceRecord]:
    """The pending ones of ``records`` and the other pending records of their groups."""
    pending = [r for r in records if r.golden_id is None]
    groups = sorted({r.pending_group for r in pending if r.pending_group is not None}, key=str)
    known = {r.id for r in pending}
    return pending + [r for r in uow.sources.in_groups(groups) if r.id not in known]


def pending_ids(uow: UnitOfWork, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` are pending source records rather than customers."""
    found = uow.sources.get([UUID(i) for i in ids])
    return {str(r.id) for r in found if r.golden_id is None}


def settle_cluster(
    new_uow: Callable[[], UnitOfWork],
    actor: Principal,
    settings: ServiceSettings,
    members: Sequence[str],
    numbers: Mapping[str, str],
    merge: Callable[[UUID, list[UUID]], object],
) -> UUID | None:
    """Settle an auto-merge cluster that may hold pending source records: its customers
    are merged (``merge(survivor, absorbed)``; survivor: the oldest number), the pending
    records join the survivor, or become a golden record together. The golden record
    the cluster became, or ``None`` when it did not settle (left for a steward)."""
    pending = [UUID(m) for m in members if numbers.get(m, "").startswith(PENDING_PREFIX)]
    customers = sorted(
        (m for m in members if not numbers.get(m, "").startswith(PENDING_PREFIX)),
        key=lambda m: numbers.get(m, m),
    )
    survivor = UUID(customers[0]) if customers else None
    if survivor is not None and len(customers) > 1:
        try:
            merge(survivor, [UUID(m) for m in customers[1:]])
        except DomainError:
            return None  # changed since the run read it: left in the queue for a steward
    if not pending:
        return survivor
    golden = settle(new_uow, actor, settings, survivor, pending)
    if golden is None:
        return None
    _close(new_uow(), actor, {UUID(m) for m in members})
    return golden


def _close(uow: UnitOfWork, actor: Principal, settled: set[UUID]) -> None:
    """Open review clusters whose every member was settled are merged."""
    with uow:
        now = utcnow()
        for cluster_id in uow.matching.open_clusters_with(sorted(settled, key=str)):
            cluster = uow.matching.get_cluster(cluster_id, for_update=True)
            if cluster is not None and {UUID(m) for m in cluster.members} <= settled:
                uow.matching.decide_cluster(cluster_id, "merged", now, actor.user_id, None)


def join_pending_members(
    uow: UnitOfWork,
    actor: Principal,
    cluster_id: int,
    survivor_id: UUID,
    absorbed: Sequence[UUID],
) -> list[UUID]:
    """A steward's merge of a review cluster: its pending source records join the
    survivor at once (consolidation, not a merge of golden records); the customers left
    to merge are returned (none: the cluster is merged)."""
    require(actor, Permission.MERGE_PROPOSE)
    with uow:
        pending = pending_ids(uow, [str(m) for m in absorbed])
        if not pending:
            return list(absorbed)
        now = utcnow()
        golden = load(uow, survivor_id, for_update=True)
        found = uow.sources.get(sorted((UUID(p) for p in pending), key=str))
        for record in with_groups(uow, found):
            golden = join(uow, actor, record, golden, now)
        rest = [m for m in absorbed if str(m) not in pending]
        if not rest:
            uow.matching.decide_cluster(cluster_id, "merged", now, actor.user_id, None)
        return rest
