"""The account-structure repository: hierarchy links, relationships, org units and
assignments, templates, extra reference data and per-account settings.

Plain reads and writes; the rules live in the domain and the use cases.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Table,
    delete,
    exists,
    insert,
    or_,
    select,
    text,
    update,
)

from custmaster.domain.hierarchy import HierarchyLink
from custmaster.domain.org_units import CustomerAssignment, OrgUnit, TeamAssignment
from custmaster.domain.relationships import Relationship, RelationshipType
from custmaster.persistence.tables import customer_overrides, customers
from custmaster.persistence.tables_structure import (
    customer_relationships,
    customer_templates,
    hierarchy_links,
    name_affixes,
    operating_hours,
    org_unit_customers,
    org_units,
    payment_days,
    payment_schedule_lines,
    relationship_types,
    sales_organisations,
    team_assignments,
    visit_settings,
)
from custmaster.services.structure.ports import (
    RECORD_KEYS,
    CustomerBrief,
    ScheduleLine,
    StoredCustomerAssignment,
    StoredLink,
    StoredRelationship,
    StoredTeamAssignment,
)

_RECORD_TABLES: dict[str, Table] = {
    "customer_templates": customer_templates,
    "name_affixes": name_affixes,
    "sales_organisations": sales_organisations,
}
_OVERRIDABLE = frozenset(c.name for c in customer_overrides.columns) - {
    "customer_id",
    "entity_code",
    "dimensions",
}


class SqlStructureRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def lock(self, name: str) -> None:
        """A transaction-scoped advisory lock on PostgreSQL; SQLite writers are serialised
        by BEGIN IMMEDIATE already."""
        if self._connection.dialect.name == "postgresql":
            key = zlib.crc32(f"custmaster.structure:{name}".encode())
            self._connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})

    # -- customers -------------------------------------------------------------------

    def briefs(self, ids: Iterable[UUID]) -> dict[UUID, CustomerBrief]:
        wanted = list(set(ids))
        found: dict[UUID, CustomerBrief] = {}
        c = customers.c
        for chunk in _chunks(wanted):
            rows = self._connection.execute(
                select(
                    c.id, c.number, c.name, c.status, c.credit_limit, c.currency, c.owning_entity
                ).where(c.id.in_(chunk))
            )
            for r in rows:
                found[r.id] = CustomerBrief(
                    r.id, r.number, r.name, r.status, r.credit_limit, r.currency, r.owning_entity
                )
        return found

    def field_values(
        self, ids: Iterable[UUID], fields: Sequence[str], entity: str | None
    ) -> dict[UUID, dict[str, Any]]:
        """Master values of ``fields``, with ``entity``'s override applied where it sets one."""
        wanted = list(set(ids))
        values: dict[UUID, dict[str, Any]] = {}
        columns = [customers.c[name] for name in fields]
        overridable = [name for name in fields if name in _OVERRIDABLE]
        for chunk in _chunks(wanted):
            for row in self._connection.execute(
                select(customers.c.id, *columns).where(customers.c.id.in_(chunk))
            ):
                values[row.id] = {name: row._mapping[name] for name in fields}
            if entity is None or not overridable:
                continue
            o = customer_overrides.c
            for row in self._connection.execute(
                select(o.customer_id, *[o[name] for name in overridable]).where(
                    o.customer_id.in_(chunk), o.entity_code == entity
                )
            ):
                for name in overridable:
                    if row._mapping[name] is not None:
                        values[row.customer_id][name] = row._mapping[name]
        return values

    # -- hierarchies -----------------------------------------------------------------

    def links(self, hierarchy_type: str) -> list[StoredLink]:
        h = hierarchy_links.c
        rows = self._connection.execute(
            select(hierarchy_links)
            .where(h.hierarchy_type == hierarchy_type)
            .order_by(h.valid_from, h.created_at, h.id)
        )
        return [_link(row) for row in rows]

    def links_of(self, customer_id: UUID) -> list[StoredLink]:
        """Every link of every hierarchy type with ``customer_id`` as parent or child."""
        h = hierarchy_links.c
        rows = self._connection.execute(
            select(hierarchy_links)
            .where(or_(h.parent_id == customer_id, h.child_id == customer_id))
            .order_by(h.hierarchy_type, h.valid_from, h.created_at, h.id)
        )
        return [_link(row) for row in rows]

    def parent_link(self, hierarchy_type: str, child_id: UUID, as_of: date) -> StoredLink | None:
        """The child's link active on ``as_of`` (one indexed query: the ancestor walk of an
        effective view does not load the whole hierarchy)."""
        h = hierarchy_links.c
        row = self._connection.execute(
            select(hierarchy_links).where(
                h.hierarchy_type == hierarchy_type,
                h.child_id == child_id,
                h.valid_from <= as_of,
                or_(h.valid_to.is_(None), h.valid_to > as_of),
            )
        ).first()
        return None if row is None else _link(row)

    def get_link(self, link_id: UUID) -> StoredLink | None:
        row = self._connection.execute(
            select(hierarchy_links).where(hierarchy_links.c.id == link_id)
        ).first()
        return None if row is None else _link(row)

    def add_link(self, stored: StoredLink, created_at: datetime) -> None:
        link = stored.link
        self._connection.execute(
            insert(hierarchy_links).values(
                id=stored.id,
                hierarchy_type=link.hierarchy_type,
                parent_id=link.parent_id,
                child_id=link.child_id,
                valid_from=link.valid_from,
                valid_to=link.valid_to,
                created_at=created_at,
            )
        )

    def set_link_end(self, link_id: UUID, valid_to: date | None) -> None:
        self._connection.execute(
            update(hierarchy_links).where(hierarchy_links.c.id == link_id).values(valid_to=valid_to)
        )

    def delete_link(self, link_id: UUID) -> None:
        self._connection.execute(delete(hierarchy_links).where(hierarchy_links.c.id == link_id))

    # -- relationships ---------------------------------------------------------------

    def relationship_types(self) -> list[RelationshipType]:
        rows = self._connection.execute(
            select(relationship_types).order_by(relationship_types.c.code)
        )
        return [RelationshipType(row.code, row.name) for row in rows]

    def add_relationship_type(self, rel_type: RelationshipType, created_at: datetime) -> None:
        self._connection.execute(
            insert(relationship_types).values(
                code=rel_type.code, name=rel_type.name, created_at=created_at
            )
        )

    def delete_relationship_type(self, code: str) -> None:
        self._connection.execute(
            delete(relationship_types).where(relationship_types.c.code == code)
        )

    def relationship_type_in_use(self, code: str) -> bool:
        r = customer_relationships.c
        return bool(
            self._connection.execute(select(exists().where(r.relationship_type == code))).scalar()
        )

    def relationships_of(
        self, customer_id: UUID, *, incoming: bool = False
    ) -> list[StoredRelationship]:
        r = customer_relationships.c
        column = r.related_id if incoming else r.customer_id
        rows = self._connection.execute(
            select(customer_relationships)
            .where(column == customer_id)
            .order_by(r.relationship_type, r.valid_from, r.created_at, r.id)
        )
        return [_relationship(row) for row in rows]

    def get_relationship(self, relationship_id: UUID) -> StoredRelationship | None:
        row = self._connection.execute(
            select(customer_relationships).where(customer_relationships.c.id == relationship_id)
        ).first()
        return None if row is None else _relationship(row)

    def add_relationship(self, stored: StoredRelationship, created_at: datetime) -> None:
        rel = stored.relationship
        self._connection.execute(
            insert(customer_relationships).values(
                id=stored.id,
                customer_id=rel.customer_id,
                related_id=rel.related_id,
                relationship_type=rel.relationship_type,
                valid_from=rel.valid_from,
                valid_to=rel.valid_to,
                is_primary=rel.is_primary,
                created_at=created_at,
            )
        )

    def set_relationship_end(self, relationship_id: UUID, valid_to: date) -> None:
        self._connection.execute(
            update(customer_relationships)
            .where(customer_relationships.c.id == relationship_id)
            .values(valid_to=valid_to)
        )

    def delete_relationship(self, relationship_id: UUID) -> None:
        self._connection.execute(
            delete(customer_relationships).where(customer_relationships.c.id == relationship_id)
        )

    # -- org units and assignments ---------------------------------------------------

    def org_units(self) -> list[OrgUnit]:
        rows = self._connection.execute(select(org_units).order_by(org_units.c.code))
        return [OrgUnit(row.code, row.kind, row.name, row.parent_code) for row in rows]

    def add_org_unit(self, unit: OrgUnit, created_at: datetime) -> None:
        self._connection.execute(
            insert(org_units).values(
                code=unit.id,
                kind=unit.kind,
                name=unit.name,
                parent_code=unit.parent_id,
                created_at=created_at,
            )
        )

    def update_org_unit(self, unit: OrgUnit) -> None:
        self._connection.execute(
            update(org_units)
            .where(org_units.c.code == unit.id)
            .values(kind=unit.kind, name=unit.name, parent_code=unit.parent_id)
        )

    def delete_org_unit(self, code: str) -> None:
        self._connection.execute(delete(org_units).where(org_units.c.code == code))

    def org_unit_in_use(self, code: str) -> bool:
        checks = [
            exists().where(org_units.c.parent_code == code),
            exists().where(org_unit_customers.c.org_unit == code),
            exists().where(team_assignments.c.org_unit == code),
        ]
        return bool(self._connection.execute(select(or_(*checks))).scalar())

    def customer_assignments(
        self, *, customer_id: UUID | None = None, org_unit: str | None = None
    ) -> list[StoredCustomerAssignment]:
        a = org_unit_customers.c
        conditions: list[ColumnElement[bool]] = []
        if customer_id is not None:
            conditions.append(a.customer_id == customer_id)
        if org_unit is not None:
            conditions.append(a.org_unit == org_unit)
        rows = self._connection.execute(
            select(org_unit_customers).where(*conditions).order_by(a.valid_from, a.id)
        )
        return [
            StoredCustomerAssignment(
                row.id,
                CustomerAssignment(row.customer_id, row.org_unit, row.valid_from, row.valid_to),
            )
            for row in rows
        ]

    def add_customer_assignment(
        self, stored: StoredCustomerAssignment, created_at: datetime
    ) -> None:
        a = stored.assignment
        self._connection.execute(
            insert(org_unit_customers).values(
                id=stored.id,
                customer_id=a.customer_id,
                org_unit=a.org_unit_id,
                valid_from=a.valid_from,
                valid_to=a.valid_to,
                created_at=created_at,
            )
        )

    def delete_customer_assignment(self, assignment_id: UUID) -> None:
        self._connection.execute(
            delete(org_unit_customers).where(org_unit_customers.c.id == assignment_id)
        )

    def team_assignments(
        self,
        *,
        customer_id: UUID | None = None,
        org_unit: str | None = None,
        unit_level: bool = False,
    ) -> list[StoredTeamAssignment]:
        """Filter by customer, by unit, or ``unit_level``: every assignment to a unit."""
        t = team_assignments.c
        conditions: list[ColumnElement[bool]] = []
        if customer_id is not None:
            conditions.append(t.customer_id == customer_id)
        if org_unit is not None:
            conditions.append(t.org_unit == org_unit)
        if unit_level:
            conditions.append(t.org_unit.is_not(None))
        rows = self._connection.execute(
            select(team_assignments).where(*conditions).order_by(t.valid_from, t.id)
        )
        return [
            StoredTeamAssignment(
                row.id,
                TeamAssignment(
                    row.user_id,
                    row.role,
                    row.valid_from,
                    row.valid_to,
                    customer_id=row.customer_id,
                    org_unit_id=row.org_unit,
                ),
            )
            for row in rows
        ]

    def add_team_assignment(self, stored: StoredTeamAssignment, created_at: datetime) -> None:
        a = stored.assignment
        self._connection.execute(
            insert(team_assignments).values(
                id=stored.id,
                user_id=a.user_id,
                role=a.role,
                customer_id=a.customer_id,
                org_unit=a.org_unit_id,
                valid_from=a.valid_from,
                valid_to=a.valid_to,
                created_at=created_at,
            )
        )

    def delete_team_assignment(self, assignment_id: UUID) -> None:
        self._connection.execute(
            delete(team_assignments).where(team_assignments.c.id == assignment_id)
        )

    # -- keyed records ---------------------------------------------------------------

    def records(self, kind: str, *, after: str | None, limit: int) -> list[dict[str, Any]]:
        table, key = _RECORD_TABLES[kind], RECORD_KEYS[kind]
        query = select(table).order_by(table.c[key]).limit(limit)
        if after is not None:
            query = query.where(table.c[key] > after)
        return [dict(row._mapping) for row in self._connection.execute(query)]

    def get_record(self, kind: str, key: str) -> dict[str, Any] | None:
        table = _RECORD_TABLES[kind]
        row = self._connection.execute(
            select(table).where(table.c[RECORD_KEYS[kind]] == key)
        ).first()
        return None if row is None else dict(row._mapping)

    def add_record(self, kind: str, record: dict[str, Any]) -> None:
        self._connection.execute(insert(_RECORD_TABLES[kind]).values(**record))

    def update_record(self, kind: str, key: str, values: dict[str, Any]) -> None:
        table = _RECORD_TABLES[kind]
        self._connection.execute(
            update(table).where(table.c[RECORD_KEYS[kind]] == key).values(**values)
        )

    def delete_record(self, kind: str, key: str) -> None:
        table = _RECORD_TABLES[kind]
        self._connection.execute(delete(table).where(table.c[RECORD_KEYS[kind]] == key))

    def record_in_use(self, kind: str, key: str) -> bool:
        if kind != "name_affixes":
            return False
        return bool(
            self._connection.execute(select(exists().where(customers.c.name_affix == key))).scalar()
        )

    # -- payment schedules -----------------------------------------------------------

    def schedule(self, payment_terms: str) -> tuple[list[ScheduleLine], list[int]]:
        s = payment_schedule_lines.c
        lines = [
            ScheduleLine(row.percentage, row.due_days, row.discount_percent)
            for row in self._connection.execute(
                select(payment_schedule_lines)
                .where(s.payment_terms == payment_terms)
                .order_by(s.line_no)
            )
        ]
        d = payment_days.c
        days = [
            int(row.day_of_month)
            for row in self._connection.execute(
                select(d.day_of_month)
                .where(d.payment_terms == payment_terms)
                .order_by(d.day_of_month)
            )
        ]
        return lines, days

    def replace_schedule(
        self, payment_terms: str, lines: Sequence[ScheduleLine], days: Sequence[int]
    ) -> None:
        for table in (payment_schedule_lines, payment_days):
            self._connection.execute(delete(table).where(table.c.payment_terms == payment_terms))
        if lines:
            self._connection.execute(
                insert(payment_schedule_lines),
                [
                    {
                        "payment_terms": payment_terms,
                        "line_no": i + 1,
                        "percentage": line.percentage,
                        "due_days": line.due_days,
                        "discount_percent": line.discount_percent,
                    }
                    for i, line in enumerate(lines)
                ],
            )
        if days:
            self._connection.execute(
                insert(payment_days),
                [{"payment_terms": payment_terms, "day_of_month": day} for day in days],
            )

    # -- per-account settings --------------------------------------------------------

    def account_setting(self, kind: str, customer_id: UUID) -> dict[str, Any] | None:
        if kind == "operating_hours":
            row = self._connection.execute(
                select(operating_hours.c.hours).where(operating_hours.c.customer_id == customer_id)
            ).first()
            return None if row is None else dict(row.hours)
        row = self._connection.execute(
            select(visit_settings).where(visit_settings.c.customer_id == customer_id)
        ).first()
        if row is None:
            return None
        return {"frequency": row.frequency, "preferred_days": list(row.preferred_days)}

    def put_account_setting(
        self, kind: str, customer_id: UUID, value: dict[str, Any], updated_at: datetime
    ) -> None:
        self.delete_account_setting(kind, customer_id)
        if kind == "operating_hours":
            values: dict[str, Any] = {"hours": value}
        else:
            values = {"frequency": value["frequency"], "preferred_days": value["preferred_days"]}
        self._connection.execute(
            insert(_setting_table(kind)).values(
                customer_id=customer_id, updated_at=updated_at, **values
            )
        )

    def delete_account_setting(self, kind: str, customer_id: UUID) -> None:
        table = _setting_table(kind)
        self._connection.execute(delete(table).where(table.c.customer_id == customer_id))


def _setting_table(kind: str) -> Table:
    return operating_hours if kind == "operating_hours" else visit_settings


def _link(row: Row[Any]) -> StoredLink:
    return StoredLink(
        row.id,
        HierarchyLink(
            row.hierarchy_type, row.parent_id, row.child_id, row.valid_from, row.valid_to
        ),
    )


def _relationship(row: Row[Any]) -> StoredRelationship:
    return StoredRelationship(
        row.id,
        Relationship(
            row.customer_id,
            row.related_id,
            row.relationship_type,
            row.valid_from,
            row.valid_to,
            row.is_primary,
        ),
    )


def _chunks(ids: list[UUID], size: int = 1000) -> Iterable[list[UUID]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]
