"""The ports the services need; ``custmaster.persistence`` implements them.

(``CustomerQuery`` and ``SimilarCustomer`` live in ``services.customer_queries``, so
``services.imports.store`` can use them without an import cycle; ``CustomerQuery`` is
re-exported for older callers.)"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol
from uuid import UUID

from custmaster.domain.approvals import ChangeRequest
from custmaster.domain.audit_chain import VerifyResult
from custmaster.domain.audit_signing import AuditKey, AuditReport, Checkpoint
from custmaster.domain.context import RefCheck
from custmaster.domain.events import CloudEvent
from custmaster.domain.model import Customer, SourceRef
from custmaster.domain.permissions import Principal
from custmaster.services.certificates.ports import CertificateRepository
from custmaster.services.console.ports import ConsoleSessionStore, QualityReads
from custmaster.services.customer_queries import CustomerQuery as CustomerQuery
from custmaster.services.customer_queries import SimilarCustomer
from custmaster.services.dedup.ports import MatchingRepository
from custmaster.services.feed_position import FeedPosition as FeedPosition
from custmaster.services.imports.store import ImportRepository
from custmaster.services.profile.ports import ActivityRepository
from custmaster.services.profile.rule_ports import (
    AffinityRepository,
    ProfileRulesRepository,
    SegmentRepository,
)
from custmaster.services.relay.ports import RelayStore
from custmaster.services.sources.ports import SourceRepository
from custmaster.services.structure.ports import StructureRepository
from custmaster.services.sync.ports import SyncRepository
from custmaster.services.webhooks.ports import WebhookRepository


@dataclass(frozen=True, slots=True)
class AuditEntry:
    occurred_at: datetime
    actor_id: str
    actor_name: str
    operation: str
    resource_type: str
    resource_id: str
    changes: list[dict[str, Any]]
    change_request_id: UUID | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class FeedItem:
    position: FeedPosition
    envelope: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """What an idempotent request answered the first time."""

    status_code: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    fingerprint: str = ""


@dataclass(frozen=True, slots=True)
class UserRecord:
    principal: Principal
    active: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    prefix: str
    user_id: str
    secret_hash: str
    created_at: datetime
    revoked_at: datetime | None


class UserRepository(Protocol):
    def add(self, principal: Principal, created_at: datetime) -> None: ...
    def get(self, user_id: str) -> UserRecord | None: ...
    def all(self) -> list[UserRecord]: ...
    def active_principals(self) -> list[Principal]: ...
    def add_key(
        self, user_id: str, prefix: str, secret_hash: str, created_at: datetime
    ) -> None: ...
    def key(self, prefix: str) -> ApiKeyRecord | None: ...
    def keys_of(self, user_id: str) -> list[ApiKeyRecord]: ...
    def revoke_key(self, prefix: str, at: datetime) -> bool: ...


class ChangeRequestRepository(Protocol):
    def add(self, request: ChangeRequest) -> None: ...
    def save(self, request: ChangeRequest) -> None: ...
    def get(self, request_id: UUID, *, for_update: bool = False) -> ChangeRequest | None: ...
    def find(
        self,
        *,
        statuses: list[str] | None,
        waiting_for_roles: list[str] | None,
        after: tuple[datetime, UUID] | None,
        limit: int,
    ) -> list[ChangeRequest]: ...


class CustomerRepository(Protocol):
    def get(self, customer_id: UUID, *, for_update: bool = False) -> Customer | None: ...
    def get_for_view(
        self, customer_id: UUID, entity: str, hierarchy_type: str
    ) -> tuple[Customer, bool, bool] | None:
        """The customer as ``get`` reads it, whether the legal entity ``entity`` exists
        and whether the customer is a child in any ``hierarchy_type`` link."""
        ...

    def add(self, customer: Customer) -> None: ...
    def add_many(self, batch: Iterable[Customer]) -> None: ...
    def update(self, before: Customer, after: Customer) -> None: ...
    def delete(self, customer_id: UUID) -> None: ...
    def search(self, query: CustomerQuery) -> list[Customer]: ...
    def similar_names(
        self, name: str, *, exclude: UUID | None = None, limit: int = 3
    ) -> list[SimilarCustomer]: ...
    def next_numbers(self, count: int) -> list[int]: ...
    def by_source_ref(self, ref: SourceRef) -> UUID | None: ...


class ReferenceRepository(Protocol):
    def missing(self, checks: list[RefCheck]) -> list[RefCheck]: ...
    def add(self, kind: str, record: dict[str, Any]) -> None: ...
    def update(self, kind: str, code: str, changes: dict[str, Any]) -> None: ...
    def delete(self, kind: str, code: str) -> None: ...
    def get(self, kind: str, code: str) -> dict[str, Any] | None: ...
    def list(self, kind: str, *, after: str | None, limit: int) -> list[dict[str, Any]]: ...


class AuditLog(Protocol):
    def verify(self) -> VerifyResult: ...
    def append(self, entry: AuditEntry) -> None: ...
    def seal(self) -> int:
        """Chain the committed entries appended unsealed; how many."""
        ...

    def append_many(self, entries: list[AuditEntry]) -> None: ...
    def append_sealed(self, entries: list[AuditEntry]) -> None:
        """Append entries chained at once (a bulk writer: holds the chain's lock until
        its transaction ends)."""
        ...

    def for_resource(
        self, resource_type: str, resource_id: str, *, after_id: int | None, limit: int
    ) -> list[AuditEntry]: ...

    def head(self) -> tuple[int, str]:
        """The chain's last sealed entry: its seq and hash (0 and the genesis hash)."""
        ...

    def first_signed_seq(self) -> int | None:
        """The seq of the chain's first signed entry (None: none is signed)."""
        ...

    def published_checkpoints(self) -> list[Checkpoint]:
        """The signed checkpoints still in the outbox."""
        ...

    def verify_signed(self, key: AuditKey, checkpoints: list[Checkpoint]) -> AuditReport:
        """``verify`` plus the entries' signatures and the checkpoints."""
        ...


