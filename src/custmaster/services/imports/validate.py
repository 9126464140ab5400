"""The validation stage of an import job, one batch at a time.

Every record is parsed by the domain (``new_customer``: field rules and business rules),
its reference-data codes are checked for the whole batch in one call, duplicates are
looked for inside the file (the keys of earlier records live in ``import_keys``) and in
the master (one batched query per key kind), and warnings are collected. The outcome of
each record is planned here and written to the report; nothing touches the master.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from custmaster.domain.build import new_customer
from custmaster.domain.context import ParseContext, RefCheck
from custmaster.domain.errors import ChangeWarning
from custmaster.domain.model import MASTER_FIELDS, REQUIRED_FIELDS, Customer
from custmaster.domain.rules import credit_limit_warnings
from custmaster.domain.snapshot import diff, snapshot
from custmaster.matching.normalize import normalize_company_name
from custmaster.matching.record import MatchFeatures, from_customer_dict, prepare
from custmaster.services.dedup.online import current_model, match_features
from custmaster.services.dedup.records import (
    features_from_json,
    features_to_json,
    index_entry,
    index_keys,
    match_record,
)
from custmaster.services.governance.access import touched_entities
from custmaster.services.imports.records import ImportRecord
from custmaster.services.imports.store import (
    ExistingMatches,
    ImportJob,
    InvalidField,
    OnDuplicate,
    Outcome,
    RowReport,
)
from custmaster.services.ports import UnitOfWork
from custmaster.services.settings import ServiceSettings
from custmaster.services.sources.evidence import disagreements, review_pair
from custmaster.services.sources.keep import consolidate_source, import_source, source_payload
from custmaster.services.sources.pending import PENDING_PREFIX, command_features, filled_command
from custmaster.services.sources.ports import SourceRecord

_KEY_FIELDS = {"s": "source_refs", "e": "email", "t": "tax_id"}
_KEY_LABELS = {"s": "source reference", "e": "e-mail", "t": "tax id"}


def _issue(field_path: str | None, code: str, message: str) -> dict[str, Any]:
    return {"field": field_path, "code": code, "message": message}


def _warning(w: ChangeWarning) -> dict[str, Any]:
    return w.as_dict()


def name_key(name: str) -> str:
    """The normalised name the similar-name warning compares (as the master does:
    ``persistence.customer_rows.name_key``, the stored ``customers.name_key``)."""
    return normalize_company_name(name).core or name.casefold()


@dataclass
class PreparedRecord:
    """A record parsed by the domain, with its duplicate keys: everything of its
    validation that needs no database (see :func:`prepare_record`)."""

    seq: int
    record: ImportRecord
    customer: Customer | None
    ctx: ParseContext
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    #: of a parsed customer without errors: its snapshot and its match-index entry
    #: (``_match_payload``), both pure, computed here to spare the planner and the writer
    snapshot: dict[str, Any] | None = None
    match: dict[str, Any] | None = None
    name_key: str | None = None
    #: the values as received, when invalid ones were set aside (else ``record.command``)
    received: dict[str, Any] | None = None

    @property
    def refs(self) -> list[tuple[str, str]]:
        if self.customer is not None:
            return [(r.source_system, r.source_id) for r in self.customer.source_refs]
        return [(r.source_system, r.source_id) for r in self.record.source_refs]


#: Fields whose invalid value ``on_invalid_field=drop|draft`` may set aside: top-level
#: master fields but the kind, and the addresses (an invalid address drops the record's
#: addresses; contacts, tiers, tax profiles and references are checked as a whole).
DROPPABLE = (frozenset(MASTER_FIELDS) - {"kind"}) | {"addresses"}


def _top(path: str | None) -> str:
    """``addresses[0].lines`` -> ``addresses``; other paths as they are."""
    return "addresses" if path and path.startswith("addresses[") else (path or "")


#: Warnings that say a value is invalid although it parses (a number in no assigned range).
INVALID_WARNINGS = frozenset({"phone_unassigned"})


def _droppable(entry: PreparedRecord) -> tuple[set[str], dict[str, str]] | None:
    """The fields to set aside (and why) when every error is a droppable field's and
    there is one at least (an error, or a warning of :data:`INVALID_WARNINGS`)."""
    problems = {_top(e["field"]): e["message"] for e in entry.errors}
    if not set(problems) <= DROPPABLE:
        return None
    for warning in entry.warnings:
        if warning["code"] in INVALID_WARNINGS and warning["field"] in DROPPABLE:
            problems.setdefault(warning["field"], warning["message"])
    return (set(problems), problems) if problems else None


def _name_missing(entry: PreparedRecord) -> None:
    """A row that fails also names the required fields it lacks, so that one report
    lists everything to fix (a dropped invalid value can leave a required field empty)."""
    named = {e["field"] for e in entry.errors}
    entry.errors.extend(
        _issue(name, "required", "is required and missing in the source")
        for name in sorted(entry.record.missing_required)
        if name not in named
    )


def prepare_record(
    seq: int,
    record: ImportRecord,
    now: datetime,
    *,
    match: bool = True,
    on_invalid: InvalidField = InvalidField.DROP,
) -> PreparedRecord:
    """Parse one record (field rules, business rules, warnings) and derive its duplicate
    keys. Pure: may run in a worker process (see ``services.imports.worker``), which
    leaves the match-index entry to the receiving process (``match=False``, then
    :func:`add_match`). An invalid value of a top-level field (a bad tax-id checksum, an
    unassigned phone number) is dropped with a warning (``on_invalid=drop``, the row
    lands and matches without it), makes the record a draft (``draft``) or rejects the
    row (``reject``)."""
    entry = _parse(seq, record, now)
    found = None if on_invalid is InvalidField.REJECT else _droppable(entry)
    if found is not None:
        dropped, problems = found
        received = record.command
        record.command = {k: v for k, v in received.items() if k not in dropped}
        if on_invalid is InvalidField.DRAFT:
            record.missing_required = sorted({*record.missing_required, *dropped})
        else:
            required = set(REQUIRED_FIELDS) & dropped
            record.missing_required = sorted({*record.missing_required, *required})
        record.errors = [i for i in record.errors if i.field not in dropped]
        entry = _parse(seq, record, now)
        if on_invalid is InvalidField.DRAFT:
            entry.customer = None  # a draft for a steward to complete
        entry.received = received
        action = "kept as a draft" if on_invalid is InvalidField.DRAFT else "dropped"
        code = f"invalid_field_{on_invalid.value}"
        entry.warnings.extend(
            _issue(name, code, f"{problems[name]}: the value was {action}")
            for name in sorted(dropped)
        )
    entry.keys = _keys(entry)
    customer = entry.customer
    if customer is not None and not entry.errors:
        entry.snapshot = snapshot(customer)
        if match:
            entry.match = _match_payload(customer, entry.received, record.command)
        entry.name_key = name_key(customer.name)
    return entry


def _parse(seq: int, record: ImportRecord, now: datetime) -> PreparedRecord:
    ctx = ParseContext()
    customer = new_customer(record.command, customer_id=uuid4(), number="", now=now, ctx=ctx)
    entry = PreparedRecord(seq, record, customer, ctx)
    entry.errors = [i.as_dict() for i in record.errors]
    entry.warnings = [i.as_dict() for i in record.warnings] + [_warning(w) for w in ctx.warnings]
    missing = set(record.missing_required)
    for error in ctx.errors.errors:
        if error.code == "required" and error.field in missing:
            continue
        entry.errors.append(error.as_dict())
    return entry


def add_match(entry: PreparedRecord) -> None:
    """Complete a record prepared with ``match=False``: its match-index entry, as
    :func:`prepare_record` would have made it."""
    if entry.snapshot is not None and entry.match is None and entry.customer is not None:
        entry.match = _match_payload(entry.customer, entry.received, entry.record.command)


def phone_as_given(customer: Customer, command: dict[str, Any]) -> bool:
    """Whether the customer's phone number is the very text its create-command gave: the
    domain parsed that text (a ``+`` number: whatever the region) and found it possible
    and its E.164 form the same text, which is then what the matcher's
    ``normalize_phone`` makes of it too (see ``MatchRecord.phone_e164``)."""
    return customer.phone is not None and command.get("phone") == customer.phone


def _match_payload(
    customer: Customer,
    received: dict[str, Any] | None = None,
    command: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What the writer's match-index entry of the new customer is made of (features and
    keys depend on the customer's fields only; number and name are added at writing);
    ``{"entry": None}`` when the customer is no match target. ``received``: the values as
    received when invalid ones were dropped: they still count as evidence for matching
    (normalised by the matcher), so a dropped tax id or phone number still finds its
    duplicates. ``command``: what the customer was parsed from (its phone number, given
    in E.164 form, is not parsed again: :func:`phone_as_given`)."""
    entry = index_entry(
        customer, phone_e164=command is not None and phone_as_given(customer, command)
    )
    if entry is None:
        return {"entry": None}
    if received is not None:
        features = prepare(from_customer_dict({**received, "id": str(customer.id)}))
        return {
            "entry": {
                "features": features_to_json(features),
                "keys": [list(k) for k in index_keys(features)],
            }
        }
    return {"entry": {"features": entry.features, "keys": [list(k) for k in entry.keys]}}


