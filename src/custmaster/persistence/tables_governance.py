"""Governance tables: users, API keys, change requests."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, String, Table, Uuid

from custmaster.persistence.tables import metadata
from custmaster.persistence.types import Json, UtcDateTime

users = Table(
    "users",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("roles", Json, nullable=False),
    #: legal entity codes the user is scoped to; NULL means every entity
    Column("entities", Json),
    Column("active", Boolean, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)
api_keys = Table(
    "api_keys",
    metadata,
    Column("prefix", String(32), primary_key=True),
    Column("user_id", String(128), ForeignKey("users.id"), nullable=False, index=True),
    #: SHA-256 of the secret part; keys are 256-bit random, so a fast hash is enough
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime()),
)
change_requests = Table(
    "change_requests",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("operation", String(32), nullable=False),
    Column("customer_id", Uuid),
    Column("submitted_by", String(128), nullable=False),
    Column("status", String(16), nullable=False),
    Column("lane", String(16), nullable=False),
    #: the request as ChangeRequest.as_dict() renders it
    Column("data", Json, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)
Index("ix_change_requests_status_created", change_requests.c.status, change_requests.c.created_at)
Index("ix_change_requests_customer", change_requests.c.customer_id)