class Outbox(Protocol):
    def add(self, event: CloudEvent) -> None: ...
    def add_many(self, events: list[CloudEvent]) -> None: ...
    def add_bulk(self, events: list[CloudEvent]) -> None:
        """As ``add_many``, written in bulk (COPY on PostgreSQL) for large batches."""
        ...

    def read(self, after: FeedPosition, limit: int) -> list[FeedItem]: ...


class IdempotencyStore(Protocol):
    def get(self, principal_id: str, key: str) -> StoredResponse | None: ...
    def claim(self, principal_id: str, key: str, fingerprint: str) -> StoredResponse | None:
        """Take the key for this transaction (None) or answer what a twin request stored
        under it; ``RequestInFlight`` while a twin still holds it."""
        ...

    def put(self, principal_id: str, key: str, response: StoredResponse) -> None:
        """Store the answer of the request that claimed the key."""
        ...


class UnitOfWork(Protocol):
    """One transaction. ``with uow:`` begins it (or joins the one already open) and
    commits when the outermost block ends without an exception; otherwise rolls back."""

    customers: CustomerRepository
    reference: ReferenceRepository
    audit: AuditLog
    outbox: Outbox
    idempotency: IdempotencyStore
    imports: ImportRepository
    users: UserRepository
    change_requests: ChangeRequestRepository
    matching: MatchingRepository
    structure: StructureRepository
    certificates: CertificateRepository
    sources: SourceRepository
    relay: RelayStore
    console_sessions: ConsoleSessionStore
    quality: QualityReads
    webhooks: WebhookRepository
    sync: SyncRepository
    profile_rules: ProfileRulesRepository
    segments: SegmentRepository
    affinity: AffinityRepository
    activity: ActivityRepository

    def __enter__(self) -> UnitOfWork: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    def read_only(self, *, autocommit: bool = False) -> UnitOfWork:
        """This unit of work for reads only (no write lock on SQLite). ``autocommit``:
        no transaction on PostgreSQL, each statement reads what is committed when it runs
        (as in a READ COMMITTED transaction) without the BEGIN and COMMIT round trips; only
        for short reads (no server-side cursors, no locks)."""
        ...
