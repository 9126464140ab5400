"""``GET /customers/{id}/sources``: a golden record's source records and, per field,
which source won and why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from custmaster.domain.errors import NotFound
from custmaster.domain.model import Customer
from custmaster.domain.permissions import Permission, PermissionDenied, Principal, require
from custmaster.domain.snapshot import snapshot
from custmaster.services.governance.access import visible_customer, visible_data
from custmaster.services.ports import UnitOfWork
from custmaster.services.sources.consolidate import CONSOLIDATED_FIELDS, derive_provenance
from custmaster.services.sources.ports import SourceRecord

_WHY = {
    "first_source": "the first source record of the golden record supplied it",
    "fills_gap": "the golden record had no value; this source supplied one",
    "same_source": "a newer version of the same source record",
    "source_priority": "its source system ranks above the others in source_priority",
    "survivor": "the rule 'survivor' keeps the golden record's value",
    "most_recent": "the most recent source among equally ranked ones",
    "most_complete": "the most complete value among equally ranked sources",
    "steward_choice": "the rule 'steward_choice' keeps the value until a steward changes it",
    "steward": "set by a steward (a change or a merge choice): no source overwrites it",
    "merge": "combined from the records a merge joined",
    "no_provenance": "replaced a value of unknown origin",
}


@dataclass(frozen=True, slots=True)
class FieldWinner:
    field: str
    value: Any
    source_record_id: str | None
    source_system: str | None
    source_id: str | None
    rule: str
    why: str


@dataclass(frozen=True, slots=True)
class CustomerSources:
    customer: Customer
    records: list[SourceRecord]
    fields: list[FieldWinner]


def check_scope(actor: Principal, customer: Customer) -> None:
    """A user scoped to legal entities sees the customers owned by, or overridden for,
    one of them."""
    if actor.entities is None:
        return
    concerned = {customer.owning_entity, *customer.overrides} - {None}
    if not concerned & set(actor.entities):
        raise PermissionDenied(
            f"{actor.user_id} is not scoped to a legal entity of customer {customer.id}"
        )


def customer_sources(uow: UnitOfWork, actor: Principal, customer_id: UUID) -> CustomerSources:
    require(actor, Permission.CUSTOMER_READ)
    with uow.read_only():
        customer = uow.customers.get(customer_id)
        if customer is None:
            raise NotFound(f"no customer {customer_id}")
        check_scope(actor, customer)
        records = uow.sources.for_golden([customer_id])
        stored = uow.sources.provenance([customer_id]).get(customer_id)
    provenance = derive_provenance(snapshot(customer), stored, records)
    by_id = {str(r.id): r for r in records}
    fields: list[FieldWinner] = []
    for name in CONSOLIDATED_FIELDS:
        held = provenance.get(name)
        if held is None:
            continue
        record = by_id.get(held["source"] or "")
        fields.append(
            FieldWinner(
                field=name,
                value=held["value"],
                source_record_id=held["source"],
                source_system=held["system"],
                source_id=record.source_id if record is not None else None,
                rule=held["rule"],
                why=_WHY.get(held["rule"], held["rule"]),
            )
        )
    for record in records:  # the one read rule: nothing of another entity's overrides
        record.received = visible_data(actor, record.received)
        record.normalised = visible_data(actor, record.normalised)
        record.features = visible_data(actor, record.features)
    return CustomerSources(visible_customer(actor, customer), records, fields)
