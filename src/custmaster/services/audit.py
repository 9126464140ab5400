"""Audit trail checks."""

from __future__ import annotations

from custmaster.domain.audit_chain import VerifyResult
from custmaster.domain.permissions import Permission, Principal, require
from custmaster.services.ports import UnitOfWork


def verify_audit(uow: UnitOfWork, actor: Principal) -> VerifyResult:
    """Walk the hash chain; the result names the first entry that does not fit."""
    require(actor, Permission.AUDIT_VERIFY)
    with uow.read_only():
        return uow.audit.verify()
