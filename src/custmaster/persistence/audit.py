"""The append-only, hash-chained audit log.

Each entry's hash covers its content and the previous entry's hash
(``custmaster.domain.audit_chain``). A writer appends its entries unsealed (``chain_seq``,
``hash`` and ``prev_hash`` NULL) without waiting for any other writer; sealing chains them
afterwards. One sealer at a time (an advisory lock on PostgreSQL, the write lock on
SQLite) reads the chain's tail, the sealed entry with the highest ``chain_seq``, and
appends every committed unsealed entry after it (in id order): it numbers them on from the
tail and hashes each with the one before. The chain's order is the order of sealing, kept
in ``chain_seq``; an entry that commits late is simply sealed later. The database lets an
entry be sealed once and refuses every other change (``persistence.audit_guard``).

Sealing runs right after each writing unit of work commits (:class:`AuditSealer`, one
per engine and process), or, in a serving process, on a background thread a fraction of
a second later, many entries in one pass (:meth:`AuditSealer.deferred`); and before
``custmaster audit verify`` checks the chain. A bulk writer (an import batch) instead
appends its entries sealed (:meth:`SqlAuditLog.append_sealed`): it holds the chain's lock
until its transaction ends and hashes its entries as it writes them, with no read-back
and no UPDATE.

With an audit key (:func:`use_audit_key`, from ``CUSTMASTER_AUDIT_KEY_FILE``) every writer
signs each entry it appends (``signature``, ``domain.audit_signing``); verification then
checks the signatures and the published checkpoints of the chain head besides the chain.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import weakref
from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Row,
    bindparam,
    func,
    insert,
    select,
    text,
    update,
)

from custmaster.domain.audit_chain import (
    GENESIS_HASH,
    ChainLink,
    VerifyResult,
    _plain,
    canonical_text,
    entry_hash,
    text_hash,
)
from custmaster.domain.audit_chain import verify_chain as verify_links
from custmaster.domain.audit_signing import (
    CHECKPOINT_EVENT_TYPE,
    AuditKey,
    AuditReport,
    Checkpoint,
    SignedLink,
    verify_signed_chain,
)
from custmaster.persistence.bulk import JsonText, insert_rows
from custmaster.persistence.engine import describe_unavailable, is_unavailable
from custmaster.persistence.tables import audit_log, outbox
from custmaster.services.ports import AuditEntry

_CHAIN_LOCK = 0x637573746D617374  # "custmast": one advisory lock for the audit chain


#: what an entry's hash covers: its content columns (an ``AuditEntry``'s fields but the id)
_CONTENT_FIELDS = (
    "occurred_at",
    "actor_id",
    "actor_name",
    "operation",
    "resource_type",
    "resource_id",
    "change_request_id",
    "changes",
)


def _content(values: Mapping[Any, Any]) -> dict[str, Any]:
    return {name: values[name] for name in _CONTENT_FIELDS}


_NATIVE = (str, int, float, bool, type(None))


def _fast_plain(value: Any) -> Any:
    """What ``audit_chain._plain`` returns, faster for the JSON-native values a change
    list is mostly made of; anything else goes to ``_plain`` itself."""
    kind = type(value)
    if kind in _NATIVE:
        return value
    if kind is list:
        return [_fast_plain(v) for v in value]
    if kind is dict and all(type(k) is str for k in value):
        return {k: _fast_plain(v) for k, v in value.items()}
    return _plain(value)


def _changes_default(value: Any) -> Any:
    """The JSON encoder's fallback for what is not JSON-native: ``audit_chain._plain``."""
    return _plain(value)


#: ``canonical_text`` with ``_plain`` as the fallback for values that are not JSON-native
#: (the C encoder walks the value once; only the odd UUID, date or Decimal reaches Python)
_CANONICAL = json.JSONEncoder(
    sort_keys=True,
    separators=(",", ":"),
    ensure_ascii=False,
    allow_nan=False,
    default=_changes_default,
)


