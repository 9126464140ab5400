"""``custmaster consume``: a durable pull consumer of activity events on NATS JetStream.

Messages on ``custmaster.activity.>`` carry one CloudEvents 1.0 envelope each (JSON). The
consumer fetches them in batches and applies each batch in one transaction
(``services.profile.intake.apply_events``), then acknowledges every message of it
(explicit ack). Delivery is at least once; the effect is exactly once because the event
ids are recorded in that transaction.

- A message that is not a valid activity event is poison: it goes to the dead-letter list
  with the reason, and is acknowledged.
- An event whose customer is unknown goes to the dead-letter list (replayable through the
  API) and is acknowledged.
- When a batch fails (e.g. the database is unreachable, or one event breaks a constraint),
  it is split in halves, each applied in a transaction of its own, down to the failing
  messages: the good ones of the batch still apply (in about log2(batch) transactions
  more), and a failing message is negatively acknowledged (redelivered after a delay)
  until it has been delivered ``max_deliver`` times, then dead-lettered with the reason.
- Up to ``concurrency`` fetched batches are applied at once, each in a transaction (and a
  thread and a connection) of its own, and the next batch is fetched meanwhile: the
  broker's round trips, one batch's database work and another's Python overlap. A batch's
  messages are acknowledged only after its transaction commits. Batches that share a
  customer serialise on that customer's row lock (taken in id order, so they cannot
  deadlock); the profile's state merges commutatively, so the order in which batches
  commit does not matter, and an event id is recorded once (a redelivery finds it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import nats
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js import api
from nats.js.errors import NotFoundError

from custmaster.domain import activity as a
from custmaster.domain.errors import ValidationFailed
from custmaster.services.ports import UnitOfWork
from custmaster.services.profile.config import ProfileConfig
from custmaster.services.profile.intake import (
    APPLIED,
    DEAD_LETTER,
    DUPLICATE,
    apply_events,
    dead_letter,
)

_log = logging.getLogger(__name__)
CHANNEL = "nats"


@dataclass(frozen=True, slots=True)
class ConsumerSettings:
    url: str = "nats://127.0.0.1:4222"
    stream: str = "CUSTMASTER_ACTIVITY"
    subjects: tuple[str, ...] = (f"{a.SUBJECT_PREFIX}>",)
    durable: str = "custmaster-profile"
    batch: int = 500
    #: deliveries of a failing message before it is dead-lettered
    max_deliver: int = 5
    ack_wait_seconds: float = 30.0
    fetch_timeout_seconds: float = 1.0
    #: delay before a failed message is redelivered
    retry_delay_seconds: float = 0.5
    #: batches applied at once (each its own transaction); 1 on SQLite (one writer)
    concurrency: int = 1


@dataclass
class ConsumerStats:
    received: int = 0
    applied: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    redelivery_requested: int = 0
    batches: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


def _decode(msg: Msg) -> tuple[a.ActivityEvent | None, Any, str | None]:
    """The event, the raw envelope and, for poison, the reason."""
    try:
        envelope = json.loads(msg.data)
    except ValueError as exc:
        return None, {"raw": msg.data.decode("utf-8", "replace")[:10_000]}, f"not JSON: {exc}"
    try:
        return a.parse_envelope(envelope), envelope, None
    except ValidationFailed as exc:
        reasons = "; ".join(f"{e.field}: {e.message}" for e in exc.errors[:10])
        return None, envelope, f"invalid activity event: {reasons}"


def _decode_all(
    msgs: list[Msg],
) -> tuple[list[tuple[Msg, a.ActivityEvent, Any]], list[tuple[Msg, Any, str]]]:
    """The good messages (message, event, envelope) and the poison (message, envelope,
    reason)."""
    good: list[tuple[Msg, a.ActivityEvent, Any]] = []
    poison: list[tuple[Msg, Any, str]] = []
    for msg in msgs:
        event, envelope, reason = _decode(msg)
        if reason is not None or event is None:
            poison.append((msg, envelope, reason or "invalid"))
        else:
            good.append((msg, event, envelope))
    return good, poison


class ActivityConsumer:
    def __init__(
        self,
        new_uow: Callable[[], UnitOfWork],
        config: ProfileConfig,
        settings: ConsumerSettings,
    ) -> None:
        self._new_uow = new_uow
        self._config = config
        self.settings = settings
        self.stats = ConsumerStats()
        self._counting = threading.Lock()

    async def ensure_stream(self, js: Any) -> None:
        try:
            await js.stream_info(self.settings.stream)
        except NotFoundError:
            await js.add_stream(name=self.settings.stream, subjects=list(self.settings.subjects))

    def _apply(self, events: list[a.ActivityEvent]) -> None:
        """Apply in a transaction of its own (in a worker thread; batches applied at once
        count under a lock)."""
        outcomes = apply_events(self._new_uow(), events, self._config, channel=CHANNEL)
        counts = Counter(outcome.status for outcome in outcomes)
        with self._counting:
            self.stats.applied += counts[APPLIED]
            self.stats.duplicates += counts[DUPLICATE]
            self.stats.dead_lettered += counts[DEAD_LETTER]

    def _dead_letter(self, envelope: Any, reason: str, attempts: int) -> None:
        self._dead_letter_many([(envelope, reason, attempts)])

    def _dead_letter_many(self, letters: list[tuple[Any, str, int]]) -> None:
        """Dead-letter these (envelope, reason, attempts) in one transaction (in a worker
        thread; the caller counts them)."""
        uow = self._new_uow()

        def by_id(letter: tuple[Any, str, int]) -> str:  # locks in id order (dead_letter's)
            event_id = letter[0].get("id") if isinstance(letter[0], dict) else None
            return event_id if isinstance(event_id, str) else ""

        with uow:
            for envelope, reason, attempts in sorted(letters, key=by_id):
                event_id = envelope.get("id") if isinstance(envelope, dict) else None
                data = envelope.get("data") if isinstance(envelope, dict) else None
                entity = data.get("legal_entity") if isinstance(data, dict) else None
                dead_letter(
                    uow,
                    envelope,
                    reason,
                    channel=CHANNEL,
                    attempts=attempts,
                    event_id=event_id if isinstance(event_id, str) else None,
                    legal_entity=entity if isinstance(entity, str) else None,
                )

    async def handle(self, msgs: list[Msg]) -> None:
        """Apply one fetched batch and acknowledge it (see the module's docstring)."""
        self.stats.received += len(msgs)
        self.stats.batches += 1
        good, poison = await asyncio.to_thread(_decode_all, msgs)  # off the event loop
        if poison:
            letters = [(envelope, reason, 1) for _, envelope, reason in poison]
            await asyncio.to_thread(self._dead_letter_many, letters)
            self.stats.dead_lettered += len(letters)
            for msg, _, _ in poison:
                await msg.ack()
        if good:
            await self._apply_split(good)

    async def _apply_split(self, part: list[tuple[Msg, a.ActivityEvent, Any]]) -> None:
        """Apply ``part`` in one transaction and ack it; when that fails, its halves."""
        if len(part) == 1:
            await self._one(*part[0])
            return
        try:
            await asyncio.to_thread(self._apply, [e for _, e, _ in part])
        except Exception as exc:
            _log.warning("activity batch of %d failed (%s); splitting it", len(part), exc)
            middle = len(part) // 2
            await self._apply_split(part[:middle])
            await self._apply_split(part[middle:])
            return
        for msg, _, _ in part:
            await msg.ack()

    async def _one(self, msg: Msg, event: a.ActivityEvent, envelope: Any) -> None:
        try:
            await asyncio.to_thread(self._apply, [event])
        except Exception as exc:
            delivered = msg.metadata.num_delivered or 1
            reason = f"failed {delivered} times: {type(exc).__name__}: {exc}"[:2000]
            self.stats.errors.append(reason)
            if delivered >= self.settings.max_deliver:
                try:
                    await asyncio.to_thread(self._dead_letter, envelope, reason, delivered)
                except Exception:
                    await msg.nak(delay=self.settings.retry_delay_seconds)
                    self.stats.redelivery_requested += 1
                    return
                self.stats.dead_lettered += 1
                await msg.term()
            else:
                await msg.nak(delay=self.settings.retry_delay_seconds)
                self.stats.redelivery_requested += 1
            return
        await msg.ack()

    async def run(
        self,
        *,
        stop: asyncio.Event | None = None,
        idle_exit_seconds: float | None = None,
    ) -> ConsumerStats:
        """Consume until ``stop`` is set, or no message came for ``idle_exit_seconds``."""
        s = self.settings
        started = time.monotonic()
        nc = await nats.connect(s.url, connect_timeout=5, max_reconnect_attempts=3)
        try:
            js = nc.jetstream()
            await self.ensure_stream(js)
            consumer = api.ConsumerConfig(
                durable_name=s.durable,
                ack_policy=api.AckPolicy.EXPLICIT,
                max_deliver=-1,
                ack_wait=s.ack_wait_seconds,
                max_ack_pending=max(1000, s.batch * (s.concurrency + 3)),
            )
            subject = s.subjects[0]
            sub = await js.pull_subscribe(
                subject, durable=s.durable, stream=s.stream, config=consumer
            )
            idle_since = time.monotonic()

            async def fetch() -> list[Msg]:
                try:
                    return list(await sub.fetch(s.batch, timeout=s.fetch_timeout_seconds))
                except (NatsTimeout, TimeoutError):  # nothing within the timeout
                    return []

            # batches being applied (acked after commit); the next is fetched meanwhile
            applying: set[asyncio.Task[None]] = set()

            async def settle(wait: bool) -> None:
                """Drop the finished batches (re-raising what one raised); with ``wait``,
                first wait until one finishes."""
                nonlocal applying
                if wait:
                    await asyncio.wait(applying, return_when=asyncio.FIRST_COMPLETED)
                done = {t for t in applying if t.done()}
                applying -= done
                for task in done:
                    task.result()

            try:
                while stop is None or not stop.is_set():
                    msgs = await fetch()
                    await settle(wait=bool(msgs) and len(applying) >= max(1, s.concurrency))
                    if msgs:
                        applying.add(asyncio.create_task(self.handle(msgs)))
                        idle_since = time.monotonic()
                    elif applying:
                        idle_since = time.monotonic()
                    elif (
                        idle_exit_seconds is not None
                        and time.monotonic() - idle_since >= idle_exit_seconds
                    ):
                        break
            finally:
                if applying:  # stopping: let the batches under way commit and ack
                    with contextlib.suppress(BaseException):
                        await asyncio.gather(*applying)
        finally:
            await nc.close()  # every fetched message was acked or nak'ed: nothing to drain
        self.stats.seconds = time.monotonic() - started
        return self.stats
