"""The append-only, hash-chained audit log.

Each entry's hash covers its content and the previous entry's hash
(``custmaster.domain.audit_chain``). Appends are serialised: on PostgreSQL by a
transaction-scoped advisory lock taken before the chain's tail is read, on SQLite by
the write lock every writing transaction holds (BEGIN IMMEDIATE).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Row, select, text, update

from custmaster.domain.audit_chain import (
    GENESIS_HASH,
    ChainLink,
    VerifyResult,
    _plain,
    entry_hash,
)
from custmaster.domain.audit_chain import verify_chain as verify_links
from custmaster.persistence.bulk import insert_rows
from custmaster.persistence.tables import audit_log
from custmaster.services.ports import AuditEntry

_CHAIN_LOCK = 0x637573746D617374  # "custmast": one advisory lock for the audit chain


def _content(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "occurred_at": values["occurred_at"],
        "actor_id": values["actor_id"],
        "actor_name": values["actor_name"],
        "operation": values["operation"],
        "resource_type": values["resource_type"],
        "resource_id": values["resource_id"],
        "change_request_id": values["change_request_id"],
        "changes": values["changes"],
    }


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


def _hash(content: dict[str, Any], previous_hash: str) -> str:
    """``audit_chain.entry_hash`` (identical digest; the chain's definition stays there)."""
    text = json.dumps(
        _fast_plain(content),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    data = previous_hash.encode("ascii") + b"\n" + text.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def _tail(connection: Connection) -> str:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK})
    row = connection.execute(
        select(audit_log.c.hash)
        .where(audit_log.c.hash.is_not(None))
        .order_by(audit_log.c.id.desc())
        .limit(1)
    ).first()
    return GENESIS_HASH if row is None else str(row.hash)


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


class SqlAuditLog:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def append(self, entry: AuditEntry) -> None:
        self.append_many([entry])

    def append_many(self, entries: list[AuditEntry]) -> None:
        """Append entries in order, chained to the current tail (one statement)."""
        if not entries:
            return
        previous = _tail(self._connection)
        rows: list[dict[str, Any]] = []
        for entry in entries:
            values: dict[str, Any] = {
                "occurred_at": entry.occurred_at,
                "actor_id": entry.actor_id,
                "actor_name": entry.actor_name,
                "operation": entry.operation,
                "resource_type": entry.resource_type,
                "resource_id": entry.resource_id,
                "change_request_id": entry.change_request_id,
                "changes": entry.changes,
            }
            digest = _hash(_content(values), previous)
            rows.append({**values, "prev_hash": previous, "hash": digest})
            previous = digest
        insert_rows(self._connection, audit_log, rows)

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
        """Walk the whole chain in id order (streamed) and report the first entry that
        does not fit: changed content, a broken link, or a removed entry."""
        return verify_links(_links(self._connection))


def _links(connection: Connection) -> Iterator[ChainLink]:
    result = connection.execution_options(yield_per=2000).execute(
        select(audit_log).order_by(audit_log.c.id)
    )
    for row in result:
        values = dict(row._mapping)
        yield ChainLink(
            id=values["id"],
            content=_content(values),
            previous_hash=values["prev_hash"] or "",
            hash=values["hash"] or "",
        )


def chain_unhashed(connection: Connection) -> int:
    """Chain entries written before the chain existed (migration 0004), in id order."""
    previous = GENESIS_HASH
    count = 0
    for row in connection.execute(select(audit_log).order_by(audit_log.c.id)).all():
        values = dict(row._mapping)
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
