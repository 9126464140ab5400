"""The steward console's sign-in sessions (migration 0020): one row per session, keyed by
the SHA-256 of the cookie's token (the token itself is never stored)."""

from __future__ import annotations

from sqlalchemy import Column, Index, String, Table

from custmaster.persistence.tables import metadata
from custmaster.persistence.types import Json, UtcDateTime

console_sessions = Table(
    "console_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", String(255), nullable=False),
    #: "key" (an API key: the user and key are checked again on every request) or "oidc"
    Column("method", String(16), nullable=False),
    Column("key_prefix", String(64), nullable=True),
    #: the principal at sign-in: name, roles, entities (used as is for OIDC sessions)
    Column("principal", Json, nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("ended_at", UtcDateTime(), nullable=True),
    Index("ix_console_sessions_expires_at", "expires_at"),
)
