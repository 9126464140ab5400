"""The relay loop: hold a partition's lease, read the outbox after its cursor in commit
order, publish the partition's events to JetStream pipelined (``Nats-Msg-Id`` = the event
id), wait for the acknowledgements, then move the cursor past what was acknowledged.

What the broker did not acknowledge stays after the cursor and is published again, with
the same ids: a broker outage makes events wait; a killed relay's successor republishes
at most the unacknowledged round, and JetStream drops those it already stored (the
stream's duplicate window is longer than a lease plus a round).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import PubAck

from custmaster.services.ports import FeedPosition, UnitOfWork
from custmaster.services.recording import utcnow
from custmaster.services.relay.catalogue import AGGREGATES
from custmaster.services.relay.config import RelayConfig
from custmaster.services.relay.ports import OutboxEvent
from custmaster.services.relay.stream import ensure_stream
from custmaster.services.relay.subjects import aggregate_of, partition_of, subject_for

_LOG = logging.getLogger(__name__)
CONTENT_TYPE = "application/cloudevents+json"


def holder_name() -> str:
    """Who holds a lease: host, process and a random tag (a restarted process is new)."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"


class PublishIncomplete(Exception):
    """The broker acknowledged only part of a round (the rest is published again)."""


@dataclass
class _Held:
    cursor: FeedPosition
    until: datetime


class _Rate:
    """Events per second over the last ``window`` seconds."""

    def __init__(self, window: float = 10.0) -> None:
        self._window = window
        self._marks: deque[tuple[float, int]] = deque()

    def add(self, count: int) -> float:
        self._marks.append((time.monotonic(), count))
        return self.current()

    def current(self) -> float:
        now = time.monotonic()
        while self._marks and self._marks[0][0] < now - self._window:
            self._marks.popleft()
        if not self._marks:
            return 0.0
        span = max(now - self._marks[0][0], 1.0) if len(self._marks) > 1 else 1.0
        return sum(c for _, c in self._marks) / span


def message_of(event: OutboxEvent, config: RelayConfig) -> tuple[str, bytes, dict[str, str]]:
    """The subject, body (the structured CloudEvent as stored) and headers of an event."""
    headers = {
        "Nats-Msg-Id": str(event.event_id),
        "Content-Type": CONTENT_TYPE,
        "Custmaster-Position": event.position.encode(),
    }
    return subject_for(event.type, config.subject_prefix), event.body, headers


