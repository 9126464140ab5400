"""One inbound record change, applied like any other change.

1. **Echoes.** A record marked ``origin: custmaster`` is what custmaster sent: ignored.
   Fields whose value is what custmaster last sent to this system for this customer (a
   sync target's link) are dropped: a late echo must not revert a newer change. A record
   with nothing else left is an echo.
2. **Mapping.** The system's import template (``services/imports/templates``: the same
   one ``custmaster import`` uses) maps the record to a create command.
3. **Resolution.** Through the cross-references (source system and id), else the sync
   target's upsert key (custmaster's id the target stores), else, for a new record, the
   matcher: a match the current model would merge automatically is taken as that
   customer.
4. **Approval.** ``create_customer`` / ``update_customer`` under the approval policy: a green
   change applies, a yellow one waits as a change request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from custmaster.domain.approvals import Operation, Policy
from custmaster.domain.approvals.submission import SUBMIT_PERMISSIONS
from custmaster.domain.model import SourceRef
from custmaster.domain.permissions import Principal, require_any
from custmaster.domain.snapshot import snapshot
from custmaster.matching.record import from_customer_dict
from custmaster.services.customers.create import create_customer
from custmaster.services.customers.outcome import Outcome
from custmaster.services.customers.update import update_customer
from custmaster.services.dedup.online import match_record_in
from custmaster.services.imports.mapping import map_row
from custmaster.services.imports.sources import SourceRow
from custmaster.services.imports.templates import Template
from custmaster.services.inbound.patch import patch_for
from custmaster.services.ports import UnitOfWork
from custmaster.services.recording import utcnow
from custmaster.services.settings import ServiceSettings
from custmaster.services.sync.mapping import SyncMapping
from custmaster.services.sync.ports import Link
from custmaster.services.sync.transform import outgoing

ORIGIN = "custmaster"


@dataclass
class InboundResult:
    #: applied | pending | unchanged | echo | rejected
    status: str
    customer_id: UUID | None = None
    change_request_id: UUID | None = None
    matched: bool = False
    errors: list[dict[str, Any]] = field(default_factory=list)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _known(value: Any) -> str:
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return _text(value)


def _resolve(
    uow: UnitOfWork,
    command: Mapping[str, Any],
    record: Mapping[str, Any],
    mappings: Sequence[SyncMapping],
) -> UUID | None:
    with uow.read_only():
        for ref in command.get("source_refs") or []:
            owner = uow.customers.by_source_ref(SourceRef(ref["source_system"], ref["source_id"]))
            if owner is not None:
                return owner
        for mapping in mappings:
            raw = _text(record.get(mapping.key_target))
            try:
                candidate = UUID(raw)
            except ValueError:
                continue
            if uow.customers.get(candidate) is not None:
                return candidate
    return None


def _match(uow: UnitOfWork, command: Mapping[str, Any]) -> UUID | None:
    with uow.read_only():
        found = match_record_in(uow, from_customer_dict(command), limit=1)
    if found and found[0].result.decision == "auto_merge":
        return found[0].customer_id
    return None


def _drop_echoed(
    uow: UnitOfWork,
    customer_id: UUID | None,
    values: dict[str, str],
    mappings: Sequence[SyncMapping],
) -> tuple[dict[str, str], bool]:
    """``values`` without the fields repeating what custmaster sent; whether any were."""
    if customer_id is None:
        return values, False
    with uow.read_only():
        links = [uow.sync.link(m.name, customer_id) for m in mappings]
    echoed = {
        k
        for link in links
        if link is not None
        for k, v in link.known_values.items()
        if k in values and values[k] == _known(v)
    }
    return {k: v for k, v in values.items() if k not in echoed}, bool(echoed)


def _remember(
    uow: UnitOfWork,
    customer_id: UUID,
    values: dict[str, str],
    mappings: Sequence[SyncMapping],
    now: datetime,
    *,
    applied: bool,
) -> None:
    """The target holds ``values`` now: the outbound sync must not send them back. When
    the change applied, what the target holds is what custmaster now sends for those
    fields (custmaster may have normalised them: a phone number's format)."""
    with uow:
        current = uow.customers.get(customer_id) if applied else None
        for mapping in mappings:
            link = uow.sync.link(mapping.name, customer_id)
            if link is None:
                continue  # never sent there: the sync creates the link on its first send
            fresh = {k: v for k, v in values.items() if k in link.known_values}
            if current is not None:
                ours = outgoing(mapping, snapshot(current), creating=False)
                fresh = {k: ours.get(k, v) for k, v in fresh.items()}
            uow.sync.save_link(
                Link(
                    mapping.name, customer_id, link.external_id, {**link.known_values, **fresh}, now
                )
            )


def _outcome(result: InboundResult, outcome: Outcome, before_version: int | None) -> None:
    if outcome.applied:
        customer = outcome.result.customer if outcome.result else None
        result.customer_id = customer.id if customer else result.customer_id
        unchanged = customer is not None and customer.version == before_version
        result.status = "unchanged" if unchanged else "applied"
    else:
        assert outcome.request is not None
        result.status = "pending"
        result.change_request_id = outcome.request.id


def receive_change(
    uow: UnitOfWork,
    actor: Principal,
    policy: Policy,
    settings: ServiceSettings,
    template: Template,
    record: Mapping[str, Any],
    *,
    mappings: Sequence[SyncMapping] = (),
    entity: str | None = None,
    origin: str | None = None,
) -> InboundResult:
    """Apply one record a source system changed (see the module docstring).
    ``mappings``: the sync targets that are this system."""
    require_any(actor, SUBMIT_PERMISSIONS[Operation.CREATE] | SUBMIT_PERMISSIONS[Operation.UPDATE])
    if origin == ORIGIN or record.get("_origin") == ORIGIN:
        return InboundResult("echo")
    outbound_only = frozenset().union(*(m.outbound_only() for m in mappings))
    values = {
        str(k): _text(v)
        for k, v in record.items()
        if not str(k).startswith("_") and k not in outbound_only and not isinstance(v, (dict, list))
    }
    first = map_row(SourceRow(1, values), template, entity=entity)
    customer_id = _resolve(uow, first.command, record, mappings)
    kept, echoed = _drop_echoed(uow, customer_id, values, mappings)
    if echoed:
        ids = {c for m in mappings for c in (m.key_target,)}
        if not set(kept) - ids - set(template.source_id.columns):
            return InboundResult("echo", customer_id)
    mapped = map_row(SourceRow(1, kept), template, entity=entity)
    if mapped.errors:
        return InboundResult(
            "rejected",
            customer_id,
            errors=[
                {"field": e.field, "code": e.code, "message": e.message} for e in mapped.errors
            ],
        )
    command = mapped.command
    result = InboundResult("applied", customer_id)
    if customer_id is None:
        if mapped.missing_required:
            return InboundResult(
                "rejected",
                errors=[
                    {"field": name, "code": "required", "message": "the record lacks it"}
                    for name in mapped.missing_required
                ],
            )
        customer_id = _match(uow, command)
        result.matched = customer_id is not None
    if customer_id is None:
        _outcome(result, create_customer(uow, actor, policy, command, settings), None)
    else:
        with uow.read_only():
            current = uow.customers.get(customer_id)
        assert current is not None
        result.customer_id = customer_id
        patch = patch_for(snapshot(current), command)
        if not patch:
            result.status = "unchanged"
        else:
            outcome = update_customer(uow, actor, policy, customer_id, patch, settings)
            _outcome(result, outcome, current.version)
    if result.customer_id is not None and mappings:
        _remember(
            uow, result.customer_id, kept, mappings, utcnow(), applied=result.status == "applied"
        )
    return result
