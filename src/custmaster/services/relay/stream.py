"""The JetStream stream the relay feeds: made when missing, its subjects extended when an
event of a new aggregate comes along."""

from __future__ import annotations

from collections.abc import Iterable

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from custmaster.services.relay.config import RelayConfig


def subjects_of(config: RelayConfig, aggregates: Iterable[str]) -> list[str]:
    """One wildcard per aggregate (``custmaster.customer.>``): never ``custmaster.>``, so
    other streams may take other subjects under the prefix (``custmaster.inbound.>``)."""
    return sorted({f"{config.subject_prefix}.{aggregate}.>" for aggregate in aggregates})


def stream_config(config: RelayConfig, subjects: list[str]) -> StreamConfig:
    """File storage, limits retention, the deduplication window (longer than a lease)."""
    return StreamConfig(
        name=config.stream,
        description="custmaster change events (CloudEvents 1.0), relayed from the outbox",
        subjects=subjects,
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        num_replicas=config.replicas,
        duplicate_window=config.duplicate_window_seconds,
        max_age=config.max_age_seconds,
    )


def covers(pattern: str, subject: str) -> bool:
    """Whether the NATS subject pattern ``pattern`` takes every subject ``subject`` does
    (``custmaster.>`` covers ``custmaster.customer.>``)."""
    have, want = pattern.split("."), subject.split(".")
    for n, token in enumerate(have):
        if token == ">":
            return len(want) > n
        if (
            n >= len(want)
            or (token != "*" and token != want[n])
            or (token == "*" and want[n] == ">")
        ):
            return False
    return len(have) == len(want)


async def ensure_stream(
    js: JetStreamContext, config: RelayConfig, aggregates: Iterable[str]
) -> set[str]:
    """Create the stream, or add the subjects of ``aggregates`` it does not cover yet;
    the subjects it takes (as the relay asks for them)."""
    wanted = subjects_of(config, aggregates)
    try:
        info = await js.stream_info(config.stream)
    except NotFoundError:
        await js.add_stream(stream_config(config, wanted))
        return set(wanted)
    have = list(info.config.subjects or [])
    missing = [s for s in wanted if not any(covers(h, s) for h in have)]
    if missing:
        info.config.subjects = have + missing
        await js.update_stream(info.config)
    return set(wanted)
