"""The inbound consumer: a durable JetStream pull consumer on
``<prefix>.<system>`` (default ``custmaster.inbound.<system>``) with explicit
acknowledgement. Each message is one JSON record, or ``{"record": {...}, "entity": ...,
"origin": ...}``; it is acknowledged once applied (or parked as a change request, or
recognised as an echo), terminated when it can never apply (not JSON, invalid,
refused), and negatively acknowledged (redelivered later) when applying it failed for a
passing reason (the database)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import nats
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from custmaster.domain.errors import DomainError
from custmaster.services.inbound.apply import InboundResult

_log = logging.getLogger(__name__)

DEFAULT_PREFIX = "custmaster.inbound"
DEFAULT_STREAM = "CUSTMASTER_INBOUND"

Handler = Callable[[Mapping[str, Any], str | None, str | None], InboundResult]


@dataclass
class ConsumeReport:
    received: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    terminated: int = 0
    redelivery_asked: int = 0


def parse_message(data: bytes) -> tuple[Mapping[str, Any], str | None, str | None]:
    """(record, entity, origin) of a message; ``ValueError`` when it is none."""
    return split_body(json.loads(data))


def split_body(body: Any) -> tuple[Mapping[str, Any], str | None, str | None]:
    """(record, entity, origin) of a decoded message or request body."""
    if not isinstance(body, dict):
        raise ValueError("a message is a JSON object")
    if isinstance(body.get("record"), dict):
        return body["record"], body.get("entity"), body.get("origin")
    return body, None, None


async def ensure_stream(js: Any, stream: str, subject: str) -> str:
    """The stream holding ``subject``: ``stream``, made when missing."""
    try:
        await js.stream_info(stream)
        return stream
    except NotFoundError:
        pass
    try:
        await js.add_stream(StreamConfig(name=stream, subjects=[subject]))
        return stream
    except BadRequestError:  # the subject belongs to another stream already
        return str(await js.find_stream_name_by_subject(subject))


async def consume(
    nats_url: str,
    system: str,
    handler: Handler,
    *,
    stream: str = DEFAULT_STREAM,
    prefix: str = DEFAULT_PREFIX,
    durable: str | None = None,
    batch: int = 16,
    max_messages: int | None = None,
    idle_seconds: float | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> ConsumeReport:
    """Consume until ``stop()``, ``max_messages`` or ``idle_seconds`` without a message."""
    report = ConsumeReport()
    subject = f"{prefix}.{system}"
    connection = await nats.connect(nats_url, connect_timeout=5, max_reconnect_attempts=5)
    try:
        js = connection.jetstream()
        found = await ensure_stream(js, stream, subject)
        name = durable or f"custmaster-inbound-{system}"
        subscription = await js.pull_subscribe(
            subject,
            durable=name,
            stream=found,
            config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=60, max_deliver=20),
        )
        idle = 0.0
        while not stop() and (max_messages is None or report.received < max_messages):
            wanted = batch if max_messages is None else min(batch, max_messages - report.received)
            try:
                messages = await subscription.fetch(wanted, timeout=1.0)
            except (NatsTimeout, TimeoutError):  # nats-py raises either when nothing came
                idle += 1.0
                if idle_seconds is not None and idle >= idle_seconds:
                    break
                continue
            idle = 0.0
            for message in messages:
                report.received += 1
                await _handle(message, handler, report)
    finally:
        await connection.close()  # every message handled was acknowledged already
    return report


async def _handle(message: Any, handler: Handler, report: ConsumeReport) -> None:
    try:
        record, entity, origin = parse_message(message.data)
    except ValueError as exc:
        _log.warning("inbound message %s is not a record: %s", message.subject, exc)
        report.terminated += 1
        await message.term()
        return
    try:
        result = await asyncio.to_thread(handler, record, entity, origin)
    except DomainError as exc:
        _log.warning("inbound record refused: %s", exc)
        report.terminated += 1
        report.statuses["rejected"] = report.statuses.get("rejected", 0) + 1
        await message.term()
        return
    except Exception:
        _log.exception("inbound record failed; asking for redelivery")
        report.redelivery_asked += 1
        await message.nak(delay=2)
        return
    report.statuses[result.status] = report.statuses.get(result.status, 0) + 1
    if result.status == "rejected":
        _log.warning("inbound record rejected: %s", result.errors)
    await message.ack()
