"""The data quality dashboard: completeness and implausible values per field and legal
entity, the duplicate rate, pending approvals and their age, imports over time. Only the
legal entities the user may see are shown; approvals through the same visibility rule
as the inbox (``list_requests``)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from custmaster.domain.permissions import Permission, Principal, require
from custmaster.services.console.ports import EntityCompleteness
from custmaster.services.governance.access import may_see_entity
from custmaster.services.governance.decide import list_requests
from custmaster.services.imports.jobs import list_jobs
from custmaster.services.ports import UnitOfWork

#: the fields whose completeness is measured
MEASURED = (
    "legal_name",
    "billing_email",
    "phone",
    "website",
    "tax_id",
    "customer_type",
    "industry",
    "customer_group",
    "account_tier",
    "payment_terms",
    "currency",
    "credit_limit",
)
#: the first ages of a pending request's bucket, in hours
AGE_BUCKETS = ((0, "under 1 day"), (24, "1-3 days"), (72, "3-7 days"), (168, "over 7 days"))


@dataclass(frozen=True, slots=True)
class QualityReport:
    fields: tuple[str, ...]
    entities: list[EntityCompleteness]
    total: int
    clusters: dict[str, int]
    pending: list[dict[str, Any]]  #: {"id", "age_hours", "operation"} oldest first
    pending_ages: list[tuple[str, int]]
    imports_by_day: list[tuple[str, int, int]]  #: (day, jobs, records)


def _bucket(hours: float) -> str:
    label = AGE_BUCKETS[0][1]
    for start, name in AGE_BUCKETS:
        if hours >= start:
            label = name
    return label


def quality_report(
    uow: UnitOfWork, actor: Principal, *, now: datetime | None = None
) -> QualityReport:
    require(actor, Permission.CUSTOMER_READ)
    now = now or datetime.now(UTC)
    with uow.read_only():
        rows = uow.quality.completeness(MEASURED)
        clusters = uow.quality.cluster_counts()
    entities = [r for r in rows if r.entity is None or may_see_entity(actor, r.entity)]
    if actor.entities is not None:  # a scoped user sees no unowned totals
        entities = [r for r in entities if r.entity is not None]
    pending: list[dict[str, Any]] = []
    if actor.has(Permission.CHANGEREQUEST_READ):
        found = list_requests(
            uow, actor, statuses=["pending"], waiting_for_me=False, after=None, limit=500
        )
        pending = [
            {
                "id": r.id,
                "operation": r.operation.value,
                "age_hours": (now - r.created_at).total_seconds() / 3600,
            }
            for r in found
        ]
    ages = Counter(_bucket(p["age_hours"]) for p in pending)
    imports: list[tuple[str, int, int]] = []
    if actor.has(Permission.IMPORT_SUBMIT) or actor.has(Permission.IMPORT_APPROVE):
        days: dict[str, list[int]] = {}
        for job in list_jobs(uow, actor, before=None, limit=200):
            day = days.setdefault(job.created_at.date().isoformat(), [0, 0])
            day[0] += 1
            day[1] += job.record_count or 0
        imports = sorted((d, n, r) for d, (n, r) in days.items())[-30:]
    return QualityReport(
        fields=MEASURED,
        entities=entities,
        total=sum(r.total for r in entities),
        clusters=clusters if actor.entities is None else {},
        pending=pending,
        pending_ages=[(name, ages.get(name, 0)) for _, name in AGE_BUCKETS],
        imports_by_day=imports,
    )