def _keys(entry: PreparedRecord) -> list[str]:
    keys = [f"s:{system}\x1f{source_id}" for system, source_id in entry.refs]
    if entry.customer is not None:
        keys.append(f"e:{entry.customer.email.casefold()}")
        if entry.customer.tax_id:
            keys.append(f"t:{entry.customer.tax_id}")
    return [k[:512] for k in keys]


def _describe(key: str) -> tuple[str, str]:
    kind, value = key[0], key[2:].replace("\x1f", "/")
    return _KEY_FIELDS[kind], f"{_KEY_LABELS[kind]} {value}"


def _db_hits(entry: PreparedRecord, existing: ExistingMatches) -> dict[UUID, tuple[str, bool]]:
    """The existing customers the entry shares a key with: what it shares, and whether
    it is a source reference (identity) rather than an e-mail or tax id (evidence)."""
    found: dict[UUID, tuple[str, bool]] = {}
    for ref in entry.refs:
        if ref in existing.by_source_ref:
            owner = existing.by_source_ref[ref]
            found.setdefault(owner, (f"source reference {ref[0]}/{ref[1]}", True))
    customer = entry.customer
    if customer is not None:
        by_mail = existing.by_email.get(customer.email.casefold())
        if by_mail is not None:
            found.setdefault(by_mail, (f"e-mail {customer.email}", False))
        if customer.tax_id and customer.tax_id in existing.by_tax_id:
            found.setdefault(
                existing.by_tax_id[customer.tax_id], (f"tax id {customer.tax_id}", False)
            )
    return found