def _canonical_changes(changes: Any) -> str:
    """``canonical_text(_fast_plain(changes))`` for a change list (snapshots' diffs:
    dicts with string keys, lists, JSON scalars): the same text in one pass of the C
    encoder, without building the plain copy first. A string subclass is written as its
    characters (``_plain`` would call its ``str``; changes hold none)."""
    return _CANONICAL.encode(changes)


def _hash(content: dict[str, Any], previous_hash: str) -> str:
    """``audit_chain.entry_hash`` (identical digest; the chain's definition stays there)."""
    return text_hash(canonical_text(_fast_plain(content)), previous_hash)


#: the content's keys in canonical (sorted) order
_CONTENT_KEYS = tuple(sorted(_CONTENT_FIELDS))
_KEY_TEXTS = {key: canonical_text(key) + ":" for key in _CONTENT_KEYS}


def _sealed_values(
    entry: AuditEntry, previous_hash: str, key: AuditKey | None
) -> tuple[dict[str, Any], str]:
    """The row of an entry sealed after ``previous_hash``, and its hash: the canonical
    text of its changes is made once, for the hash (the content's text is put together
    around it, as ``json.dumps`` with sorted keys writes it) and for the row."""
    values = _values(entry)
    changes = _canonical_changes(values["changes"])
    text = (
        "{"
        + ",".join(
            _KEY_TEXTS[key] + (changes if key == "changes" else canonical_text(_plain(values[key])))
            for key in _CONTENT_KEYS
        )
        + "}"
    )
    digest = text_hash(text, previous_hash)
    values.update(changes=JsonText(changes), prev_hash=previous_hash, hash=digest)
    if key is not None:
        values["signature"] = key.sign_text(text)
    return values, digest


_LOG = logging.getLogger(__name__)
_a = audit_log.c
_CONTENT_COLUMNS = (
    _a.id,
    _a.occurred_at,
    _a.actor_id,
    _a.actor_name,
    _a.operation,
    _a.resource_type,
    _a.resource_id,
    _a.change_request_id,
    _a.changes,
)
_INSERT = insert(audit_log)
_tail = audit_log.alias("tail")
#: the chain's tail: the sealed entry with the highest chain_seq
_TAIL_SEQ = select(func.max(_tail.c.chain_seq)).scalar_subquery()
_TAIL_HASH = select(_tail.c.hash).where(_tail.c.chain_seq == _TAIL_SEQ).scalar_subquery()
#: the unsealed entries, each row with the tail's chain_seq and hash (one round trip)
_PENDING = (
    select(*_CONTENT_COLUMNS, _TAIL_SEQ.label("tail_seq"), _TAIL_HASH.label("tail_hash"))
    .where(_a.chain_seq.is_(None))
    .order_by(_a.id)
    .limit(bindparam("batch"))
)
_SEAL = (
    update(audit_log)
    .where(_a.id == bindparam("entry_id"), _a.chain_seq.is_(None))
    .values(
        chain_seq=bindparam("new_seq"),
        prev_hash=bindparam("new_prev_hash"),
        hash=bindparam("new_hash"),
    )
)
#: the chain's tail, read by a writer that seals its own entries
_TAIL = (
    select(_a.chain_seq, _a.hash)
    .where(_a.chain_seq.is_not(None))
    .order_by(_a.chain_seq.desc())
    .limit(1)
)
#: entries sealed per statement
SEAL_BATCH = 1000


