"""Sign-in sessions of the steward console.

A session is started by proving an identity the API accepts: an API key
(``services.auth.authenticate_key``) or an OIDC access token (the configured
``TokenVerifier``). The browser gets a random token in a cookie; the server stores only
its SHA-256, with a CSRF token bound to the session. An API-key session is checked again
on every request (key not revoked, user still active, the user's current roles and
entities); an OIDC session keeps the token's principal until the token's own expiry.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from custmaster.domain.errors import Unauthenticated
from custmaster.domain.permissions import Principal, Role
from custmaster.services.auth import KEY_PREFIX, TokenVerifier, authenticate_key
from custmaster.services.console.ports import SessionRecord
from custmaster.services.ports import UnitOfWork

#: The longest a session lives (an OIDC session also ends with its token).
SESSION_LIFETIME = timedelta(hours=8)


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    """A signed-in browser: who, and the CSRF token its forms must carry."""

    principal: Principal
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class StartedSession:
    token: str  #: the cookie's value (shown once, never stored)
    session: ConsoleSession


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _principal_data(principal: Principal) -> dict[str, Any]:
    return {
        "name": principal.name,
        "roles": sorted(r.value for r in principal.roles),
        "entities": None if principal.entities is None else sorted(principal.entities),
    }


def _principal_of(user_id: str, data: dict[str, Any]) -> Principal:
    entities = data.get("entities")
    return Principal(
        user_id=user_id,
        name=str(data.get("name") or user_id),
        roles=frozenset(Role(r) for r in data.get("roles", [])),
        entities=None if entities is None else frozenset(entities),
    )


def _token_expiry(token: str) -> datetime | None:
    """The ``exp`` claim of a JWT whose signature was verified already."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return datetime.fromtimestamp(int(claims["exp"]), UTC)
    except (IndexError, KeyError, TypeError, ValueError):
        return None


def sign_in(
    uow: UnitOfWork, credential: str, verifier: TokenVerifier | None, *, now: datetime | None = None
) -> StartedSession:
    """A new session for the holder of ``credential`` (an API key, or an OIDC access token
    when a provider is configured); ``Unauthenticated`` otherwise."""
    credential = credential.strip()
    if not credential:
        raise Unauthenticated("give an API key or an access token")
    now = now or datetime.now(UTC)
    expires = now + SESSION_LIFETIME
    if credential.startswith(KEY_PREFIX) or verifier is None:
        principal = authenticate_key(uow, credential)
        method, prefix = "key", credential.removeprefix(KEY_PREFIX).partition("_")[0]
    else:
        principal = verifier.verify(credential)
        method, prefix = "oidc", None
        token_end = _token_expiry(credential)
        if token_end is not None:
            expires = min(expires, token_end)
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    record = SessionRecord(
        token_hash(token),
        principal.user_id,
        method,
        prefix,
        _principal_data(principal),
        csrf,
        now,
        expires,
        None,
    )
    with uow:
        uow.console_sessions.purge(now - SESSION_LIFETIME)
        uow.console_sessions.add(record)
    return StartedSession(token, ConsoleSession(principal, csrf, expires))


def current_session(
    uow: UnitOfWork, token: str, *, now: datetime | None = None
) -> ConsoleSession | None:
    """The live session of a cookie's token; None when unknown, ended or expired, or when
    its API key was revoked or its user deactivated since."""
    now = now or datetime.now(UTC)
    with uow.read_only(autocommit=True):
        record = uow.console_sessions.get(token_hash(token))
        if record is None or record.ended_at is not None or record.expires_at <= now:
            return None
        if record.method != "key":
            principal = _principal_of(record.user_id, record.principal)
            return ConsoleSession(principal, record.csrf_token, record.expires_at)
        key = uow.users.key(record.key_prefix or "")
        user = uow.users.get(record.user_id)
    if key is None or key.revoked_at is not None or key.user_id != record.user_id:
        return None
    if user is None or not user.active:
        return None
    return ConsoleSession(user.principal, record.csrf_token, record.expires_at)


def sign_out(uow: UnitOfWork, token: str, *, now: datetime | None = None) -> None:
    with uow:
        uow.console_sessions.end(token_hash(token), now or datetime.now(UTC))
