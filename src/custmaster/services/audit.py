"""Audit trail checks, signing and checkpoints (``domain.audit_signing``)."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

from custmaster.domain.audit_chain import VerifyResult
from custmaster.domain.audit_signing import (
    CHECKPOINT_EVENT_TYPE,
    AuditKey,
    AuditReport,
    Checkpoint,
)
from custmaster.domain.events import CloudEvent
from custmaster.domain.permissions import Permission, Principal, require
from custmaster.services.audit_keys import append_checkpoint, read_checkpoints
from custmaster.services.ports import UnitOfWork
from custmaster.services.recording import utcnow

#: what ``audit verify`` says when no key is configured
WITHOUT_KEY = (
    "no audit key (CUSTMASTER_AUDIT_KEY_FILE): only the hash chain was checked. It detects "
    "an entry changed, reordered or removed in the middle by someone who does not recompute "
    "the chain; it does NOT detect entries removed from the end (truncation), nor an entry "
    "inserted that the sealer then chains, nor a chain recomputed by someone with write "
    "access to the database. Generate a key with `custmaster audit keygen FILE`."
)


def seal_audit(uow: UnitOfWork, actor: Principal) -> int:
    """Chain every committed entry not sealed yet (writers seal after their commit; this
    catches up on any a failed or skipped pass left). Returns how many were sealed."""
    require(actor, Permission.AUDIT_VERIFY)
    with uow:
        return uow.audit.seal()


def verify_audit(uow: UnitOfWork, actor: Principal) -> VerifyResult:
    """Seal what is committed, then walk the hash chain; the result names the first entry
    that does not fit."""
    seal_audit(uow, actor)
    with uow.read_only():
        return uow.audit.verify()


def check_audit(
    uow: UnitOfWork,
    actor: Principal,
    key: AuditKey | None,
    checkpoint_file: Path | None = None,
) -> AuditReport:
    """Seal what is committed, then check the chain; with a key also every entry's
    signature and every checkpoint (from ``checkpoint_file`` and the outbox): each head
    still in the chain, the latest one reached. ``AuditFileError`` for an unreadable
    checkpoint file."""
    seal_audit(uow, actor)
    if key is None:
        with uow.read_only():
            return AuditReport(uow.audit.verify(), False, notes=(WITHOUT_KEY,))
    checkpoints = read_checkpoints(checkpoint_file) if checkpoint_file is not None else []
    with uow.read_only():
        checkpoints += uow.audit.published_checkpoints()
        report = uow.audit.verify_signed(key, checkpoints)
    if checkpoint_file is None:
        note = (
            "no checkpoint file (CUSTMASTER_AUDIT_CHECKPOINT_FILE): only the checkpoints "
            "still in the outbox were checked, and whoever can write to the database can "
            "delete those"
        )
        return AuditReport(
            report.result,
            True,
            report.unsigned_before_signing,
            report.checkpoints,
            report.latest,
            (*report.notes, note),
        )
    return report


def publish_checkpoint(
    uow: UnitOfWork,
    actor: Principal,
    key: AuditKey,
    checkpoint_file: Path | None,
    *,
    unless_at: int | None = None,
) -> Checkpoint | None:
    """Seal what is committed, sign the chain head and publish it: as an outbox event in
    the same transaction, then (once committed) as a line of ``checkpoint_file``. None
    (nothing published) when the head is still at seq ``unless_at``."""
    require(actor, Permission.AUDIT_VERIFY)
    with uow:
        uow.audit.seal()  # holds the chain's lock until the commit: the head stays the head
        seq, head = uow.audit.head()
        if seq == unless_at:
            return None
        now = utcnow()
        checkpoint = key.checkpoint(seq, head, now, uow.audit.first_signed_seq())
        uow.outbox.add(
            CloudEvent(
                id=uuid4(),
                type=CHECKPOINT_EVENT_TYPE,
                subject="audit",
                time=now,
                data=checkpoint.as_dict(),
            )
        )
    if checkpoint_file is not None:
        append_checkpoint(checkpoint_file, checkpoint)
    return checkpoint
