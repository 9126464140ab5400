"""The data quality dashboard's aggregates (``services.console.ports.QualityReads``): one
grouped scan of the active customers, and the review queue's counts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, case, func, not_, select

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


class SqlQualityReads:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def completeness(self, fields: tuple[str, ...]) -> list[EntityCompleteness]:
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
        found = []
        for row in self._connection.execute(statement):
            data = row._mapping
            found.append(
                EntityCompleteness(
                    entity=data["owning_entity"],
                    total=int(data["total"]),
                    filled={n: int(data[f"f_{n}"]) for n in fields},
                    invalid={n: int(data[f"i_{n}"]) for n in fields if n in _IMPLAUSIBLE},
                )
            )
        return found

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
