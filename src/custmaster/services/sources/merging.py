"""Source records through a merge and its undoing.

A merge moves the absorbed records' source records to the survivor and records which it
moved (and every record's field provenance before the merge) in the merge record; the
golden record's provenance follows the survivorship plan (a field taken from a record
keeps that record's provenance, a steward's value is the steward's). Unmerge moves exactly
those source records back, unchanged, and restores the provenance of every record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from custmaster.domain.model import Customer
from custmaster.domain.snapshot import snapshot
from custmaster.services.ports import UnitOfWork
from custmaster.services.sources.consolidate import (
    CONSOLIDATED_FIELDS,
    STEWARD,
    entry,
    field_value,
)
from custmaster.services.sources.keep import provenance_of


def merge_sources(
    uow: UnitOfWork,
    survivor: Customer,
    absorbed: Sequence[Customer],
    golden: Customer,
    plan_sources: Mapping[str, str],
    now: datetime,
) -> dict[str, Any]:
    """Move the absorbed records' source records to the survivor and store the golden
    record's provenance; returns what unmerge needs (kept in the merge record)."""
    provenance = {str(c.id): provenance_of(uow, c) for c in [survivor, *absorbed]}
    moved: dict[str, list[str]] = {}
    for customer in absorbed:
        records = uow.sources.for_golden([customer.id])
        moved[str(customer.id)] = [str(r.id) for r in records]
        uow.sources.move([r.id for r in records], survivor.id)
    after = snapshot(golden)
    fields: dict[str, Any] = {}
    for name in CONSOLIDATED_FIELDS:
        value = field_value(after, name)
        if value is None or value == [] or value == "":
            continue
        origin = plan_sources.get(name.split("[", 1)[0], str(survivor.id))
        held = provenance.get(origin or "", {}).get(name)
        if origin == "value":
            fields[name] = entry(None, STEWARD, value)
        elif held is not None and (held["value"] == value or held["rule"] == STEWARD):
            fields[name] = dict(held, value=value)
        else:  # child collections combined from several records
            fields[name] = entry(None, "merge", value)
    uow.sources.save_provenance(survivor.id, fields, now)
    uow.sources.drop_provenance([c.id for c in absorbed])
    return {"moved": moved, "provenance": provenance}


def unmerge_sources(
    uow: UnitOfWork,
    kept: Mapping[str, Any] | None,
    survivor: Customer,
    now: datetime,
) -> None:
    """Move the source records a merge moved back to their restored records and restore
    every record's provenance (the survivor's fields the unmerge put back get their
    provenance from before the merge)."""
    if not kept:
        return  # a merge made before source records existed
    current = provenance_of(uow, survivor)
    for owner, ids in kept["moved"].items():
        uow.sources.move([UUID(i) for i in ids], UUID(owner))
    for owner, fields in kept["provenance"].items():
        if owner != str(survivor.id):
            uow.sources.save_provenance(UUID(owner), fields, now)
    before = kept["provenance"].get(str(survivor.id), {})
    after = snapshot(survivor)
    restored: dict[str, Any] = {}
    for name in CONSOLIDATED_FIELDS:
        value = field_value(after, name)
        if name in before and before[name]["value"] == value:
            restored[name] = before[name]
        elif name in current:
            restored[name] = dict(current[name], value=value)
    uow.sources.save_provenance(survivor.id, restored, now)
