"""Signed audit entries and signed checkpoints of the chain head (HMAC-SHA256).

The hash chain (:mod:`custmaster.domain.audit_chain`) proves the entries fit together,
but anyone who can write to the database can recompute it: insert an entry and let the
sealer chain it, or delete the last entries. A key held outside the database closes both:

- every entry is **signed when it is written**, by the process that writes it:
  ``HMAC(key, "custmaster-audit-entry/1" \\n nonce \\n canonical content)``, stored as
  ``<key id>:<nonce>:<mac>``. An entry someone inserts without the key has no valid
  signature, whoever chains it later; the random nonce makes each signature unique, so a
  copied entry shows as a replay;
- **checkpoints** of the chain head (``seq``, ``hash``, ``time``, and ``signed_from``: the
  seq of the first signed entry) are signed with the same key and published outside the
  database (a file, the event stream). The chain must still hold every checkpointed head:
  entries removed from the end, or the chain rewritten before a checkpoint, no longer
  reach it; and every entry from ``signed_from`` on must be signed, so stripping the
  signatures to pass entries off as written before signing began does not work either.

Pure: stdlib only. The key is 32 random bytes; its id is a digest of it (never the key).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from custmaster.domain.audit_chain import (
    GENESIS_HASH,
    ChainLink,
    VerifyResult,
    canonical_json,
    verify_chain,
)

KEY_BYTES = 32
#: the outbox event that publishes a checkpoint (data: ``Checkpoint.as_dict()``)
CHECKPOINT_EVENT_TYPE = "custmaster.audit.checkpoint"
_ENTRY_CONTEXT = b"custmaster-audit-entry/1\n"
_CHECKPOINT_CONTEXT = b"custmaster-audit-checkpoint/1\n"


class AuditKeyError(ValueError):
    """A key file that does not hold an audit key."""


@dataclass(frozen=True)
class AuditKey:
    secret: bytes = field(repr=False)

    @functools.cached_property
    def key_id(self) -> str:
        return hashlib.sha256(b"custmaster-audit-key-id\n" + self.secret).hexdigest()[:16]

    @classmethod
    def generate(cls) -> AuditKey:
        return cls(secrets.token_bytes(KEY_BYTES))

    @classmethod
    def from_text(cls, text: str) -> AuditKey:
        """A key file's text: the key as 64 hexadecimal digits."""
        try:
            secret = bytes.fromhex(text.strip())
        except ValueError:
            raise AuditKeyError("an audit key file holds 64 hexadecimal digits") from None
        if len(secret) != KEY_BYTES:
            raise AuditKeyError(f"an audit key has {KEY_BYTES} bytes (64 hexadecimal digits)")
        return cls(secret)

    def to_text(self) -> str:
        return self.secret.hex() + "\n"

    def _mac(self, context: bytes, *parts: str) -> str:
        message = context + "\n".join(parts).encode("utf-8")
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    def sign_text(self, canonical_content: str) -> str:
        """The signature of an entry whose canonical content text is given."""
        nonce = secrets.token_hex(16)
        return f"{self.key_id}:{nonce}:{self._mac(_ENTRY_CONTEXT, nonce, canonical_content)}"

    def sign_entry(self, content: Mapping[str, Any]) -> str:
        return self.sign_text(canonical_json(content))

    def entry_problem(self, content: Mapping[str, Any], signature: str | None) -> str | None:
        """Why ``signature`` does not sign ``content`` with this key (None: it does)."""
        if not signature:
            return "is not signed (written without the audit key: a forged insert?)"
        key_id, _, rest = signature.partition(":")
        nonce, _, mac = rest.partition(":")
        if key_id != self.key_id:
            return f"is signed with another key (id {key_id[:16]}), not this one ({self.key_id})"
        expected = self._mac(_ENTRY_CONTEXT, nonce, canonical_json(content))
        if not hmac.compare_digest(mac, expected):
            return "has a signature that does not match its content (forged or altered)"
        return None

    def checkpoint(
        self, seq: int, head_hash: str, time: datetime, signed_from: int | None
    ) -> Checkpoint:
        """The head at ``seq`` signed; ``signed_from``: the seq of the chain's first signed
        entry (None: none yet)."""
        stamp = time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        signature = self._checkpoint_mac(seq, head_hash, stamp, signed_from)
        return Checkpoint(seq, head_hash, stamp, self.key_id, signature, signed_from)

    def _checkpoint_mac(self, seq: int, head: str, stamp: str, signed_from: int | None) -> str:
        since = "-" if signed_from is None else str(signed_from)
        return self._mac(_CHECKPOINT_CONTEXT, str(seq), head, stamp, since)

    def checkpoint_problem(self, checkpoint: Checkpoint) -> str | None:
        if checkpoint.key_id != self.key_id:
            return f"is signed with another key (id {checkpoint.key_id[:16]})"
        expected = self._checkpoint_mac(
            checkpoint.seq, checkpoint.hash, checkpoint.time, checkpoint.signed_from
        )
        if not hmac.compare_digest(checkpoint.signature, expected):
            return "has a signature that does not match (forged or altered)"
        return None


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The chain head at a moment, signed: ``seq`` (0: the empty chain), its ``hash``,
    ``time`` (UTC ISO 8601), the key's id, the signature and ``signed_from``, the seq of
    the first signed entry (None: no entry signed yet)."""

    seq: int
    hash: str
    time: str
    key_id: str
    signature: str
    signed_from: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "hash": self.hash,
            "time": self.time,
            "key_id": self.key_id,
            "signature": self.signature,
            "signed_from": self.signed_from,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Checkpoint:
        """``ValueError`` for anything that is not a checkpoint."""
        try:
            seq, head, time = data["seq"], data["hash"], data["time"]
            key_id, signature = data["key_id"], data["signature"]
        except (KeyError, TypeError):
            raise ValueError("not a checkpoint (seq, hash, time, key_id, signature)") from None
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise ValueError("a checkpoint's seq is a non-negative integer")
        if not all(isinstance(v, str) for v in (head, time, key_id, signature)):
            raise ValueError("a checkpoint's hash, time, key_id and signature are strings")
        since = data.get("signed_from")
        if since is not None and (not isinstance(since, int) or isinstance(since, bool)):
            raise ValueError("a checkpoint's signed_from is an integer or null")
        return cls(seq, head, time, key_id, signature, since)


@dataclass(frozen=True, slots=True)
class SignedLink:
    """A sealed entry as signed verification reads it."""

    link: ChainLink
    seq: int
    signature: str | None


@dataclass(frozen=True)
class AuditReport:
    """What ``audit verify`` found: the chain's result (the first problem, if any) and
    what was checked besides it."""

    result: VerifyResult
    signed: bool
    unsigned_before_signing: int = 0
    checkpoints: int = 0
    latest: Checkpoint | None = None
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.result.ok


@dataclass
class _Walk:
    count: int = 0
    unsigned: int = 0
    signed_seen: bool = False
    last_seq: int = 0
    problem: VerifyResult | None = None


def _fail(checked: int, entry_id: Any, reason: str, last_hash: str) -> VerifyResult:
    return VerifyResult(
        False, checked, None if entry_id is None else str(entry_id), reason, last_hash
    )


def verify_signed_chain(
    links: Iterable[SignedLink],
    key: AuditKey,
    checkpoints: Sequence[Checkpoint],
) -> AuditReport:
    """Walk the chain (``audit_chain.verify_chain``) and check, besides, every entry's
    signature (entries before the first signed one were written before signing was on;
    an unsigned one after it is a forgery) and that the chain holds every checkpoint's
    head and reaches the latest one. Stops at the first problem."""
    for checkpoint in checkpoints:
        problem = key.checkpoint_problem(checkpoint)
        if problem:
            reason = f"the checkpoint of {checkpoint.time} (seq {checkpoint.seq}) {problem}"
            return AuditReport(_fail(0, None, reason, GENESIS_HASH), True)
    expected = {c.seq: c for c in checkpoints}
    latest = max(checkpoints, key=lambda c: c.seq, default=None)
    #: from this seq on every entry must be signed (a checkpoint saw it signed)
    must_sign_from = min((c.signed_from for c in checkpoints if c.signed_from), default=None)
    walk = _Walk()
    if 0 in expected and expected[0].hash != GENESIS_HASH:
        reason = "the checkpoint of seq 0 is not the empty chain"
        return AuditReport(_fail(0, None, reason, GENESIS_HASH), True)

    def checked() -> Iterator[ChainLink]:
        for signed in links:
            walk.count += 1
            entry = signed.link
            issue = None
            before_signing = must_sign_from is None or signed.seq < must_sign_from
            if signed.signature is None and not walk.signed_seen and before_signing:
                walk.unsigned += 1
            else:
                issue = key.entry_problem(entry.content, signed.signature)
                walk.signed_seen = True
            checkpoint = expected.get(signed.seq)
            if issue is None and checkpoint is not None and entry.hash != checkpoint.hash:
                issue = (
                    f"is at seq {signed.seq} but does not have the hash the checkpoint "
                    f"of {checkpoint.time} recorded there (entries before it were "
                    "removed or inserted, or the chain rewritten)"
                )
            if issue is not None:
                walk.problem = _fail(walk.count, entry.id, f"entry {issue}", entry.previous_hash)
                return
            walk.last_seq = signed.seq
            yield entry

    result = verify_chain(checked())
    if result.ok and walk.problem is not None:
        result = walk.problem
    elif result.ok and latest is not None and walk.last_seq < latest.seq:
        result = _fail(
            result.checked,
            None,
            f"the chain ends at seq {walk.last_seq} but the checkpoint of {latest.time} "
            f"recorded seq {latest.seq}: entries were removed from the end (truncation)",
            result.last_hash,
        )
    notes: list[str] = []
    if not checkpoints:
        notes.append(
            "no checkpoint found: entries removed from the end are not detected "
            "(publish one with `custmaster audit checkpoint`)"
        )
    elif result.ok and latest is not None and walk.last_seq > latest.seq:
        notes.append(
            f"{walk.last_seq - latest.seq} entries sealed after the latest "
            "checkpoint are covered by their signatures only"
        )
    return AuditReport(result, True, walk.unsigned, len(checkpoints), latest, tuple(notes))
