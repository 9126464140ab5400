"""Composition root: settings -> engine -> unit of work -> services.

The one module of the outer layers (``api``, ``cli``, ``agents``) that may import
``custmaster.persistence``: it builds the container, and it hands them the few
infrastructure facts they need (listed in ``__all__``: reading a database error, the
schema's state and migrations, the async reads, the audit sealer, the stored
order lines of the affinity batch), so that
``tests/test_architecture.py`` can forbid every other path."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine

from custmaster.config import Settings
from custmaster.domain.approvals import Policy
from custmaster.domain.audit_signing import AuditKey
from custmaster.domain.permissions import Principal, Role
from custmaster.persistence.affinity_source import stored_order_lines
from custmaster.persistence.audit import sealer_for, use_audit_key
from custmaster.persistence.customer_reads import async_reads
from custmaster.persistence.engine import (
    BadDatabaseUrl,
    describe_unavailable,
    is_unavailable,
    make_engine,
)
from custmaster.persistence.migrate import (
    SchemaNotCurrent,
    check_schema,
    current_revision,
    schema_state,
    upgrade,
)
from custmaster.persistence.uow import SqlUnitOfWork
from custmaster.services.approval_policy_loader import load_policy
from custmaster.services.audit_keys import AuditFileError, load_key
from custmaster.services.auth import KeyCache
from custmaster.services.bearer_tokens import TokenVerifier
from custmaster.services.profile.config import ProfileConfig, load_profile_config
from custmaster.services.relay.config import RelayConfig
from custmaster.services.settings import ConfigurationError, ServiceSettings

__all__ = [
    "BadDatabaseUrl",
    "Container",
    "SchemaNotCurrent",
    "async_reads",
    "build_container",
    "check_schema",
    "current_revision",
    "describe_unavailable",
    "is_unavailable",
    "make_engine",
    "schema_state",
    "sealer_for",
    "stored_order_lines",
    "upgrade",
]


@dataclass
class Container:
    settings: Settings
    engine: Engine
    service_settings: ServiceSettings
    policy: Policy
    token_verifier: TokenVerifier | None = None
    key_cache: KeyCache = field(default_factory=lambda: KeyCache(0))
    #: signs audit entries and checkpoints (``CUSTMASTER_AUDIT_KEY_FILE``; None: unsigned)
    audit_key: AuditKey | None = None
    #: the living profile's rates, credit rule and KPI sets (``CUSTMASTER_PROFILE_CONFIG``)
    profile: ProfileConfig = field(default_factory=ProfileConfig)

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine)

    def system_principal(self) -> Principal:
        """Who acts for jobs started on this machine (demo loader, CLI maintenance)."""
        return Principal(
            user_id=self.settings.local_principal_id,
            name=self.settings.local_principal_name,
            roles=frozenset({Role.ADMIN}),
        )

    def relay_config(self, **overrides: object) -> RelayConfig:
        """The outbox relay's settings (``CUSTMASTER_NATS_URL``, ``CUSTMASTER_RELAY_*``)."""
        s = self.settings
        values: dict[str, object] = {
            "nats_url": s.nats_url,
            "stream": s.relay_stream,
            "subject_prefix": s.relay_subject_prefix,
            "batch_size": s.relay_batch_size,
            "lease_seconds": s.relay_lease_seconds,
            "partitions": s.relay_partitions,
            "poll_seconds": s.relay_poll_seconds,
            "ack_timeout_seconds": s.relay_ack_timeout_seconds,
            "replicas": s.relay_stream_replicas,
            "duplicate_window_seconds": s.relay_duplicate_window_seconds,
            "max_age_seconds": s.relay_max_age_seconds,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return RelayConfig(**values)  # type: ignore[arg-type]

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"


def build_container(settings: Settings | None = None, *, migrate: bool | None = None) -> Container:
    """Wire everything. On the embedded SQLite default, migrations run at start."""
    settings = settings or Settings()
    verifier = TokenVerifier.from_files(  # ConfigurationError: refuses to start
        public_key_file=settings.jwt_public_key_file,
        jwks_file=settings.jwt_jwks_file,
        algorithms=settings.jwt_algorithms,
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
        roles_claim=settings.jwt_roles_claim,
        entities_claim=settings.jwt_entities_claim,
        role_map=settings.jwt_role_map,
    )
    try:
        audit_key = load_key(settings.audit_key_file) if settings.audit_key_file else None
    except AuditFileError as exc:
        raise ConfigurationError(f"CUSTMASTER_AUDIT_KEY_FILE: {exc}") from None
    engine = make_engine(settings.database_url, pool_size=settings.database_pool_size)
    if migrate or (migrate is None and settings.auto_migrate and engine.dialect.name == "sqlite"):
        upgrade(engine)
    use_audit_key(engine, audit_key)
    policy = load_policy(settings.approval_policy)  # validated at start: fails with clear errors
    profile = load_profile_config(settings.profile_config)
    return Container(
        settings=settings,
        engine=engine,
        policy=policy,
        token_verifier=verifier,
        audit_key=audit_key,
        profile=profile,
        key_cache=KeyCache(settings.auth_cache_seconds),
        service_settings=ServiceSettings(
            credit_limit_warning=settings.credit_limit_warning,
            customer_number_prefix=settings.customer_number_prefix,
            customer_number_width=settings.customer_number_width,
            import_template_dir=settings.import_template_dir,
        ),
    )
