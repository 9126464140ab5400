"""Settings: every one has an environment variable CUSTMASTER_<NAME>."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CUSTMASTER_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///custmaster.db",
        description="SQLAlchemy URL; sqlite:///FILE (default) or postgresql://USER@HOST/DB",
    )
    database_pool_size: int = Field(default=10, ge=1, le=200)
    audit_seal_interval_seconds: float = Field(
        default=60,
        ge=0,
        description="a serving process seals audit entries a failed pass left unsealed this "
        "often (0: never; writers seal their own right after commit)",
    )
    certificate_check_interval_seconds: float = Field(
        default=86400,
        ge=0,
        description="a serving process checks tax-exemption certificates for expiry notices "
        "when it starts and then this often (0: never; `custmaster certificates check` "
        "does it from the command line); each notice is sent once",
    )
    audit_seal_delay_seconds: float = Field(
        default=0.25,
        ge=0,
        le=60,
        description="a serving process seals the audit entries its writers append on a "
        "background thread, about this long after their commit and many in one pass, so a "
        "request does not wait for it (0: each writer seals its own right after commit)",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(default=1, ge=1, le=64)
    worker_healthcheck_seconds: int = Field(
        default=30,
        ge=1,
        le=600,
        description="how long a server worker may take to answer its supervisor's health check "
        "(a worker starting on a busy machine) before it is restarted",
    )
    worker_threads: int = Field(
        default=8,
        ge=1,
        le=200,
        description="how many blocking requests (writes; every call on SQLite) a server worker "
        "runs at once; the rest wait their turn on its event loop. Threads beyond the "
        "database pool or the interpreter's lock only lengthen the slowest answers",
    )
    local_principal_id: str = Field(
        default="local", description="who the API acts as until authentication exists"
    )
    local_principal_name: str = "Local Administrator"
    credit_limit_warning: Decimal = Field(default=Decimal("1000000"), ge=0)
    customer_number_prefix: str = Field(default="C", max_length=8)
    customer_number_width: int = Field(default=6, ge=1, le=18)
    approval_policy: Path | None = Field(
        default=None, description="approval policy YAML; default: the shipped policy"
    )
    profile_config: Path | None = Field(
        default=None,
        description="living profile YAML (rates, credit check, KPI sets); default: the shipped one",
    )
    jwt_public_key_file: Path | None = Field(
        default=None, description="PEM public key that verifies OIDC/JWT bearer tokens"
    )
    jwt_jwks_file: Path | None = Field(
        default=None, description="JWKS document (JSON file) that verifies bearer tokens"
    )
    jwt_audience: str | None = Field(
        default=None, description="the aud tokens must carry (required when JWT is on)"
    )
    jwt_issuer: str | None = Field(
        default=None, description="the iss tokens must carry (required when JWT is on)"
    )
    jwt_algorithms: list[str] = Field(
        default_factory=list,
        description="accepted signature algorithms, narrowing each key's own (default: what "
        "the key's type signs: RS*/PS* for RSA, the curve's ES* for EC, EdDSA); never none/HS*",
    )
    jwt_roles_claim: str = "roles"
    jwt_entities_claim: str = Field(
        default="entities",
        description="claim listing the user's legal entities (absent: every entity; []: none)",
    )
    jwt_role_map: dict[str, str] = Field(
        default_factory=dict,
        description="claim value -> custmaster role (JSON); when set, only mapped values count",
    )
    fast_path: bool = Field(
        default=True,
        description="answer the hottest requests (api.fast_path) without the framework's "
        "routing; off: every request takes its route",
    )
    auth_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        description="how long a verified API key is trusted without a database look-up "
        "(a revoked key stops working after at most this long; 0 checks every request)",
    )
    max_request_bytes: int = Field(
        default=2 * 1024 * 1024,
        ge=1024,
        description="the largest JSON or form request body (413 beyond; docs/limits.md)",
    )
    max_upload_bytes: int = Field(
        default=512 * 1024 * 1024,
        ge=1024,
        description="the largest multipart upload, i.e. import files (413 beyond)",
    )
    import_template_dir: Path | None = Field(
        default=None,
        description="a directory of the operator's own import templates (NAME.yaml, chosen "
        "by NAME beside the shipped ones); clients choose templates by name, never by path",
    )
    audit_key_file: Path | None = Field(
        default=None,
        description="the key that signs every audit entry and checkpoint (64 hex digits; "
        "`custmaster audit keygen FILE`); keep it where database users cannot read it",
    )
    audit_checkpoint_file: Path | None = Field(
        default=None,
        description="signed checkpoints of the audit chain's head are appended here (a JSON "
        "line each) besides the outbox; keep it where database users cannot write",
    )
    audit_checkpoint_interval_seconds: float = Field(
        default=60,
        ge=0,
        description="with an audit key, a serving process publishes a signed checkpoint this "
        "often when the chain grew (0: only `custmaster audit checkpoint`)",
    )
    auto_migrate: bool = Field(default=True, description="apply migrations on start (SQLite only)")
    mcp_api_key: str | None = Field(
        default=None, description="`custmaster mcp` (stdio) acts as the user of this API key"
    )
    mcp_allowed_hosts: list[str] = Field(
        default_factory=list,
        description='Host headers the MCP endpoint (/mcp) accepts, e.g. ["mdm.example.com", '
        '"127.0.0.1:*"] (JSON); empty: any (every request needs a bearer token anyway)',
    )
    mcp_allowed_origins: list[str] = Field(
        default_factory=list,
        description="Origin headers the MCP endpoint accepts when mcp_allowed_hosts is set",
    )
    # the outbox relay to NATS JetStream (docs/integration.md)
    nats_url: str = Field(
        default="nats://127.0.0.1:4222", description="the NATS server the relay publishes to"
    )
    relay_stream: str = Field(
        default="CUSTMASTER",
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="the JetStream stream of the change events (made when missing)",
    )
    relay_subject_prefix: str = Field(
        default="custmaster",
        pattern=r"^[A-Za-z0-9_-]+$",
        description="subjects are <prefix>.<aggregate>.<event>",
    )
    relay_in_serve: bool = Field(
        default=False,
        description="each serving process also runs the relay (one holds each partition's "
        "lease at a time); off: run `custmaster relay`",
    )
    relay_batch_size: int = Field(default=500, ge=1, le=10_000)
    relay_lease_seconds: float = Field(
        default=15,
        gt=1,
        le=3600,
        description="a killed relay's partitions are taken over after at most this long",
    )
    relay_partitions: int = Field(
        default=1,
        ge=1,
        le=256,
        description="partitions of the events by CloudEvent subject "
        "(customer id), each with one active relay; order is kept per subject",
    )
    relay_poll_seconds: float = Field(default=0.05, gt=0, le=60)
    relay_ack_timeout_seconds: float = Field(default=5, gt=0, le=600)
    relay_stream_replicas: int = Field(
        default=1,
        ge=1,
        le=5,
        description="replicas of the stream when the relay makes it (production: 3, on a cluster)",
    )
    relay_duplicate_window_seconds: float = Field(
        default=120,
        gt=0,
        description="the stream's deduplication window when the relay "
        "makes it (longer than the lease plus the acknowledgement timeout)",
    )
    relay_max_age_seconds: float = Field(
        default=7 * 86400, gt=0, description="how long the stream keeps events"
    )
    # the integration hub (docs/integration-hub.md)
    webhooks_allow_private_targets: bool = Field(
        default=False,
        description="webhooks may call private, loopback and link-local addresses (off: "
        "refused when a subscription is made and before every attempt)",
    )
    webhook_timeout_seconds: float = Field(default=10, gt=0, le=120)
    webhook_concurrency: int = Field(default=8, ge=1, le=256)
    webhook_disable_after_hours: float = Field(
        default=120,
        gt=0,
        description="a subscription whose deliveries fail this long without one success is "
        "disabled (an event custmaster.webhook.disabled says so)",
    )
    sync_targets_dir: Path | None = Field(
        default=None,
        description="directory of outbound sync mapping files (*.yaml); examples ship in "
        "custmaster/services/sync/targets",
    )
