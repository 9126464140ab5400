"""Tamper-evident audit: a SHA-256 hash chain over canonical JSON.

Each entry's hash covers its content and the previous entry's hash::

    hash = sha256(previous_hash + "\\n" + canonical_json(content)).hexdigest()

and the first entry links to :data:`GENESIS_HASH`. Changing, inserting, removing or
reordering an entry breaks the chain at that entry; removing entries from the end is
caught by comparing the last hash with one kept elsewhere (``expected_head``).

Canonical JSON: keys sorted, no whitespace, UTF-8, no NaN/Infinity. Decimals are
strings in plain notation without trailing zeros (``Decimal('100.50')`` -> ``"100.5"``)
so a database that pads the scale does not break the chain; datetimes are UTC ISO 8601
strings with microseconds and ``Z`` (naive ones are taken as UTC); dates ISO strings;
UUIDs lowercase strings; enums their value; tuples lists; sets sorted lists.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Protocol
from uuid import UUID

#: The previous hash of the first entry of a chain.
GENESIS_HASH = "0" * 64


def _decimal(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"cannot serialise {value} canonically")
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def _plain(value: Any) -> Any:
    """``value`` as JSON-native data (dict, list, str, int, float, bool, None)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Enum):
        return _plain(value.value)
    if isinstance(value, Decimal):
        return _decimal(value)
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Mapping):
        result: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(key, Enum):
                key = key.value
            if not isinstance(key, str):
                raise TypeError(f"audit content keys must be strings, not {key!r}")
            result[str(key)] = _plain(item)
        return result
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        items = [_plain(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    raise TypeError(f"cannot serialise {type(value).__name__} in audit content")


def canonical_json(content: Any) -> str:
    """The canonical JSON text of ``content`` (see the module docstring)."""
    return canonical_text(_plain(content))


def canonical_text(plain: Any) -> str:
    """The canonical JSON text of a value that is JSON-native already (what
    ``canonical_json`` writes once ``content`` is made plain)."""
    return json.dumps(
        plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def entry_hash(content: Mapping[str, Any], previous_hash: str) -> str:
    """SHA-256 hex of the previous hash and the entry's canonical content."""
    return text_hash(canonical_json(content), previous_hash)


def text_hash(text: str, previous_hash: str) -> str:
    """SHA-256 hex of the previous hash and an entry's canonical text."""
    data = previous_hash.encode("ascii") + b"\n" + text.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


class ChainedEntry(Protocol):
    """An audit entry as the chain sees it (a persistence row may fit as it is)."""

    @property
    def id(self) -> Any: ...

    @property
    def content(self) -> Mapping[str, Any]: ...

    @property
    def previous_hash(self) -> str: ...

    @property
    def hash(self) -> str: ...


@dataclass(frozen=True, slots=True)
class ChainLink:
    """A concrete :class:`ChainedEntry`."""

    id: Any
    content: Mapping[str, Any]
    previous_hash: str
    hash: str


def link(entry_id: Any, content: Mapping[str, Any], previous_hash: str) -> ChainLink:
    """A new entry appended after the one whose hash is ``previous_hash``."""
    return ChainLink(entry_id, content, previous_hash, entry_hash(content, previous_hash))


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """``checked``: entries read (the bad one included); ``first_bad_id``: ``str(id)``."""

    ok: bool
    checked: int
    first_bad_id: str | None = None
    reason: str | None = None
    last_hash: str = GENESIS_HASH


def verify_chain(
    entries: Iterable[ChainedEntry],
    *,
    start_hash: str = GENESIS_HASH,
    expected_head: str | None = None,
) -> VerifyResult:
    """Check the chain in order, reading one entry at a time, and stop at the first bad one.

    ``start_hash`` lets a verification resume from a known-good entry; ``expected_head``
    (the last hash kept outside the table) catches entries removed from the end.
    """
    expected_previous = start_hash
    checked = 0
    last_id: str | None = None
    for entry in entries:
        checked += 1
        last_id = str(entry.id)
        if entry.previous_hash != expected_previous:
            return VerifyResult(
                False,
                checked,
                last_id,
                "previous_hash does not match the hash of the entry before it "
                "(an entry was changed, inserted, removed or reordered)",
                expected_previous,
            )
        try:
            actual = entry_hash(entry.content, entry.previous_hash)
        except (TypeError, ValueError) as exc:
            return VerifyResult(False, checked, last_id, f"content cannot be hashed: {exc}")
        if entry.hash != actual:
            return VerifyResult(
                False,
                checked,
                last_id,
                "hash does not match the entry's content",
                expected_previous,
            )
        expected_previous = entry.hash
    if expected_head is not None and expected_head != expected_previous:
        return VerifyResult(
            False,
            checked,
            last_id,
            "the last entry's hash is not the expected head (entries missing at the end?)",
            expected_previous,
        )
    return VerifyResult(True, checked, None, None, expected_previous)
