"""The import stage of an approved job: one transaction per batch.

A batch writes, together: the new customers (``uow.imports.add_customers``), the updated
ones, the incomplete drafts, their audit entries (``uow.audit.append_sealed``: chained as
they are written, the batch holds the chain's lock until it commits) and events
(``uow.outbox.add_bulk``), the report lines whose outcome changed since validation, and
the job's progress marker ``last_committed_batch``. A crash therefore loses at most the
batch in flight, which the next run writes again from the start: no record is lost or
written twice.

Since the review, the master may have moved on: references are checked again and
duplicates looked for again, per batch (batched queries). A record that now fails is
reported as failed (or skipped, for a duplicate with ``on_duplicate=skip``); with
``stop_on_first_error`` the batch is rolled back and the job stops.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from custmaster.domain.build import new_customer
from custmaster.domain.context import ParseContext, RefCheck, RefKind
from custmaster.domain.events import CloudEvent, customer_event
from custmaster.domain.model import Customer
from custmaster.domain.restore import customer_from_snapshot
from custmaster.domain.snapshot import diff, jsonable, snapshot
from custmaster.services.customers.common import check_references
from custmaster.services.dedup.index import refresh_match_keys
from custmaster.services.dedup.ports import IndexEntry, NewCluster
from custmaster.services.dedup.records import index_entry
from custmaster.services.imports.store import (
    Draft,
    ImportJob,
    OnDuplicate,
    Outcome,
    RowReport,
)
from custmaster.services.ports import AuditEntry, UnitOfWork
from custmaster.services.settings import ServiceSettings
from custmaster.services.sources.keep import (
    consolidate_source,
    import_source,
    received_of,
    store,
)
from custmaster.services.sources.pending import command_features, filled_command, pending_entry
from custmaster.services.sources.ports import SourceRecord

_DUPLICATE_SINCE = "a customer with the same key was created since the review"


class StopImport(Exception):
    """A record failed at import time and the job stops on the first error."""

    def __init__(self, seq: int, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"record {seq + 1} failed: {errors}")
        self.seq = seq
        self.errors = errors


@dataclass
class BatchOutcome:
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, outcome: Outcome) -> None:
        self.counts[outcome.value] = self.counts.get(outcome.value, 0) + 1


def _issue(field_path: str | None, code: str, message: str) -> dict[str, Any]:
    return {"field": field_path, "code": code, "message": message}


def _index_entry(payload: dict[str, Any] | None, customer: Customer) -> IndexEntry | None:
    """The new customer's match-index entry: ``services.dedup.records.index_entry``,
    from the features and keys validation computed of the same customer when the payload
    has them (payloads of older jobs do not)."""
    match = (payload or {}).get("match")
    if match is None:
        return index_entry(customer)
    if match["entry"] is None:
        return None
    return IndexEntry(
        customer_id=customer.id,
        number=customer.number,
        name=customer.name[:255],
        features=match["entry"]["features"],
        keys=[(key_type, value) for key_type, value in match["entry"]["keys"]],
    )


def _review_cluster(customer_id: UUID, review: dict[str, Any]) -> NewCluster:
    """The review cluster of a record whose exact keys were only evidence."""
    members = [str(customer_id), *review["members"]]
    pairs = review["pairs"]
    best = max((p["score"] for p in pairs), default=0.0)
    return NewCluster("review", best, members, pairs)


class _BatchWriter:
    def __init__(
        self, uow: UnitOfWork, job: ImportJob, settings: ServiceSettings, now: datetime
    ) -> None:
        self.uow, self.job, self.settings, self.now = uow, job, settings, now
        self.audit: list[AuditEntry] = []
        self.events: list[CloudEvent] = []
        self.result = BatchOutcome()
        self.sources: list[SourceRecord] = []
        self.known: list[bool] = []

    def _keep(
        self,
        row: RowReport,
        golden_id: UUID | None,
        normalised: dict[str, Any] | None = None,
        features: dict[str, Any] | None = None,
        record_id: UUID | None = None,
    ) -> SourceRecord | None:
        """Keep the row's source record (rows of jobs validated before source records
        existed carry none)."""
        assert row.payload is not None
        part = row.payload.get("source")
        if part is None:
            return None
        record = import_source(
            part,
            golden_id=golden_id,
            normalised=normalised,
            features=features,
            job_id=self.job.id,
            at=self.now,
            row_payload=row.payload,
            record_id=record_id,
        )
        self.sources.append(record)
        self.known.append(bool(part.get("known")))
        return record

    def _record(
        self, operation: str, customer_id: UUID, changes: list[dict[str, Any]], event: CloudEvent
    ) -> None:
        self.audit.append(
            AuditEntry(
                occurred_at=self.now,
                actor_id=self.job.submitted_by,
                actor_name=self.job.submitted_by_name,
                operation=operation,
                resource_type="customer",
                resource_id=str(customer_id),
                changes=changes,
                change_request_id=self.job.id,
            )
        )
        self.events.append(event)

    def _fail(self, row: RowReport, outcome: Outcome, errors: list[dict[str, Any]]) -> None:
        if outcome is Outcome.FAILED and self.job.options.stop_on_first_error:
            raise StopImport(row.seq, errors)
        self.uow.imports.set_outcome(self.job.id, row.seq, outcome, errors)
        self.result.add(outcome)

    def creates(self, rows: list[RowReport]) -> None:
        built: list[tuple[RowReport, Customer, dict[str, Any]]] = []
        checks: dict[int, list[RefCheck]] = {}
        # a batch names a few dozen distinct codes: one check each, looked up once
        distinct: dict[tuple[str, str, str], RefCheck] = {}
        for row in rows:
            assert row.payload is not None
            data = row.payload["customer"]
            built.append((row, customer_from_snapshot(data), data))
            row_checks = []
            for kind, code, path in row.payload["refs"]:
                check = distinct.get((kind, code, path))
                if check is None:
                    check = distinct[kind, code, path] = RefCheck(RefKind(kind), code, path)
                row_checks.append(check)
            checks[row.seq] = row_checks
        missing = set(self.uow.reference.missing(list(distinct.values())))
        existing = self.uow.imports.existing(
            [c.email.casefold() for _, c, _ in built],
            [c.tax_id for _, c, _ in built if c.tax_id],
            [(r.source_system, r.source_id) for _, c, _ in built for r in c.source_refs],
        )
        ready: list[tuple[RowReport, Customer, dict[str, Any]]] = []
        for row, customer, data in built:
            unknown = [c for c in checks[row.seq] if c in missing]
            if unknown:
                self._fail(
                    row,
                    Outcome.FAILED,
                    [
                        _issue(
                            c.path,
                            "unknown_reference",
                            f"no {c.kind.value.replace('_', ' ')} '{c.code}' exists (any more)",
                        )
                        for c in unknown
                    ],
                )
                continue
            taken = [
                (r.source_system, r.source_id) in existing.by_source_ref
                for r in customer.source_refs
            ]
            # a record queued for review shares its keys on purpose (keys are evidence)
            queued = row.payload is not None and "review" in row.payload
            if any(taken) or (
                not queued
                and (
                    customer.email.casefold() in existing.by_email
                    or (customer.tax_id and customer.tax_id in existing.by_tax_id)
                )
            ):
                problem = [_issue("source_refs", "duplicate", _DUPLICATE_SINCE)]
                skip = self.job.options.on_duplicate is OnDuplicate.SKIP
                self._fail(row, Outcome.SKIPPED if skip else Outcome.FAILED, problem)
                continue
            ready.append((row, customer, data))
        if not ready:
            return
        numbers = self.uow.customers.next_numbers(len(ready))
        stamp = self.now.isoformat()
        for (row, customer, data), value in zip(ready, numbers, strict=True):
            match = (row.payload or {}).get("match") or {}
            features = (match.get("entry") or {}).get("features")
            self._keep(row, customer.id, data, features)
            customer.number = self.settings.customer_number(value)
            customer.created_at = customer.updated_at = self.now
            after = dict(
                data, number=customer.number, created_at=stamp, updated_at=stamp, version=1
            )
            self._record(
                "create",
                customer.id,
                diff(None, after),
                customer_event(
                    "created",
                    customer.id,
                    self.now,
                    {"customer": after, "import_job": str(self.job.id)},
                ),
            )
            self.result.add(Outcome.CREATED)
        created = [c for _, c, _ in ready]
        self.uow.imports.add_customers(created)
        # the online matcher sees them at once (new ids: nothing to replace)
        entries = [_index_entry(row.payload, customer) for row, customer, _ in ready]
        self.uow.matching.add_entries([e for e in entries if e is not None])
        clusters = [
            _review_cluster(customer.id, row.payload["review"])
            for row, customer, _ in ready
            if row.payload and "review" in row.payload
        ]
        if clusters:
            self.uow.matching.add_clusters(None, self.now, clusters)

    def updates(self, rows: list[RowReport]) -> None:
        for row in rows:
            assert row.payload is not None and row.customer_id is not None
            command = row.payload["command"]
            current = self.uow.customers.get(row.customer_id, for_update=True)
            if current is None:
                gone = _issue(None, "not_found", "the customer was deleted since the review")
                self._fail(row, Outcome.FAILED, [gone])
                continue
            ctx = ParseContext()
            # an incomplete record (online match) lacks required fields: the golden's stay
            filled = filled_command(command, current)
            parsed = new_customer(filled, customer_id=uuid4(), number="", now=self.now, ctx=ctx)
            check_references(self.uow, ctx)
            merged = None
            consolidation = None
            source = None
            if parsed is not None and not ctx.errors:
                part = row.payload.get("source")
                if part is None:  # a job validated before source records existed
                    source = import_source(
                        {
                            "record_id": str(uuid4()),
                            "system": "import",
                            "source_id": None,
                            "received": command,
                        },
                        golden_id=current.id,
                        normalised=snapshot(parsed),
                        features=None,
                        job_id=self.job.id,
                        at=self.now,
                    )
                else:
                    normalised = None if part.get("missing") else snapshot(parsed)
                    source = import_source(
                        part,
                        golden_id=current.id,
                        normalised=normalised,
                        features=None,
                        job_id=self.job.id,
                        at=self.now,
                        row_payload=row.payload,
                    )
                consolidation = consolidate_source(
                    self.uow, current, parsed, command, source, now=self.now, ctx=ctx
                )
                merged = None if consolidation is None else consolidation.customer
            if merged is not None:
                for ref in set(merged.source_refs) - set(current.source_refs):
                    owner = self.uow.customers.by_source_ref(ref)
                    if owner is not None and owner != current.id:
                        ctx.errors.add("source_refs", "conflict", f"already points at {owner}")
            if merged is None or ctx.errors:
                self._fail(row, Outcome.FAILED, [e.as_dict() for e in ctx.errors.errors])
                continue
            assert consolidation is not None and source is not None
            if row.payload.get("source") is not None:
                self.sources.append(source)
                self.known.append(bool(row.payload["source"].get("known")))
                self.uow.sources.save_provenance(current.id, consolidation.provenance, self.now)
            before, after = snapshot(current), snapshot(merged)
            changes = diff(before, after)
            if not changes:
                self._fail(row, Outcome.SKIPPED, [])
                continue
            merged.version = current.version + 1
            after["version"] = merged.version
            self.uow.customers.update(current, merged)
            refresh_match_keys(self.uow, merged)
            self._record(
                "update",
                current.id,
                changes,
                customer_event(
                    "updated",
                    current.id,
                    self.now,
                    {"changes": changes, "customer": after, "import_job": str(self.job.id)},
                ),
            )
            self.result.add(Outcome.UPDATED)

    def links(self, rows: list[RowReport]) -> None:
        """Skipped records that joined an existing golden record without changing it:
        their source records are kept, attached to it."""
        for row in rows:
            if row.payload is not None and row.payload.get("link"):
                self._keep(row, UUID(row.payload["link"]))

    def drafts(self, rows: list[RowReport]) -> None:
        new: list[Draft] = []
        pending: list[IndexEntry] = []
        for row in rows:
            assert row.payload is not None
            command = row.payload["command"]
            refs = command.get("source_refs") or []
            draft = Draft(
                id=uuid4(),
                job_id=self.job.id,
                seq=row.seq,
                source_system=refs[0]["source_system"] if refs else None,
                source_id=refs[0]["source_id"] if refs else None,
                name=command.get("name") if isinstance(command.get("name"), str) else None,
                command=jsonable(command),
                missing=list(row.payload["missing"]),
                warnings=row.warnings,
                created_by=self.job.submitted_by,
                created_at=self.now,
                updated_at=self.now,
            )
            if "replace" in row.payload:
                self.uow.imports.replace_draft(UUID(row.payload["replace"]), draft)
            else:
                new.append(draft)
            self.result.add(Outcome.DRAFT)
            if row.payload.get("source") is not None:
                part = row.payload["source"]
                # its features name it (validated before ids were drawn here: the part's)
                record_id = UUID(part["record_id"]) if "record_id" in part else uuid4()
                # the values as received: a value dropped as invalid still counts as evidence
                received = received_of(part, row.payload) or command
                features = command_features(received, record_id)
                kept = self._keep(row, None, None, features, record_id)
                entry = None if kept is None else pending_entry(kept)
                if entry is not None:
                    pending.append(entry)
        self.uow.imports.add_drafts(new)
        # matched like any record, online and in batch, until it joins a golden record
        self.uow.matching.replace_entries(pending)

    def flush(self) -> None:
        store(self.uow, self.sources, self.known)
        # a pending (incomplete) record that arrived again and joined a golden record
        # leaves the match index (a no-op for records that were never pending)
        joined = [
            r.id
            for r, seen in zip(self.sources, self.known, strict=True)
            if seen and r.golden_id is not None
        ]
        if joined:
            self.uow.matching.remove_entries(joined)
        self.uow.audit.append_sealed(self.audit)
        self.uow.outbox.add_bulk(self.events)


def write_batch(
    uow: UnitOfWork, job: ImportJob, batch: int, settings: ServiceSettings, now: datetime
) -> BatchOutcome:
    """Write batch ``batch`` of an approved job (inside the caller's transaction)."""
    size = job.options.batch_size
    rows = uow.imports.rows(
        job.id,
        after_seq=batch * size - 1,
        until_seq=(batch + 1) * size - 1,
        outcomes=[Outcome.CREATED, Outcome.UPDATED, Outcome.DRAFT, Outcome.SKIPPED],
        with_payload=True,
    )
    writer = _BatchWriter(uow, job, settings, now)
    writer.creates([r for r in rows if r.outcome is Outcome.CREATED])
    writer.updates([r for r in rows if r.outcome is Outcome.UPDATED])
    writer.drafts([r for r in rows if r.outcome is Outcome.DRAFT])
    writer.links([r for r in rows if r.outcome is Outcome.SKIPPED])
    writer.flush()
    return writer.result