def _db_match(entry: PreparedRecord, existing: ExistingMatches) -> tuple[set[UUID], str | None]:
    """The existing customers the entry shares a key with, and what the first is."""
    found: dict[UUID, str] = {}
    for ref in entry.refs:
        if ref in existing.by_source_ref:
            found.setdefault(existing.by_source_ref[ref], f"source reference {ref[0]}/{ref[1]}")
    customer = entry.customer
    if customer is not None:
        owner = existing.by_email.get(customer.email.casefold())
        if owner is not None:
            found.setdefault(owner, f"e-mail {customer.email}")
        if customer.tax_id and customer.tax_id in existing.by_tax_id:
            found.setdefault(existing.by_tax_id[customer.tax_id], f"tax id {customer.tax_id}")
    first = next(iter(found.values()), None)
    return set(found), first


@dataclass
class BatchResult:
    rows: list[RowReport]
    keys: dict[str, int]
    stopped: bool = False
    #: every legal entity the batch touches (see :func:`batch_entities`)
    entities: set[str] = field(default_factory=set)


def _named_entities(entry: PreparedRecord) -> set[str]:
    """The legal entities a record names: its owning entity and overrides (as parsed, or
    as received when it did not parse)."""
    if entry.customer is not None:
        named = set(entry.customer.overrides)
        if entry.customer.owning_entity:
            named.add(entry.customer.owning_entity)
        return named
    command = entry.record.command if entry.received is None else entry.received
    return set(touched_entities(command))


