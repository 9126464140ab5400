"""The unit of work: one connection and one transaction, shared by the repositories."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import Connection, Engine

from custmaster.persistence.activity import SqlActivityRepository
from custmaster.persistence.affinity import SqlAffinityRepository
from custmaster.persistence.audit import SqlAuditLog, sealer_for
from custmaster.persistence.certificates import SqlCertificateRepository
from custmaster.persistence.console_quality import SqlQualityReads
from custmaster.persistence.console_sessions import SqlConsoleSessionStore
from custmaster.persistence.customers import SqlCustomerRepository
from custmaster.persistence.governance import SqlChangeRequestRepository, SqlUserRepository
from custmaster.persistence.idempotency import SqlIdempotencyStore
from custmaster.persistence.imports import SqlImportRepository
from custmaster.persistence.matching import SqlMatchingRepository
from custmaster.persistence.outbox import SqlOutbox
from custmaster.persistence.profile_rules import SqlProfileRulesRepository
from custmaster.persistence.reference import SqlReferenceRepository
from custmaster.persistence.relay import SqlRelayStore
from custmaster.persistence.segments import SqlSegmentRepository
from custmaster.persistence.sources import SqlSourceRepository
from custmaster.persistence.structure import SqlStructureRepository
from custmaster.persistence.sync import SqlSyncRepository
from custmaster.persistence.webhooks import SqlWebhookRepository
from custmaster.services.certificates.ports import CertificateRepository
from custmaster.services.console.ports import ConsoleSessionStore, QualityReads
from custmaster.services.dedup.ports import MatchingRepository
from custmaster.services.imports.store import ImportRepository
from custmaster.services.ports import (
    AuditLog,
    ChangeRequestRepository,
    CustomerRepository,
    IdempotencyStore,
    Outbox,
    ReferenceRepository,
    UserRepository,
)
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


class SqlUnitOfWork:
    """``with uow:`` opens a transaction or joins the one already open; the outermost
    block commits when it ends without an exception and rolls back otherwise."""

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

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._depth = 0
        self._read_only = False
        self._autocommit = False
        self._connection: Connection | None = None
        self._audit_log: SqlAuditLog | None = None

    def read_only(self, *, autocommit: bool = False) -> SqlUnitOfWork:
        """See ``UnitOfWork.read_only``. ``autocommit`` applies to PostgreSQL only: a
        READ COMMITTED transaction gives each statement its own snapshot anyway, so a
        short read loses nothing without it and saves two round trips."""
        if self._depth == 0:
            self._read_only = True
            self._autocommit = autocommit and self._engine.dialect.name == "postgresql"
        return self

    def __enter__(self) -> SqlUnitOfWork:
        if self._depth == 0:
            connection = self._engine.connect()
            if self._autocommit:
                # reset to the engine's isolation level when the connection goes back
                connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            elif self._read_only:
                connection = connection.execution_options(sqlite_begin="DEFERRED")
            connection.begin()
            self._connection = connection
            self.customers = SqlCustomerRepository(connection)
            self.reference = SqlReferenceRepository(connection)
            self.audit = self._audit_log = SqlAuditLog(connection)
            self.outbox = SqlOutbox(connection)
            self.idempotency = SqlIdempotencyStore(connection)
            self.imports = SqlImportRepository(connection)
            self.users = SqlUserRepository(connection)
            self.change_requests = SqlChangeRequestRepository(connection)
            self.matching = SqlMatchingRepository(connection)
            self.structure = SqlStructureRepository(connection)
            self.certificates = SqlCertificateRepository(connection)
            self.sources = SqlSourceRepository(connection)
            self.relay = SqlRelayStore(connection)
            self.console_sessions = SqlConsoleSessionStore(connection)
            self.quality = SqlQualityReads(connection)
            self.webhooks = SqlWebhookRepository(connection)
            self.sync = SqlSyncRepository(connection)
            self.profile_rules = SqlProfileRulesRepository(connection)
            self.segments = SqlSegmentRepository(connection)
            self.affinity = SqlAffinityRepository(connection)
            self.activity = SqlActivityRepository(connection)
        self._depth += 1
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._depth -= 1
        if self._depth > 0:
            return
        connection, self._connection = self._connection, None
        self._read_only = self._autocommit = False
        if connection is None:  # pragma: no cover - __enter__ always sets it
            return
        committed = False
        try:
            if exc_type is None:
                connection.commit()
                committed = True
            else:
                connection.rollback()
        finally:
            connection.close()
        if committed and self._audit_log is not None and self._audit_log.appended:
            # chain the entries this transaction appended (after commit: writers never
            # wait for one another on the audit chain)
            sealer_for(self._engine).request()
