"""The data quality dashboard's aggregates (``services.console.ports.QualityReads``): the
completeness counts per legal entity, and the review queue's counts.

On PostgreSQL the completeness counts are the sums of ``customer_quality_counts``, the
deltas that triggers on ``customers`` maintain (migration ``0023_search_trgm``): a read of
a few rows whatever the number of customers. Elsewhere (SQLite, demo volumes), and for a
field those counts do not cover, one grouped scan of the active customers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, case, column, func, literal_column, not_, select, table

from custmaster.persistence.tables import customers
from custmaster.persistence.tables_matching import (
    duplicate_cluster_members,
    duplicate_clusters,
)
from custmaster.services.console.ports import EntityCompleteness

#: an implausible stored value per field (the field rules refuse these on every write;
#: what the dashboard finds came in before a rule existed or around it)
_IMPLAUSIBLE: dict[str, Any] = {
    "email": not_(customers.c.email.like("%_@_%")),
    "billing_email": not_(customers.c.billing_email.like("%_@_%")),
    "phone": not_(customers.c.phone.like("+%")),
    "currency": func.length(customers.c.currency) != 3,
    "website": not_(customers.c.website.like("%.%")),
}

#: the fields ``customer_quality_counts`` counts (its ``f_`` columns; the ``i_`` columns
#: are the fields of ``_IMPLAUSIBLE``)
COUNTED = (
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


def _as_completeness(data: Any, fields: tuple[str, ...]) -> EntityCompleteness:
    return EntityCompleteness(
        entity=data["owning_entity"],
        total=int(data["total"]),
        filled={n: int(data[f"f_{n}"]) for n in fields},
        invalid={n: int(data[f"i_{n}"]) for n in fields if n in _IMPLAUSIBLE},
    )


class SqlQualityReads:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def completeness(self, fields: tuple[str, ...]) -> list[EntityCompleteness]:
        if self._connection.dialect.name == "postgresql" and set(fields) <= set(COUNTED):
            return self.counted_completeness(fields)
        return self.scanned_completeness(fields)

    def counted_completeness(self, fields: tuple[str, ...]) -> list[EntityCompleteness]:
        """From the maintained counts (PostgreSQL)."""
        names = [
            "total",
            *(f"f_{n}" for n in fields),
            *(f"i_{n}" for n in fields if n in _IMPLAUSIBLE),
        ]
        counts = table("customer_quality_counts", column("owning_entity"), column("status"))
        entity = counts.c.owning_entity
        statement = (
            select(entity, *(func.sum(literal_column(n)).label(n) for n in names))
            .select_from(counts)
            .where(counts.c.status == "active")
            .group_by(entity)
            .having(func.sum(literal_column("total")) != 0)
            .order_by(entity)
        )
        return [
            _as_completeness(row._mapping, fields) for row in self._connection.execute(statement)
        ]

    def scanned_completeness(self, fields: tuple[str, ...]) -> list[EntityCompleteness]:
        """One grouped scan of the active customers."""
        columns = [func.count().label("total")]
        for name in fields:
            column = customers.c[name]
            columns.append(func.count(column).label(f"f_{name}"))
            if name in _IMPLAUSIBLE:
                bad = case((and_(column.is_not(None), _IMPLAUSIBLE[name]), 1))
                columns.append(func.count(bad).label(f"i_{name}"))
        statement = (
            select(customers.c.owning_entity, *columns)
            .where(customers.c.status == "active")
            .group_by(customers.c.owning_entity)
            .order_by(customers.c.owning_entity)
        )
        return [
            _as_completeness(row._mapping, fields) for row in self._connection.execute(statement)
        ]

    def cluster_counts(self) -> dict[str, int]:
        statement = select(duplicate_clusters.c.status, func.count()).group_by(
            duplicate_clusters.c.status
        )
        counts = {str(s): int(n) for s, n in self._connection.execute(statement)}
        member, cluster = duplicate_cluster_members, duplicate_clusters
        members = self._connection.execute(
            select(func.count(func.distinct(member.c.customer_id)))
            .select_from(member.join(cluster, cluster.c.id == member.c.cluster_id))
            .where(cluster.c.status == "open")
        ).scalar_one()
        counts["members_open"] = int(members)
        return counts
