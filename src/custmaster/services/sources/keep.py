"""Keeping source records: building them from what arrived, storing them, and
consolidating one into its golden record (the use cases' shared steps; the callers own
the transaction)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from custmaster.domain.context import ParseContext
from custmaster.domain.model import Customer
from custmaster.domain.snapshot import jsonable, snapshot
from custmaster.services.dedup.survivorship import SurvivorshipConfig, load_survivorship
from custmaster.services.ports import UnitOfWork
from custmaster.services.sources.consolidate import Consolidation, consolidate, derive_provenance
from custmaster.services.sources.ports import Origin, SourceRecord


def _same(a: Any, b: Any) -> bool:
    """``a == b`` with the same types throughout (``1 == True``, ``1 == 1.0`` are not the
    same JSON) and dicts' keys in the same order: ``b`` may then stand for ``a``."""
    if a is b:
        return True
    kind = type(a)
    if kind is not type(b):
        return False
    if kind is dict:
        return list(a) == list(b) and all(_same(v, b[k]) for k, v in a.items())
    if kind is list:
        return len(a) == len(b) and all(map(_same, a, b))
    return bool(a == b)


def received_of(part: Mapping[str, Any], payload: Mapping[str, Any] | None) -> dict[str, Any]:
    """The values as received of an import row's source record: ``part["received"]``,
    completed from ``payload[part["received_from"]]`` (the row's staged customer or
    command) when :func:`source_payload` left out what that holds the same."""
    own: dict[str, Any] = part["received"]
    origin = part.get("received_from")
    if origin is None:
        return own
    if payload is None or origin not in payload:
        raise ValueError(f"the source record's values refer to the payload's {origin!r}")
    base = payload[origin]
    return {k: own[k] if k in own else base[k] for k in part["keys"]}


def import_source(
    payload: Mapping[str, Any],
    *,
    golden_id: UUID | None,
    normalised: dict[str, Any] | None,
    features: dict[str, Any] | None,
    job_id: UUID,
    at: datetime,
    row_payload: Mapping[str, Any] | None = None,
    record_id: UUID | None = None,
) -> SourceRecord:
    """The source record of an import row, from the ``source`` part of its payload
    (see :func:`source_payload`; ``row_payload``: the whole payload, which holds the
    values the part does not carry twice). Its id: the part's, else ``record_id``, else
    a new one (a batch written again after a crash draws it again)."""
    named = payload.get("record_id")
    if named is not None:
        record_id = UUID(named)
    return SourceRecord(
        id=uuid4() if record_id is None else record_id,
        source_system=payload["system"],
        source_id=payload["source_id"],
        golden_id=golden_id,
        origin=Origin.IMPORT,
        received=received_of(payload, row_payload),
        normalised=normalised,
        received_at=at,
        features=features if features is not None else payload.get("features"),
        missing=list(payload.get("missing") or []),
        warnings=list(payload.get("warnings") or []),
        job_id=job_id,
        file=payload.get("file"),
        rows=list(payload.get("rows") or []),
    )


def source_payload(
    *,
    system: str,
    source_id: str | None,
    received: Mapping[str, Any],
    rows: Sequence[int],
    file: str | None,
    missing: Sequence[str] = (),
    warnings: Sequence[Mapping[str, Any]] = (),
    known: SourceRecord | None = None,
    base: tuple[str, Mapping[str, Any]] | None = None,
    with_id: bool = False,
) -> dict[str, Any]:
    """What an import row's payload carries to keep its source record at writing
    (``known``: the stored record of the same source system and id, which it replaces).
    ``record_id``: the known record's id, or a new one when ``with_id`` (the caller
    names the record before it is written); otherwise :func:`import_source` draws it.

    ``base``: (name, values) of what the row's payload holds under that name already (its
    staged customer, its command): a received value that is the same there is not
    carried twice, only its key (``keys``: every received key, in order; see
    :func:`received_of`)."""
    part: dict[str, Any] = {
        "system": system,
        "source_id": source_id,
        "rows": list(rows),
        "file": file,
        "missing": list(missing),
        "warnings": [dict(w) for w in warnings],
    }
    if known is not None:
        part["record_id"] = str(known.id)
        part["known"] = True
    elif with_id:
        part["record_id"] = str(uuid4())
    if base is None:
        part["received"] = jsonable(dict(received))
        return part
    origin, values = base
    own: dict[str, Any] = {}
    for key, value in received.items():
        if key not in values or not _same(value, values[key]):
            own[str(key)] = jsonable(value)
    part["received"] = own
    part["received_from"] = origin
    part["keys"] = [str(k) for k in received]
    return part


def api_source(customer: Customer, received: Mapping[str, Any], at: datetime) -> list[SourceRecord]:
    """The source records of a customer created through the API with source references
    (one per reference; the request body is what was received)."""
    normalised = snapshot(customer)
    body = jsonable(dict(received))
    return [
        SourceRecord(
            id=uuid4(),
            source_system=ref.source_system,
            source_id=ref.source_id,
            golden_id=customer.id,
            origin=Origin.API,
            received=body,
            normalised=normalised,
            received_at=at,
        )
        for ref in customer.source_refs
    ]


def store(uow: UnitOfWork, records: Sequence[SourceRecord], known: Sequence[bool]) -> None:
    """Add new source records, rewrite the ones that arrived again."""
    new = [r for r, seen in zip(records, known, strict=True) if not seen]
    uow.sources.add_many(new)
    for record, seen in zip(records, known, strict=True):
        if seen:
            uow.sources.replace(record)


def provenance_of(uow: UnitOfWork, customer: Customer) -> dict[str, Any]:
    """The provenance of every field of a golden record (stored or derived)."""
    stored = uow.sources.provenance([customer.id]).get(customer.id)
    sources = uow.sources.for_golden([customer.id])
    return derive_provenance(snapshot(customer), stored, sources)


def consolidate_source(
    uow: UnitOfWork,
    current: Customer,
    parsed: Customer,
    command: Mapping[str, Any],
    source: SourceRecord,
    *,
    now: datetime,
    ctx: ParseContext,
    config: SurvivorshipConfig | None = None,
) -> Consolidation | None:
    """``current`` with what ``source`` may change of it (``services.sources.consolidate``)."""
    return consolidate(
        current,
        parsed,
        command,
        source,
        provenance=provenance_of(uow, current),
        config=config or load_survivorship(),
        now=now,
        ctx=ctx,
    )
