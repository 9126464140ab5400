"""Authentication: API keys (stored hashed, shown once) and OIDC/JWT bearer tokens
(:mod:`custmaster.services.bearer_tokens`); user administration."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable
from typing import Any
from uuid import uuid4

from custmaster.domain.context import ParseContext, RefCheck, RefKind
from custmaster.domain.errors import (
    Conflict,
    FieldError,
    NotFound,
    Unauthenticated,
    ValidationFailed,
)
from custmaster.domain.events import CloudEvent
from custmaster.domain.permissions import Permission, Principal, Role, require
from custmaster.services.bearer_tokens import TokenVerifier as TokenVerifier
from custmaster.services.ports import ApiKeyRecord, UnitOfWork, UserRecord
from custmaster.services.recording import record_change, utcnow

KEY_PREFIX = "cm_"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_key() -> tuple[str, str, str]:
    """(full key, prefix, secret hash). The full key is shown once and never stored."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return f"{KEY_PREFIX}{prefix}_{secret}", prefix, _hash(secret)


def _user_event(operation: str, user_id: str, data: dict[str, Any]) -> CloudEvent:
    return CloudEvent(
        id=uuid4(), type=f"custmaster.user.{operation}", subject=user_id, time=utcnow(), data=data
    )


def _parse_roles(roles: Iterable[str]) -> frozenset[Role]:
    parsed: set[Role] = set()
    for role in roles:
        try:
            parsed.add(Role(role))
        except ValueError:
            allowed = ", ".join(r.value for r in Role)
            raise ValidationFailed(
                [FieldError("roles", "invalid_choice", f"'{role}' is not one of: {allowed}")]
            ) from None
    if not parsed:
        raise ValidationFailed([FieldError("roles", "required", "a user needs a role")])
    return frozenset(parsed)


def add_user(
    uow: UnitOfWork,
    actor: Principal,
    user_id: str,
    *,
    roles: Iterable[str],
    name: str | None = None,
    entities: Iterable[str] | None = None,
) -> str:
    """Create a user and its first API key; returns the key (shown once)."""
    require(actor, Permission.USER_MANAGE)
    scope = None if entities is None else frozenset(entities)
    principal = Principal(
        user_id=user_id, name=name or user_id, roles=_parse_roles(roles), entities=scope or None
    )
    with uow:
        if uow.users.get(user_id) is not None:
            raise Conflict(f"user '{user_id}' exists already")
        if scope:
            checks = [RefCheck(RefKind.LEGAL_ENTITY, code, "entities") for code in sorted(scope)]
            missing = uow.reference.missing(checks)
            if missing:
                ctx = ParseContext()
                for check in missing:
                    ctx.errors.add(
                        "entities", "unknown_reference", f"no legal entity '{check.code}'"
                    )
                ctx.errors.raise_if_any()
        now = utcnow()
        uow.users.add(principal, now)
        key, prefix, digest = _new_key()
        uow.users.add_key(user_id, prefix, digest, now)
        data = {
            "id": user_id,
            "name": principal.name,
            "roles": sorted(r.value for r in principal.roles),
            "entities": None if scope is None else sorted(scope),
            "key_prefix": prefix,
        }
        record_change(
            uow,
            actor,
            operation="create",
            resource_type="user",
            resource_id=user_id,
            changes=[{"field": "user", "before": None, "after": data}],
            event=_user_event("created", user_id, data),
        )
        return key


def add_key(uow: UnitOfWork, actor: Principal, user_id: str) -> str:
    require(actor, Permission.USER_MANAGE)
    with uow:
        if uow.users.get(user_id) is None:
            raise NotFound(f"no user '{user_id}'")
        key, prefix, digest = _new_key()
        uow.users.add_key(user_id, prefix, digest, utcnow())
        record_change(
            uow,
            actor,
            operation="add_key",
            resource_type="user",
            resource_id=user_id,
            changes=[{"field": "api_keys", "before": None, "after": prefix}],
            event=_user_event("key_added", user_id, {"key_prefix": prefix}),
        )
        return key


def revoke_key(uow: UnitOfWork, actor: Principal, prefix: str) -> None:
    require(actor, Permission.USER_MANAGE)
    with uow:
        record = uow.users.key(prefix)
        if record is None or not uow.users.revoke_key(prefix, utcnow()):
            raise NotFound(f"no active API key '{prefix}'")
        record_change(
            uow,
            actor,
            operation="revoke_key",
            resource_type="user",
            resource_id=record.user_id,
            changes=[{"field": "api_keys", "before": prefix, "after": None}],
            event=_user_event("key_revoked", record.user_id, {"key_prefix": prefix}),
        )


def list_users(uow: UnitOfWork, actor: Principal) -> list[tuple[UserRecord, list[ApiKeyRecord]]]:
    require(actor, Permission.USER_MANAGE)
    with uow.read_only():
        return [(user, uow.users.keys_of(user.principal.user_id)) for user in uow.users.all()]


class KeyCache:
    """Verified API keys trusted for ``seconds`` without a database look-up (per process).

    Keyed by the key's hash, never the key itself; bounded in size."""

    MAX_ENTRIES = 10_000

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._entries: dict[str, tuple[Principal, float]] = {}

    def get(self, token: str) -> Principal | None:
        if self.seconds <= 0:
            return None
        hit = self._entries.get(_hash(token))
        if hit is None or hit[1] < time.monotonic():
            return None
        return hit[0]

    def put(self, token: str, principal: Principal) -> None:
        if self.seconds <= 0:
            return
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries.clear()
        self._entries[_hash(token)] = (principal, time.monotonic() + self.seconds)


def active_principal(uow: UnitOfWork, user_id: str) -> Principal | None:
    """The principal of active user ``user_id`` (``None`` when there is none): who a
    command on this machine acts as when its operator names a user (``--as-user``,
    ``--approver``); the machine's operator needs no key."""
    with uow.read_only():
        user = uow.users.get(user_id)
    return user.principal if user is not None and user.active else None


def authenticate_key(uow: UnitOfWork, token: str) -> Principal:
    """The user behind an API key; ``Unauthenticated`` for anything else."""
    body = token.removeprefix(KEY_PREFIX)
    prefix, _, secret = body.partition("_")
    if not token.startswith(KEY_PREFIX) or not prefix or not secret:
        raise Unauthenticated("not a custmaster API key")
    with uow.read_only():
        record = uow.users.key(prefix)
        if record is None or record.revoked_at is not None:
            raise Unauthenticated("unknown or revoked API key")
        if not hmac.compare_digest(record.secret_hash, _hash(secret)):
            raise Unauthenticated("unknown or revoked API key")
        user = uow.users.get(record.user_id)
    if user is None or not user.active:
        raise Unauthenticated("the key's user is not active")
    return user.principal
