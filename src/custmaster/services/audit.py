"""Audit trail checks."""

from __future__ import annotations

from custmaster.domain.audit_chain import VerifyResult
from custmaster.domain.permissions import Permission, Principal, require
from custmaster.services.ports import UnitOfWork


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
