"""Where an event goes: its subject (from the CloudEvent type) and its partition (from
the CloudEvent subject, e.g. the customer id, so one customer's events keep their order)."""

from __future__ import annotations

import re
import zlib

TYPE_PREFIX = "custmaster."
_UNSAFE = re.compile(r"[^A-Za-z0-9_\-]")


def subject_for(event_type: str, prefix: str) -> str:
    """``custmaster.customer.updated`` -> ``<prefix>.customer.updated`` (each token made
    safe for NATS: no spaces, wildcards or empty tokens)."""
    name = event_type.removeprefix(TYPE_PREFIX)
    tokens = [_UNSAFE.sub("_", token) or "_" for token in name.split(".")]
    if len(tokens) < 2:
        tokens.append("event")
    return ".".join([prefix, *tokens])


def aggregate_of(event_type: str) -> str:
    """The type's aggregate token: ``custmaster.customer.updated`` -> ``customer``."""
    return subject_for(event_type, "x").split(".")[1]


def partition_of(event_subject: str, partitions: int) -> int:
    """The partition of the CloudEvent subject (stable across processes and releases)."""
    if partitions == 1:
        return 0
    return zlib.crc32(event_subject.encode()) % partitions