def batch_entities(
    uow: UnitOfWork, entries: list[PreparedRecord], rows: list[RowReport]
) -> set[str]:
    """Every legal entity a batch touches: those its records name (failed ones too: the
    report shows what they hold) and the owning entities of the existing customers its
    records update, join or are queued for review with (one query)."""
    found: set[str] = set()
    made: set[UUID] = set()
    for entry in entries:
        found |= _named_entities(entry)
        if entry.customer is not None:
            made.add(entry.customer.id)
    others: set[UUID] = set()
    for row in rows:
        if row.customer_id is not None and row.customer_id not in made:
            others.add(row.customer_id)
        review = (row.payload or {}).get("review") or {}
        others.update(UUID(m) for m in review.get("members", ()))
        if (row.payload or {}).get("link"):
            others.add(UUID(row.payload["link"]))  # type: ignore[index]
    others -= made
    if others:
        found.update(e for e in uow.imports.owning_entities(sorted(others)).values() if e)
    return found


class _Planner:
    def __init__(
        self, uow: UnitOfWork, job: ImportJob, settings: ServiceSettings, now: datetime
    ) -> None:
        self.uow, self.job, self.settings, self.now = uow, job, settings, now
        self.options = job.options
        self.new_keys: dict[str, int] = {}
        self.seen: dict[str, int] = {}
        self.known: dict[tuple[str, str], SourceRecord] = {}
        #: the golden records this job's created records become: seq -> (id, features)
        self.planned: dict[int, tuple[UUID, dict[str, Any] | None]] = {}
        self.file = job.files[0]["name"] if job.files else None

    def _known(self, entry: PreparedRecord) -> SourceRecord | None:
        return next((self.known[r] for r in entry.refs if r in self.known), None)

    def _source(
        self,
        entry: PreparedRecord,
        missing: list[str] | None = None,
        *,
        features: bool = False,
        base: tuple[str, dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """The payload part that keeps the record's source record at writing (with its
        match features when the row does not carry them already; ``base``: what the
        payload holds already, under which name, that the received values are not
        carried twice: see ``source_payload``)."""
        record = entry.record
        # features made of the values as received name the record: it needs its id now
        named = features and (entry.match or {}).get("entry") is None and entry.customer is None
        part = source_payload(
            system=record.source_system,
            source_id=record.source_id,
            received=record.command if entry.received is None else entry.received,
            rows=record.row_numbers,
            file=self.file,
            missing=missing or [],
            warnings=entry.warnings,
            known=self._known(entry),
            base=base,
            with_id=named,
        )
        if features:
            match = (entry.match or {}).get("entry")
            if match is not None:
                part["features"] = match["features"]
            elif entry.customer is None:
                received = record.command if entry.received is None else entry.received
                part["features"] = command_features(received, UUID(part["record_id"]))
        return part

    def _link(
        self, entry: PreparedRecord, owner: UUID | None, missing: list[str] | None = None
    ) -> dict[str, Any] | None:
        """The payload of a record that joins ``owner`` without changing it: its source
        record is kept (``None`` when it arrived again unchanged: nothing new to keep)."""
        if owner is None:
            return None
        known = self._known(entry)
        if known is not None and known.golden_id == owner:
            return None
        return {"source": self._source(entry, missing, features=True), "link": str(owner)}

    def _duplicate(
        self,
        entry: PreparedRecord,
        code: str,
        message: str,
        field_path: str,
        owner: UUID | None = None,
        missing: list[str] | None = None,
    ) -> RowReport:
        if self.options.on_duplicate is OnDuplicate.ERROR:
            entry.errors.append(_issue(field_path, code, message))
            return self._row(entry, Outcome.FAILED)
        entry.warnings.append(_issue(field_path, code, message))
        if self.options.on_duplicate is OnDuplicate.UPDATE and code == "duplicate_in_file":
            entry.errors.append(
                _issue(field_path, code, "a record cannot update one created by the same file")
            )
            return self._row(entry, Outcome.FAILED)
        return self._row(entry, Outcome.SKIPPED, owner, self._link(entry, owner, missing))

    def _row(
        self,
        entry: PreparedRecord,
        outcome: Outcome,
        customer_id: UUID | None = None,
        payload: dict[str, Any] | None = None,
    ) -> RowReport:
        return RowReport(
            seq=entry.seq,
            row_numbers=list(entry.record.row_numbers),
            source_id=entry.record.source_id,
            outcome=outcome,
            customer_id=customer_id,
            errors=entry.errors,
            warnings=entry.warnings,
            payload=None if self.options.validate_only else payload,
        )

    def _in_file(self, entry: PreparedRecord) -> RowReport | None:
        for key in entry.keys:
            earlier = self.seen.get(key)
            if earlier is not None:
                field_path, what = _describe(key)
                return self._duplicate(
                    entry,
                    "duplicate_in_file",
                    f"same {what} as record {earlier + 1} of this file",
                    field_path,
                )
        return None

    def _remember(self, entry: PreparedRecord) -> None:
        for key in entry.keys:
            if key not in self.seen:
                self.seen[key] = entry.seq
                self.new_keys[key] = entry.seq

    def _incomplete(
        self, entry: PreparedRecord, existing: ExistingMatches, drafts: dict[Any, UUID]
    ) -> RowReport:
        missing = sorted(entry.record.missing_required)
        duplicate = self._in_file(entry)
        if duplicate is not None:
            return duplicate
        owners, what = _db_match(entry, existing)
        if not owners:
            found = self._online(entry)
            if found is not None:
                owners, what = {found[0]}, f"match probability {found[1]:.3f} (incomplete record)"
        if len(owners) == 1:
            (owner,) = owners
            message = f"customer {owner} has the {what}"
            if self.options.on_duplicate is OnDuplicate.UPDATE:
                self._remember(entry)
                return self._update(entry, owner, message, missing)
            return self._duplicate(entry, "duplicate", message, "source_refs", owner, missing)
        if owners:
            return self._duplicate(
                entry,
                "ambiguous_duplicate",
                f"matches {len(owners)} existing customers ({what}, ...)",
                "source_refs",
            )
        if not self.options.keep_incomplete_as_drafts:
            entry.errors.extend(
                _issue(name, "required", "is required and missing in the source")
                for name in missing
            )
            return self._row(entry, Outcome.FAILED)
        self._remember(entry)
        payload: dict[str, Any] = {"command": entry.record.command, "missing": missing}
        known = next((drafts[ref] for ref in entry.refs if ref in drafts), None)
        if known is not None:
            if self.options.on_duplicate is not OnDuplicate.UPDATE:
                return self._duplicate(
                    entry,
                    "duplicate_draft",
                    f"draft {known} already holds this record",
                    "source_refs",
                )
            payload["replace"] = str(known)
        entry.warnings.append(
            _issue(None, "incomplete", f"kept as a draft: {', '.join(missing)} missing")
        )
        payload["source"] = self._source(entry, missing, base=("command", entry.record.command))
        return self._row(entry, Outcome.DRAFT, payload=payload)

    def _online(self, entry: PreparedRecord) -> tuple[UUID, float] | None:
        """The golden record an incomplete record matches at the auto-merge threshold
        (online matching on the match index), with the probability."""
        model = current_model(self.uow)
        features = prepare(from_customer_dict(dict(entry.record.command)))
        found = match_features(
            self.uow, features, model=model, limit=3, min_probability=model.thresholds.auto_merge
        )
        for candidate in found:
            if not candidate.number.startswith(PENDING_PREFIX):
                return candidate.customer_id, candidate.result.probability
        return None

    def _complete(self, entry: PreparedRecord, existing: ExistingMatches) -> RowReport:
        customer = entry.customer
        assert customer is not None
        earlier = self._in_file_hit(entry)
        if earlier is not None:
            return self._in_file_match(entry, *earlier)
        hits = _db_hits(entry, existing)
        by_ref = [owner for owner, (_, ref) in hits.items() if ref]
        if by_ref:  # the same source record arrived again: identity
            owner = by_ref[0]
            return self._matched(entry, owner, f"customer {owner} has the {hits[owner][0]}")
        if hits and self.options.on_duplicate is OnDuplicate.ERROR:
            owner, (what, _) = next(iter(hits.items()))
            return self._duplicate(
                entry, "duplicate", f"customer {owner} has the {what}", "source_refs"
            )
        if len(hits) > 1:
            what = ", ".join(f"customer {o} the {w}" for o, (w, _) in hits.items())
            return self._review(
                entry, list(hits), {}, f"its keys point at {len(hits)} customers ({what})"
            )
        if hits:
            ((owner, (what, _)),) = hits.items()
            message = f"customer {owner} has the {what}"
            if self.options.on_duplicate is OnDuplicate.REVIEW:
                return self._review(entry, [owner], {}, message)
            golden = self._owner_features([owner]).get(owner)
            reasons = [] if golden is None else disagreements(self._features(entry), golden)
            if reasons:
                return self._review(entry, [owner], {owner: reasons}, message)
            return self._matched(entry, owner, message)
        self._remember(entry)
        return self._row(entry, Outcome.CREATED, customer.id, self._create_payload(entry))

    def _create_payload(self, entry: PreparedRecord) -> dict[str, Any]:
        customer = entry.customer
        assert customer is not None
        staged = snapshot(customer) if entry.snapshot is None else entry.snapshot
        payload = {
            "customer": staged,
            "refs": [[r.kind.value, r.code, r.path] for r in entry.ctx.refs],
            "source": self._source(entry, base=("customer", staged)),
        }
        if entry.match is not None:
            payload["match"] = entry.match
        if entry.match is not None and entry.match.get("entry") is not None:
            self.planned[entry.seq] = (customer.id, entry.match["entry"]["features"])
        else:
            self.planned[entry.seq] = (customer.id, None)
        return payload

    def _matched(self, entry: PreparedRecord, owner: UUID, message: str) -> RowReport:
        """A record that is the golden record ``owner``: skipped (its source record kept)
        or consolidated into it, per ``on_duplicate``."""
        if self.options.on_duplicate not in (OnDuplicate.UPDATE, OnDuplicate.REVIEW):
            return self._duplicate(entry, "duplicate", message, "source_refs", owner)
        self._remember(entry)
        return self._update(entry, owner, message)

    def _features(self, entry: PreparedRecord) -> MatchFeatures:
        assert entry.customer is not None
        match = entry.match or {}
        if match.get("entry") is not None:
            return features_from_json({**match["entry"]["features"], "id": str(entry.customer.id)})
        return prepare(match_record(entry.customer))

    def _owner_features(self, owners: list[UUID]) -> dict[UUID, MatchFeatures]:
        found: dict[UUID, MatchFeatures] = {}
        for owner in owners:
            planned = next((f for cid, f in self.planned.values() if cid == owner), None)
            if planned is not None:
                found[owner] = features_from_json({**planned, "id": str(owner)})
        rest = [o for o in owners if o not in found]
        for record in self.uow.matching.records(rest) if rest else []:
            found[record.customer_id] = features_from_json(
                {**record.features, "id": str(record.customer_id)}
            )
        return found

    def _review(
        self,
        entry: PreparedRecord,
        others: list[UUID],
        reasons: dict[UUID, list[str]],
        message: str,
    ) -> RowReport:
        """Exact keys are evidence: the record lands as its own golden record and a review
        cluster with the others is queued, with the explanation."""
        customer = entry.customer
        assert customer is not None
        self._remember(entry)
        mine = self._features(entry)
        model = current_model(self.uow)
        golden = self._owner_features(others)
        pairs = [
            review_pair(mine, golden[o], model, reasons.get(o, []), message)
            for o in others
            if o in golden
        ]
        why = sorted({r for rs in reasons.values() for r in rs})
        entry.warnings.append(
            _issue(
                "source_refs",
                "review",
                f"{message}{': ' + '; '.join(why) if why else ''}; created as its own record and "
                "queued for review",
            )
        )
        payload = self._create_payload(entry)
        payload["review"] = {"members": [str(o) for o in others], "pairs": pairs}
        return self._row(entry, Outcome.CREATED, customer.id, payload)

    def _earlier(self, seq: int) -> tuple[UUID | None, dict[str, Any] | None]:
        """The golden record an earlier record of this file became, with its features."""
        if seq in self.planned:
            return self.planned[seq]
        rows = self.uow.imports.rows(
            self.job.id, after_seq=seq - 1, until_seq=seq, with_payload=True
        )
        if not rows or rows[0].customer_id is None:
            return None, None
        entry = ((rows[0].payload or {}).get("match") or {}).get("entry")
        return rows[0].customer_id, None if entry is None else entry["features"]

    def _in_file_hit(self, entry: PreparedRecord) -> tuple[int, str] | None:
        for key in entry.keys:
            earlier = self.seen.get(key)
            if earlier is not None:
                return earlier, key
        return None

    def _in_file_match(self, entry: PreparedRecord, earlier: int, key: str) -> RowReport:
        """Rows of one file may match each other: a later row is matched with the golden
        record an earlier one makes (or updated), like a record of the master."""
        field_path, what = _describe(key)
        message = f"same {what} as record {earlier + 1} of this file"
        target, features = self._earlier(earlier)
        if target is None or self.options.on_duplicate is OnDuplicate.ERROR:
            return self._duplicate(entry, "duplicate_in_file", message, field_path)
        reasons: list[str] = []
        if not key.startswith("s:") and features is not None:
            golden = features_from_json({**features, "id": str(target)})
            reasons = disagreements(self._features(entry), golden)
        if reasons or (
            self.options.on_duplicate is OnDuplicate.REVIEW and not key.startswith("s:")
        ):
            return self._review(entry, [target], {target: reasons}, message)
        if self.options.on_duplicate is OnDuplicate.SKIP:
            entry.warnings.append(_issue(field_path, "duplicate_in_file", message))
            return self._row(entry, Outcome.SKIPPED, target, self._link(entry, target))
        self._remember(entry)
        entry.warnings.append(_issue(field_path, "duplicate_in_file", message))
        command = entry.record.command
        payload = {
            "command": command,
            "source": self._source(entry, features=True, base=("command", command)),
        }
        return self._row(entry, Outcome.UPDATED, target, payload)

    def _update(
        self, entry: PreparedRecord, owner: UUID, message: str, missing: list[str] | None = None
    ) -> RowReport:
        current = self.uow.customers.get(owner)
        assert current is not None
        ctx = ParseContext()
        parsed = entry.customer
        if parsed is None:  # an incomplete record: what it lacks stays the golden record's
            command = filled_command(entry.record.command, current)
            parsed = new_customer(command, customer_id=uuid4(), number="", now=self.now, ctx=ctx)
            if parsed is None:
                entry.errors.extend(e.as_dict() for e in ctx.errors.errors)
                return self._row(entry, Outcome.FAILED, owner)
        source = import_source(
            self._source(entry, missing),
            golden_id=owner,
            normalised=entry.snapshot,
            features=None,
            job_id=self.job.id,
            at=self.now,
        )
        result = consolidate_source(
            self.uow, current, parsed, entry.record.command, source, now=self.now, ctx=ctx
        )
        if result is None:
            entry.errors.extend(e.as_dict() for e in ctx.errors.errors)
            return self._row(entry, Outcome.FAILED, owner)
        for decision in result.decisions:
            if not decision["taken"]:
                held = decision["held_by"] or "a steward"
                entry.warnings.append(
                    _issue(
                        decision["field"],
                        "value_kept",
                        f"kept the value {held} set ({decision['rule']})",
                    )
                )
        if not diff(snapshot(current), snapshot(result.customer)):
            entry.warnings.append(_issue(None, "unchanged", f"{message}; nothing to change"))
            return self._row(entry, Outcome.SKIPPED, owner, self._link(entry, owner, missing))
        entry.warnings.append(_issue(None, "duplicate", message))
        command = entry.record.command
        payload = {
            "command": command,
            "source": self._source(entry, missing, features=True, base=("command", command)),
        }
        return self._row(entry, Outcome.UPDATED, owner, payload)

    def _warn_names(self, entries: list[PreparedRecord]) -> None:
        named = [e for e in entries if e.customer is not None]
        similar = self.uow.imports.similar_names(
            [e.customer.name for e in named if e.customer],
            keys={e.customer.name: e.name_key for e in named if e.customer and e.name_key},
        )
        for entry in named:
            assert entry.customer is not None
            for other in similar.get(entry.customer.name, []):
                entry.warnings.append(
                    _issue(
                        "name",
                        "similar_customer",
                        f"{other.number} '{other.name}' has a very similar name",
                    )
                )
            entry.warnings.extend(
                _warning(w)
                for w in credit_limit_warnings(entry.customer, self.settings.credit_limit_warning)
            )

    def plan(self, entries: list[PreparedRecord]) -> BatchResult:
        self._check_references(entries)
        all_keys = [k for e in entries if not e.errors for k in e.keys]
        self.seen = self.uow.imports.seen_keys(self.job.id, all_keys)
        candidates = [e for e in entries if not e.errors]
        if not self.options.validate_only:
            self.known = self.uow.sources.by_refs([ref for e in candidates for ref in e.refs])
        existing = self.uow.imports.existing(
            [e.customer.email.casefold() for e in candidates if e.customer],
            [e.customer.tax_id for e in candidates if e.customer and e.customer.tax_id],
            [ref for e in candidates for ref in e.refs],
        )
        drafts = self.uow.imports.drafts_by_source(
            [ref for e in candidates if e.customer is None for ref in e.refs]
        )
        self._warn_names(candidates)
        self._warn_names_in_file(candidates)
        rows: list[RowReport] = []
        for entry in entries:
            if entry.errors:
                _name_missing(entry)
                row = self._row(entry, Outcome.FAILED)
            elif entry.customer is None:
                row = self._incomplete(entry, existing, drafts)
            else:
                row = self._complete(entry, existing)
            rows.append(row)
            if row.outcome is Outcome.FAILED and self.options.stop_on_first_error:
                touched = batch_entities(self.uow, entries[: len(rows)], rows)
                return BatchResult(rows, self.new_keys, stopped=True, entities=touched)
        return BatchResult(rows, self.new_keys, entities=batch_entities(self.uow, entries, rows))

    def _warn_names_in_file(self, entries: list[PreparedRecord]) -> None:
        keyed = [
            (e, "n:" + (e.name_key or name_key(e.customer.name))[:500])
            for e in entries
            if e.customer
        ]
        earlier = self.uow.imports.seen_keys(self.job.id, [k for _, k in keyed])
        for entry, key in keyed:
            first = earlier.get(key)
            if first is not None and first != entry.seq:
                entry.warnings.append(
                    _issue(
                        "name",
                        "similar_in_file",
                        f"record {first + 1} of this file has a very similar name",
                    )
                )
            else:
                earlier[key] = entry.seq
                self.new_keys[key] = entry.seq

    def _check_references(self, entries: list[PreparedRecord]) -> None:
        checks: list[RefCheck] = [r for e in entries for r in e.ctx.refs]
        if not checks:
            return
        missing = set(self.uow.reference.missing(checks))
        for entry in entries:
            if not any(r in missing for r in entry.ctx.refs):
                continue
            for check in entry.ctx.refs:
                if check in missing:
                    label = check.kind.value.replace("_", " ")
                    entry.errors.append(
                        _issue(check.path, "unknown_reference", f"no {label} '{check.code}' exists")
                    )


def validate_batch(
    uow: UnitOfWork,
    job: ImportJob,
    entries: list[PreparedRecord],
    settings: ServiceSettings,
    now: datetime,
) -> BatchResult:
    """Plan the outcome of each record of one batch, prepared by :func:`prepare_record`
    (see the module docstring)."""
    return _Planner(uow, job, settings, now).plan(entries)