class Relay:
    """One relay process (or task): ``await Relay(uow_factory, config).run(stop)``."""

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        config: RelayConfig,
        *,
        holder: str | None = None,
    ) -> None:
        self._uow = uow
        self.config = config
        self.holder = holder or holder_name()
        self._held: dict[int, _Held] = {}
        self._next_claim = 0.0
        self._subjects: set[str] = set()
        self._rate = _Rate()
        self._reported_rate = 0.0
        self.published = 0  # acknowledged by the broker in this process's life

    # -- the database (blocking: run in threads) --------------------------------------

    def _claim(self) -> None:
        """Renew the leases held (when a third has run) and take free partitions."""
        now = utcnow()
        lease = timedelta(seconds=self.config.lease_seconds)
        taking = time.monotonic() >= self._next_claim
        for partition in self.config.my_partitions:
            held = self._held.get(partition)
            if held is None and not taking:
                continue
            if held is not None and held.until - now > lease * 2 / 3:
                continue
            with self._uow() as uow:
                state = uow.relay.claim(
                    self.config.stream, partition, self.holder, now, now + lease
                )
            if state is None:
                if held is not None:
                    _LOG.warning("relay %s lost partition %d", self.holder, partition)
                self._held.pop(partition, None)
            else:
                if held is None:
                    _LOG.info(
                        "relay %s holds partition %d from %s",
                        self.holder,
                        partition,
                        state.cursor.encode(),
                    )
                self._held[partition] = _Held(state.cursor, now + lease)
        if taking:
            self._next_claim = time.monotonic() + self.config.lease_seconds / 3

    def _read(self, after: FeedPosition) -> list[OutboxEvent]:
        uow = self._uow()
        with uow.read_only(autocommit=True):
            return uow.relay.pending(after, self.config.batch_size)

    def _advance(
        self, partition: int, cursor: FeedPosition, published: int, last: UUID | None
    ) -> None:
        rate = self._rate.add(published)
        self._reported_rate = rate
        with self._uow() as uow:
            kept = uow.relay.advance(
                self.config.stream, partition, self.holder, cursor, published, last, utcnow(), rate
            )
        if kept:
            self._held[partition].cursor = cursor
        else:
            _LOG.warning("relay %s lost partition %d", self.holder, partition)
            self._held.pop(partition, None)

    def _release(self) -> None:
        for partition in list(self._held):
            with self._uow() as uow:
                uow.relay.release(self.config.stream, partition, self.holder)
        self._held.clear()

    def _prepare(self) -> None:
        with self._uow() as uow:
            uow.relay.ensure(self.config.stream, self.config.partitions)

    # -- the broker ---------------------------------------------------------------------

    async def _connect(self) -> Client:
        async def quiet(error: Exception) -> None:
            _LOG.debug("nats: %s", error)

        return await nats.connect(
            servers=[self.config.nats_url],
            name=f"custmaster-relay {self.holder}",
            connect_timeout=2,
            reconnect_time_wait=0.25,
            max_reconnect_attempts=-1,
            error_cb=quiet,
        )

    async def _publish(self, js: JetStreamContext, partition: int, items: list[OutboxEvent]) -> int:
        """Publish one round of the partition; how many of its events were acknowledged."""
        config = self.config
        mine = [
            item for item in items if partition_of(item.subject, config.partitions) == partition
        ]
        aggregates = {aggregate_of(item.type) for item in mine}
        needed = {f"{config.subject_prefix}.{a}.>" for a in aggregates}
        if not needed <= self._subjects:
            self._subjects = await ensure_stream(js, config, AGGREGATES | aggregates)
        futures: list[asyncio.Future[PubAck]] = []
        try:
            for item in mine:
                subject, body, headers = message_of(item, config)
                futures.append(
                    await js.publish_async(
                        subject,
                        body,
                        headers=headers,
                        stream=config.stream,
                        wait_stall=config.ack_timeout_seconds,
                    )
                )
            if futures:
                await asyncio.wait(futures, timeout=config.ack_timeout_seconds)
        finally:
            acked = 0
            for future in futures:
                if not future.done() or future.cancelled() or future.exception() is not None:
                    break
                acked += 1
            failure = next((f for f in futures[acked:] if f.done() and not f.cancelled()), None)
            for future in futures[acked:]:
                future.cancel()
        if acked == len(mine):
            cursor = items[-1].position
        else:
            cursor = mine[acked - 1].position if acked else self._held[partition].cursor
        last = mine[acked - 1].event_id if acked else None
        if acked or cursor != self._held[partition].cursor:
            await asyncio.to_thread(self._advance, partition, cursor, acked, last)
        self.published += acked
        if acked < len(mine):
            error = failure.exception() if failure is not None else None
            raise PublishIncomplete(
                f"{acked} of {len(mine)} events acknowledged: {error or 'timed out'}"
            )
        return acked

    async def _rounds(self, js: JetStreamContext) -> bool:
        """One round for each partition held; False when every one was idle."""
        await asyncio.to_thread(self._claim)
        busy = False
        for partition in list(self._held):
            held = self._held.get(partition)
            if held is None:
                continue
            items = await asyncio.to_thread(self._read, held.cursor)
            if items:
                busy = True
                await self._publish(js, partition, items)
            elif self._reported_rate and not self._rate.current():
                # idle for a whole window: the status shows 0 events/s, not the last rate
                await asyncio.to_thread(self._advance, partition, held.cursor, 0, None)
        return busy

    async def run(self, stop: asyncio.Event | None = None, *, until_idle: bool = False) -> None:
        """Relay until ``stop`` is set (or, ``until_idle``, until a round finds nothing
        for a partition it holds). Failures are logged and retried with a backoff."""
        stop = stop or asyncio.Event()
        await asyncio.to_thread(self._prepare)
        backoff = 0.1
        client: Client | None = None
        try:
            while not stop.is_set():
                try:
                    if client is None or client.is_closed:
                        client = await self._connect()
                        self._subjects = set()
                    busy = await self._rounds(client.jetstream())
                    backoff = 0.1
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    _LOG.warning(
                        "relay round failed (%s: %s); retrying in %.1f s",
                        type(exc).__name__,
                        exc,
                        backoff,
                    )
                    await _wait(stop, backoff)
                    backoff = min(backoff * 2, 2.0)
                    continue
                if busy:
                    continue
                if until_idle and self._held:
                    return
                await _wait(stop, self.config.poll_seconds)
        finally:
            if client is not None and not client.is_closed:
                await client.close()
            await asyncio.to_thread(self._release)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