def _lock_chain(connection: Connection) -> None:
    """Take the chain's lock for the rest of the caller's transaction (PostgreSQL: a
    transaction-scoped advisory lock; SQLite: the write lock its transaction holds)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK})


def seal_pending(connection: Connection, *, batch: int = SEAL_BATCH) -> int:
    """Seal, in the caller's transaction, every committed unsealed entry; returns how
    many. Takes the chain's lock first (see :func:`_lock_chain`), so sealers run one at a
    time and each sees what the one before sealed."""
    _lock_chain(connection)
    sealed, _ = _seal_locked(connection, batch)
    return sealed


def _seal_locked(connection: Connection, batch: int) -> tuple[int, tuple[int, str] | None]:
    """Seal the committed unsealed entries (the caller holds the chain's lock); returns
    how many and the chain's tail after them (``None`` when there were none)."""
    previous, seq = GENESIS_HASH, 0
    sealed = 0
    while rows := list(connection.execute(_PENDING, {"batch": batch})):
        if not sealed and rows[0].tail_seq is not None:  # this pass's first batch
            previous, seq = _checked_tail(rows[0].tail_seq, rows[0].tail_hash)
        seals: list[dict[str, Any]] = []
        for row in rows:
            seq += 1
            digest = _hash(_content(row._mapping), previous)
            seals.append(
                {"entry_id": row.id, "new_seq": seq, "new_prev_hash": previous, "new_hash": digest}
            )
            previous = digest
        connection.execute(_SEAL, seals[0] if len(seals) == 1 else seals)
        sealed += len(rows)
        if len(rows) < batch:
            break
    return sealed, ((seq, previous) if sealed else None)


def _checked_tail(tail_seq: Any, tail_hash: Any) -> tuple[str, int]:
    if tail_hash is None:  # written around the guard: do not chain on
        raise ValueError(
            f"the audit chain's tail (chain_seq {tail_seq}) has no hash; run "
            "custmaster audit verify"
        )
    return str(tail_hash), int(tail_seq)


def _chain_tail(connection: Connection) -> tuple[int, str]:
    """The sealed entry with the highest ``chain_seq`` (its seq and hash), or the
    genesis (0 and ``GENESIS_HASH``) of an empty chain."""
    row = connection.execute(_TAIL).first()
    if row is None:
        return 0, GENESIS_HASH
    previous, seq = _checked_tail(row.chain_seq, row.hash)
    return seq, previous


class AuditSealer:
    """Seals after commits, one pass at a time per engine in this process.

    :meth:`request` after a commit that appended entries: when no pass runs in this
    process, it runs passes (its own transactions) until no request came in during the
    last one, at most ``MAX_PASSES``; else the running pass's next round takes the new
    entries. A failure is logged, never raised: the change is committed, its entries
    stay unsealed until the next pass (or ``custmaster audit verify``) seals them.

    Within :meth:`deferred`, :meth:`request` only wakes a background thread instead, which
    runs the passes ``delay`` seconds later for every entry committed meanwhile: the
    writer's request does not wait for sealing, and one pass seals many entries.
    """

    MAX_PASSES = 4

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._requested = 0
        self._running = False
        #: set while deferred: wakes the background thread (``None``: seal in request)
        self._wake: threading.Event | None = None
        self._deferrals = 0
        #: the background thread, its wake and stop events while deferred
        self._background: tuple[threading.Thread, threading.Event, threading.Event] | None = None

    def request(self) -> None:
        wake = self._wake
        if wake is not None:
            wake.set()
            return
        self._seal_now()

    def _seal_now(self) -> None:
        with self._lock:
            self._requested += 1
            if self._running:
                return
            self._running = True
        try:
            for _ in range(self.MAX_PASSES):
                with self._lock:
                    seen = self._requested
                with self._engine.begin() as connection:
                    seal_pending(connection)
                with self._lock:
                    if self._requested == seen:
                        break
        except Exception as error:
            if is_unavailable(error):  # one line while the database is away
                _LOG.warning(
                    "sealing the audit log failed; the next pass retries: %s",
                    describe_unavailable(error),
                )
            else:
                _LOG.warning("sealing the audit log failed; the next pass retries", exc_info=True)
        finally:
            with self._lock:
                self._running = False

    @contextlib.contextmanager
    def deferred(self, delay: float) -> Iterator[None]:
        """Seal on a background thread, at most about ``delay`` seconds after a commit
        requested it, while inside (nested uses share the thread; the last one out
        stops it after a final pass)."""
        with self._lock:
            self._deferrals += 1
            if self._background is None:
                wake, stop = threading.Event(), threading.Event()
                thread = threading.Thread(
                    target=self._seal_deferred,
                    args=(wake, stop, delay),
                    name="custmaster-audit-sealer",
                    daemon=True,
                )
                thread.start()
                self._background = (thread, wake, stop)
                self._wake = wake
        try:
            yield
        finally:
            with self._lock:
                self._deferrals -= 1
                background = self._background if self._deferrals == 0 else None
                if background is not None:
                    self._background = self._wake = None
                    background[2].set()
                    background[1].set()
            if background is not None:
                background[0].join()

    def _seal_deferred(self, wake: threading.Event, stop: threading.Event, delay: float) -> None:
        while True:
            wake.wait()
            stop.wait(delay)  # the commits of the next ``delay`` seconds join this pass
            wake.clear()
            self._seal_now()
            if stop.is_set() and not wake.is_set():
                return


_SEALERS: weakref.WeakKeyDictionary[Engine, AuditSealer] = weakref.WeakKeyDictionary()
_SEALERS_LOCK = threading.Lock()


def sealer_for(engine: Engine) -> AuditSealer:
    with _SEALERS_LOCK:
        found = _SEALERS.get(engine)
        if found is None:
            found = _SEALERS[engine] = AuditSealer(engine)
        return found


_KEYS: weakref.WeakKeyDictionary[Engine, AuditKey] = weakref.WeakKeyDictionary()


def use_audit_key(engine: Engine, key: AuditKey | None) -> None:
    """Sign the entries written through ``engine`` with ``key`` (None: unsigned)."""
    with _SEALERS_LOCK:
        if key is None:
            _KEYS.pop(engine, None)
        else:
            _KEYS[engine] = key


def audit_key_for(engine: Engine) -> AuditKey | None:
    return _KEYS.get(engine)


def _entry(row: Row[Any]) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        occurred_at=row.occurred_at,
        actor_id=row.actor_id,
        actor_name=row.actor_name,
        operation=row.operation,
        resource_type=row.resource_type,
        resource_id=row.resource_id,
        change_request_id=row.change_request_id,
        changes=row.changes,
    )


