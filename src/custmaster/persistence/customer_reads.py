"""PostgreSQL point reads of the customer aggregate without a thread: the effective view's
one statement (``customers.GET_VIEW``) through psycopg's asyncio connection, so the API
answers a GET on its event loop instead of handing it to the thread pool.

The statement, the connection parameters and the result processing are the SQL
repository's own (compiled by SQLAlchemy once; the result types converted by SQLAlchemy's
result processors for the column types the server reports), so a customer read here is
the one ``SqlCustomerRepository.get_for_view`` returns."""

from __future__ import annotations

import asyncio
import contextlib
import re
import weakref
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import date
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection, AsyncCursor, AsyncRawCursor
from psycopg.pq import TransactionStatus
from sqlalchemy import Engine, event

from custmaster.domain.model import Customer
from custmaster.persistence import profile_wide
from custmaster.persistence.activity import profile_snapshot_of
from custmaster.persistence.customers import GET_VIEW, from_view_row
from custmaster.services.profile.ports import ProfileSnapshot

Processor = Callable[[Any], Any] | None
_PYFORMAT = re.compile(r"%\((\w+)\)s|%%")


class _Statement:
    """A SQLAlchemy statement compiled for psycopg, with the names and result processors
    of its columns (made from the first result's column types, as SQLAlchemy does)."""

    def __init__(self, engine: Engine, statement: Any) -> None:
        self._dialect = engine.dialect
        compiled = statement.compile(dialect=engine.dialect)
        #: the parameters in the order of the statement's ``$n`` placeholders
        self.parameters: list[str] = []
        #: PostgreSQL's own placeholders: psycopg sends the text as it is (a raw cursor)
        self.sql: str = _PYFORMAT.sub(self._placeholder, compiled.string)
        #: a textual statement has none: its rows are taken as psycopg loads them
        self._types = [c.type for c in getattr(statement, "selected_columns", ())]
        self._columns: list[tuple[str, Processor]] | None = None

    def _placeholder(self, match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return "%"  # an escaped percent sign
        if name not in self.parameters:
            self.parameters.append(name)
        return f"${self.parameters.index(name) + 1}"

    def arguments(self, values: dict[str, Any]) -> list[Any]:
        return [values[name] for name in self.parameters]

    def row(self, cursor: AsyncCursor[Any], values: Sequence[Any]) -> dict[str, Any]:
        """The row as SQLAlchemy would give it, by column name."""
        columns = self._columns
        if columns is None:
            result = cursor.pgresult
            if result is None:  # pragma: no cover - a fetched row has its result
                raise RuntimeError("no result")
            names = [(result.fname(i) or b"").decode() for i in range(result.nfields)]
            columns = self._columns = [
                (name, t.dialect_impl(self._dialect).result_processor(self._dialect, oid))
                for name, t, oid in zip(
                    names,
                    self._types,
                    [result.ftype(i) for i in range(result.nfields)],
                    strict=True,
                )
            ]
        return {
            name: value if p is None or value is None else p(value)
            for (name, p), value in zip(columns, values, strict=True)
        }


class AsyncConnections:
    """A small set of asyncio psycopg connections in autocommit mode (point reads only),
    each with the raw cursor its reads reuse (a statement executed again on the same
    cursor keeps its loaders).

    At most ``size`` are in use at once per event loop; a caller beyond that waits for
    one. An idle connection is reused by whichever event loop asks next (psycopg's
    asyncio connections are not bound to a loop), one that broke is dropped."""

    def __init__(self, connect_kwargs: dict[str, Any], size: int) -> None:
        self._kwargs = {**connect_kwargs, "autocommit": True}
        self._size = size
        self._idle: list[AsyncRawCursor[Any]] = []
        self._limits: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )
        self._closed = False

    def _limit(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        limit = self._limits.get(loop)
        if limit is None:
            limit = self._limits[loop] = asyncio.Semaphore(self._size)
        return limit

    @contextlib.asynccontextmanager
    async def cursor(self) -> AsyncIterator[AsyncRawCursor[Any]]:
        async with self._limit():
            cursor = self._idle.pop() if self._idle else None
            if cursor is None or cursor.connection.closed:
                conn = await AsyncConnection.connect(**self._kwargs)
                cursor = AsyncRawCursor(conn)
            try:
                yield cursor
            finally:
                conn = cursor.connection
                healthy = not conn.closed and (
                    conn.info.transaction_status == TransactionStatus.IDLE
                )
                if healthy and not self._closed and len(self._idle) < self._size:
                    self._idle.append(cursor)
                else:
                    await conn.close()

    def close(self) -> None:
        """Close the idle connections (those in use close when they come back)."""
        self._closed = True
        idle, self._idle = self._idle, []
        for cursor in idle:
            # AsyncConnection.close awaits nothing for a connection outside a pool
            with contextlib.suppress(StopIteration):
                cursor.connection.close().send(None)


class AsyncCustomerReads:
    """The effective view's read and the 360 view's for the API's event loop (PostgreSQL
    only)."""

    def __init__(self, engine: Engine, size: int) -> None:
        args, kwargs = engine.dialect.create_connect_args(engine.url)
        if args:  # pragma: no cover - the psycopg dialect passes keywords only
            raise ValueError("expected keyword connection arguments")
        self._connections = AsyncConnections(dict(kwargs), size)
        self._view = _Statement(engine, GET_VIEW)
        self._profile = _Statement(engine, profile_wide.SNAPSHOT)

    async def get_for_view(
        self, customer_id: UUID, entity: str, hierarchy_type: str
    ) -> tuple[Customer, bool, bool] | None:
        """As ``SqlCustomerRepository.get_for_view`` answers on PostgreSQL."""
        params = {"customer_id": customer_id, "entity": entity, "hierarchy_type": hierarchy_type}
        async with self._connections.cursor() as cursor:
            await cursor.execute(self._view.sql, self._view.arguments(params))
            values = await cursor.fetchone()
            if values is None:
                return None
            m = self._view.row(cursor, values)
        return from_view_row(m)

    async def profile_snapshot(
        self, customer_id: UUID, hierarchy_type: str, as_of: date
    ) -> ProfileSnapshot:
        """As ``SqlActivityRepository.profile_snapshot`` answers on PostgreSQL (the same
        statement, its JSON decoded by psycopg as on the synchronous connection)."""
        params = profile_wide.snapshot_params(customer_id, hierarchy_type, as_of)
        async with self._connections.cursor() as cursor:
            await cursor.execute(self._profile.sql, self._profile.arguments(params))
            values = await cursor.fetchone()
            names = [column.name for column in cursor.description or ()]
        if values is None:  # pragma: no cover - the statement always gives one row
            raise RuntimeError("the profile snapshot gave no row")
        found = dict(zip(names, values, strict=True))
        return profile_snapshot_of(profile_wide.snapshot_of(customer_id, found))

    def close(self) -> None:
        self._connections.close()


_READS: weakref.WeakKeyDictionary[Engine, AsyncCustomerReads] = weakref.WeakKeyDictionary()


def async_reads(engine: Engine, size: int) -> AsyncCustomerReads | None:
    """The engine's asyncio reads (one set per engine and process; closed when the engine
    is disposed), or None where there are none (SQLite)."""
    if engine.dialect.name != "postgresql":
        return None
    reads = _READS.get(engine)
    if reads is None:
        reads = _READS[engine] = AsyncCustomerReads(engine, size)
        event.listen(engine, "engine_disposed", _forget)
    return reads


def _forget(engine: Engine) -> None:
    reads = _READS.pop(engine, None)
    if reads is not None:
        reads.close()