def _values(entry: AuditEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in _CONTENT_FIELDS}


class SqlAuditLog:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._key = _KEYS.get(connection.engine)
        #: entries appended through this object (the unit of work seals after commit)
        self.appended = 0

    def append(self, entry: AuditEntry) -> None:
        self.append_many([entry])

    def append_many(self, entries: list[AuditEntry]) -> None:
        """Append entries unsealed (they are chained after commit, see the module doc)."""
        if not entries:
            return
        rows = [_values(entry) for entry in entries]
        if self._key is not None:
            for row in rows:
                row["signature"] = self._key.sign_text(canonical_text(_fast_plain(row)))
        if len(rows) == 1:
            self._connection.execute(_INSERT, rows[0])
        else:
            insert_rows(self._connection, audit_log, rows)
        self.appended += len(rows)

    def append_sealed(self, entries: list[AuditEntry]) -> None:
        """Append entries sealed as they are written, for a bulk writer: takes the
        chain's lock for the rest of the caller's transaction, seals the committed entries
        still unsealed (they come first in the chain), then chains ``entries`` on from the
        tail in order, hashing the content in hand instead of reading it back. A sealer
        waits for the lock and, once this transaction commits, continues after them.

        The stored ``changes`` are their canonical JSON text (``audit_chain``: what
        ``verify`` reads back and hashes), made once for the hash and the row."""
        if not entries:
            return
        _lock_chain(self._connection)
        _, tail = _seal_locked(self._connection, SEAL_BATCH)
        seq, previous = tail if tail is not None else _chain_tail(self._connection)
        rows = []
        for entry in entries:
            values, previous = _sealed_values(entry, previous, self._key)
            seq += 1
            values["chain_seq"] = seq
            rows.append(values)
        insert_rows(self._connection, audit_log, rows)

    def seal(self) -> int:
        """Seal what can be sealed now (see :func:`seal_pending`)."""
        return seal_pending(self._connection)

    def unsealed(self) -> int:
        """How many committed entries are not sealed yet."""
        query = select(func.count()).select_from(audit_log).where(_a.chain_seq.is_(None))
        return int(self._connection.execute(query).scalar_one())

    def for_resource(
        self, resource_type: str, resource_id: str, *, after_id: int | None, limit: int
    ) -> list[AuditEntry]:
        query = (
            select(audit_log)
            .where(audit_log.c.resource_type == resource_type)
            .where(audit_log.c.resource_id == resource_id)
            .order_by(audit_log.c.id)
            .limit(limit)
        )
        if after_id is not None:
            query = query.where(audit_log.c.id > after_id)
        return [_entry(row) for row in self._connection.execute(query)]

    def verify(self) -> VerifyResult:
        """Walk the sealed chain in chain order (streamed) and report the first entry that
        does not fit: changed content, a broken link, or a removed entry. Entries not
        sealed yet are not part of the chain yet."""
        return verify_links(signed.link for signed in _links(self._connection))

    def head(self) -> tuple[int, str]:
        """The chain's tail: the last sealed entry's seq and hash (0 and the genesis hash
        for an empty chain)."""
        return _chain_tail(self._connection)

    def first_signed_seq(self) -> int | None:
        """The seq of the chain's first signed entry (None: none is signed)."""
        query = select(func.min(_a.chain_seq)).where(_a.signature.is_not(None))
        found = self._connection.execute(query).scalar()
        return None if found is None else int(found)

    def published_checkpoints(self) -> list[Checkpoint]:
        """The checkpoints published to the outbox (those still there); ``ValueError``
        for an event that is not one."""
        rows = self._connection.execute(
            select(outbox.c.envelope).where(outbox.c.type == CHECKPOINT_EVENT_TYPE)
        )
        return [Checkpoint.from_dict(row.envelope.get("data")) for row in rows]

    def verify_signed(self, key: AuditKey, checkpoints: list[Checkpoint]) -> AuditReport:
        """``verify`` plus every entry's signature, the checkpoints (each head still in
        the chain, the latest reached) and no signature used twice (a copied entry)."""
        report = verify_signed_chain(_links(self._connection), key, checkpoints)
        if not report.ok:
            return report
        twice = self._connection.execute(
            select(_a.signature, func.min(_a.id), func.max(_a.id))
            .where(_a.signature.is_not(None))
            .group_by(_a.signature)
            .having(func.count() > 1)
            .limit(1)
        ).first()
        if twice is not None:
            reason = (
                f"entry {twice[2]} carries the signature of entry {twice[1]} (a copied "
                "entry: a replay)"
            )
            result = VerifyResult(
                False, report.result.checked, str(twice[2]), reason, report.result.last_hash
            )
            return AuditReport(
                result,
                True,
                report.unsigned_before_signing,
                report.checkpoints,
                report.latest,
                report.notes,
            )
        return report


def _links(connection: Connection) -> Iterator[SignedLink]:
    result = connection.execution_options(yield_per=2000).execute(
        select(*_CONTENT_COLUMNS, _a.prev_hash, _a.hash, _a.chain_seq, _a.signature)
        .where(_a.chain_seq.is_not(None))
        .order_by(_a.chain_seq)
    )
    for row in result:
        values = row._mapping
        link = ChainLink(
            id=values["id"],
            content=_content(values),
            previous_hash=values["prev_hash"] or "",
            hash=values["hash"] or "",
        )
        yield SignedLink(link, int(values["chain_seq"]), values["signature"])


def chain_unhashed(connection: Connection) -> int:
    """Chain, in id order, entries written before the chain existed (migration 0004; the
    columns read are the ones 0004 knows)."""
    previous = GENESIS_HASH
    count = 0
    rows = connection.execute(select(*_CONTENT_COLUMNS, _a.hash).order_by(_a.id)).all()
    for row in rows:
        values = row._mapping
        if values["hash"] is not None:
            previous = values["hash"]
            continue
        digest = entry_hash(_content(values), previous)
        connection.execute(
            update(audit_log)
            .where(audit_log.c.id == values["id"])
            .values(prev_hash=previous, hash=digest)
        )
        previous = digest
        count += 1
    return count
