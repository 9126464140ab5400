"""The customer repository: loads and stores the whole aggregate; writes only what
changed; guards concurrent updates with the version column."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Connection,
    Date,
    DateTime,
    String,
    Table,
    Uuid,
    bindparam,
    cast,
    delete,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by

from custmaster.domain.errors import Conflict
from custmaster.domain.model import Customer, EntityOverride, SourceRef
from custmaster.persistence.customer_rows import (
    address_from_row,
    address_values,
    changed_customer_values,
    child_from_row,
    child_values,
    customer_from_row,
    customer_values,
    name_key,
    override_from_row,
    override_values,
    same_values,
)
from custmaster.persistence.tables import (
    customer_addresses,
    customer_contacts,
    customer_overrides,
    customer_pricing_tiers,
    customer_source_refs,
    customer_tax_profiles,
    customers,
    legal_entities,
    sequences,
)
from custmaster.persistence.tables_structure import hierarchy_links
from custmaster.persistence.types import Money, UtcDateTime
from custmaster.services.customer_queries import EQUALITY_FILTERS, CustomerQuery, SimilarCustomer

CHILD_TABLES: dict[str, Table] = {
    "contacts": customer_contacts,
    "pricing_tiers": customer_pricing_tiers,
    "tax_profiles": customer_tax_profiles,
}


class SqlCustomerRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    # -- reading ---------------------------------------------------------------------

    def get(self, customer_id: UUID, *, for_update: bool = False) -> Customer | None:
        if self._connection.dialect.name == "postgresql":
            return self._get_aggregated(customer_id, for_update=for_update)
        query = select(customers).where(customers.c.id == customer_id)
        if for_update:
            query = query.with_for_update()
        row = self._connection.execute(query).first()
        if row is None:
            return None
        customer = customer_from_row(row)
        self._load_children([customer])
        return customer

    def get_for_view(
        self, customer_id: UUID, entity: str, hierarchy_type: str
    ) -> tuple[Customer, bool, bool] | None:
        """The customer, whether legal entity ``entity`` exists and whether the customer
        is a child in a ``hierarchy_type`` link: on PostgreSQL in the point read's one
        round trip (what the effective view needs besides the aggregate)."""
        if self._connection.dialect.name == "postgresql":
            row = self._connection.execute(
                GET_VIEW,
                {"customer_id": customer_id, "entity": entity, "hierarchy_type": hierarchy_type},
            ).first()
            return None if row is None else from_view_row(row._mapping)
        customer = self.get(customer_id)
        if customer is None:
            return None
        flags = self._connection.execute(
            select(_entity_exists(bindparam("entity")), _has_parent(customer_id, hierarchy_type)),
            {"entity": entity},
        ).one()
        return customer, bool(flags[0]), bool(flags[1])

    def _get_aggregated(self, customer_id: UUID, *, for_update: bool) -> Customer | None:
        """PostgreSQL: the master row with its child rows aggregated as JSON, in one
        round trip (the point read of GET and PATCH)."""
        query = _GET_FOR_UPDATE if for_update else _GET
        row = self._connection.execute(query, {"customer_id": customer_id}).first()
        if row is None:
            return None
        return from_aggregate(row._mapping)

    def _load_children(self, loaded: list[Customer]) -> None:
        by_id = {c.id: c for c in loaded}
        ids = list(by_id)

        def owned_by(table: Table) -> ColumnElement[bool]:
            # one id (a point read) compares plainly; IN expands per call
            column = table.c.customer_id
            return column == ids[0] if len(ids) == 1 else column.in_(ids)

        rows = self._connection.execute(
            select(customer_overrides).where(owned_by(customer_overrides))
        )
        for row in rows:
            by_id[row.customer_id].overrides[row.entity_code] = override_from_row(row)
        rows = self._connection.execute(
            select(customer_addresses)
            .where(owned_by(customer_addresses))
            .order_by(customer_addresses.c.position)
        )
        for row in rows:
            owner = by_id[row.customer_id]
            if row.entity_code is None:
                owner.addresses.append(address_from_row(row))
            else:
                override = owner.overrides.setdefault(
                    row.entity_code, EntityOverride(entity=row.entity_code)
                )
                override.addresses.append(address_from_row(row))
        for kind, table in CHILD_TABLES.items():
            rows = self._connection.execute(
                select(table).where(owned_by(table)).order_by(table.c.position)
            )
            for row in rows:
                getattr(by_id[row.customer_id], kind).append(child_from_row(kind, row))
        rows = self._connection.execute(
            select(customer_source_refs)
            .where(owned_by(customer_source_refs))
            .order_by(customer_source_refs.c.source_system, customer_source_refs.c.source_id)
        )
        for row in rows:
            by_id[row.customer_id].source_refs.append(SourceRef(row.source_system, row.source_id))

    def search(self, query: CustomerQuery) -> list[Customer]:
        """Master records only (child records are not loaded), ordered by number."""
        conditions: list[ColumnElement[bool]] = []
        if query.status is not None:
            conditions.append(customers.c.status == query.status.value)
        for name in EQUALITY_FILTERS:
            value = getattr(query, name)
            if value is not None:
                conditions.append(customers.c[name] == value)
        if query.country:
            conditions.append(customers.c.country == query.country.upper())
        if query.entity:
            has_override = exists().where(
                customer_overrides.c.customer_id == customers.c.id,
                customer_overrides.c.entity_code == query.entity,
            )
            conditions.append(or_(customers.c.owning_entity == query.entity, has_override))
        if query.certificates_ending is not None:
            first, last = query.certificates_ending
            t = customer_tax_profiles.c
            conditions.append(
                exists().where(
                    t.customer_id == customers.c.id, t.effective_to >= first, t.effective_to <= last
                )
            )
        if query.after_number:
            conditions.append(customers.c.number > query.after_number)
        if query.text and self._connection.dialect.name == "postgresql":
            return self._text_search(conditions, query.text, query.limit)
        if query.text:
            conditions.append(_text_condition(query.text, customers.c))
        statement = (
            select(customers).where(*conditions).order_by(customers.c.number).limit(query.limit)
        )
        return [customer_from_row(row) for row in self._connection.execute(statement)]

    def _text_search(
        self, conditions: list[ColumnElement[bool]], text: str, limit: int
    ) -> list[Customer]:
        """The text search on PostgreSQL, where the trigram indexes of migration
        0023_search_trgm find the candidates. The first ``limit`` matches by number, in two
        steps: the first ``_TEXT_WALK`` customers in number order (an index walk, cheap,
        and enough for a common term); else the candidates alone, through the indexes,
        ranked by number (the ordering by an expression keeps the planner from walking
        the whole number index in search of a rare term's matches)."""
        first = (
            select(customers)
            .where(*conditions)
            .order_by(customers.c.number)
            .limit(_TEXT_WALK)
            .subquery("first_customers")
        )
        walked = (
            select(first)
            .where(_text_condition(text, first.c))
            .order_by(first.c.number)
            .limit(limit)
        )
        found = [customer_from_row(row) for row in self._connection.execute(walked)]
        if len(found) == limit:
            return found
        ranked = (
            select(customers)
            .where(*conditions, _text_condition(text, customers.c))
            .order_by(customers.c.number.concat(""))
            .limit(limit)
        )
        return [customer_from_row(row) for row in self._connection.execute(ranked)]

    def similar_names(
        self, name: str, *, exclude: UUID | None = None, limit: int = 3
    ) -> list[SimilarCustomer]:
        statement = (
            select(customers.c.id, customers.c.number, customers.c.name)
            .where(customers.c.name_key == name_key(name)[:255])
            .order_by(customers.c.number)
            .limit(limit)
        )
        if exclude is not None:
            statement = statement.where(customers.c.id != exclude)
        return [
            SimilarCustomer(r.id, r.number, r.name) for r in self._connection.execute(statement)
        ]

    def by_source_ref(self, ref: SourceRef) -> UUID | None:
        row = self._connection.execute(
            select(customer_source_refs.c.customer_id).where(
                customer_source_refs.c.source_system == ref.source_system,
                customer_source_refs.c.source_id == ref.source_id,
            )
        ).first()
        return None if row is None else row.customer_id

    # -- writing ---------------------------------------------------------------------

    def next_numbers(self, count: int) -> list[int]:
        """Reserve ``count`` consecutive customer numbers."""
        row = self._connection.execute(
            update(sequences)
            .where(sequences.c.name == "customer_number")
            .values(next_value=sequences.c.next_value + count)
            .returning(sequences.c.next_value)
        ).one()
        end = int(row.next_value)
        return list(range(end - count, end))

    def add(self, customer: Customer) -> None:
        self.add_many([customer])

    def add_many(self, batch: Iterable[Customer]) -> None:
        """Insert whole aggregates with one statement per table."""
        for table, rows in aggregate_rows(batch):
            self._connection.execute(insert(table), rows)

    def update(self, before: Customer, after: Customer) -> None:
        """Write what changed between ``before`` and ``after``; fail if another writer
        changed the record since ``before`` was read."""
        # only the columns that changed: the row's other values need no binding or JSON
        values = changed_customer_values(before, after)
        result = self._connection.execute(
            _UPDATE, {**values, "before_id": before.id, "before_version": before.version}
        )
        if result.rowcount != 1:
            raise Conflict(f"customer {before.id} was changed by someone else; read it again")
        if not _same_addresses(before, after):
            self._sync_rows(
                customer_addresses,
                {r["id"]: r for r in _address_rows(before)},
                {r["id"]: r for r in _address_rows(after)},
            )
        for kind, table in CHILD_TABLES.items():
            if _same_records(getattr(before, kind), getattr(after, kind)):
                continue  # the very same records in the same order: nothing to write
            self._sync_rows(
                table,
                {
                    c.id: child_values(kind, c, before.id, i)
                    for i, c in enumerate(getattr(before, kind))
                },
                {
                    c.id: child_values(kind, c, after.id, i)
                    for i, c in enumerate(getattr(after, kind))
                },
            )
        self._sync_overrides(before, after)
        self._sync_source_refs(before, after)

    def _sync_rows(
        self, table: Table, old: dict[UUID, dict[str, Any]], new: dict[UUID, dict[str, Any]]
    ) -> None:
        removed = [key for key in old if key not in new]
        if removed:
            self._connection.execute(delete(table).where(table.c.id.in_(removed)))
        added = [row for key, row in new.items() if key not in old]
        for key, row in new.items():
            if key in old and not same_values(old[key], row):
                self._connection.execute(update(table).where(table.c.id == key).values(**row))
        if added:
            self._connection.execute(insert(table), added)

    def _sync_overrides(self, before: Customer, after: Customer) -> None:
        if before.overrides.keys() == after.overrides.keys() and all(
            o is after.overrides[e] for e, o in before.overrides.items()
        ):
            return  # the very same overrides: nothing to write
        old = {e: override_values(o, before.id) for e, o in before.overrides.items()}
        new = {e: override_values(o, after.id) for e, o in after.overrides.items()}
        removed = [e for e in old if e not in new]
        if removed:
            self._connection.execute(
                delete(customer_overrides).where(
                    customer_overrides.c.customer_id == before.id,
                    customer_overrides.c.entity_code.in_(removed),
                )
            )
        for entity, row in new.items():
            if entity not in old:
                self._connection.execute(insert(customer_overrides).values(**row))
            elif not same_values(old[entity], row):
                self._connection.execute(
                    update(customer_overrides)
                    .where(
                        customer_overrides.c.customer_id == before.id,
                        customer_overrides.c.entity_code == entity,
                    )
                    .values(**row)
                )

    def _sync_source_refs(self, before: Customer, after: Customer) -> None:
        old, new = set(before.source_refs), set(after.source_refs)
        for ref in old - new:
            self._connection.execute(
                delete(customer_source_refs).where(
                    customer_source_refs.c.source_system == ref.source_system,
                    customer_source_refs.c.source_id == ref.source_id,
                )
            )
        added = [
            {"customer_id": after.id, "source_system": r.source_system, "source_id": r.source_id}
            for r in new - old
        ]
        if added:
            self._connection.execute(insert(customer_source_refs), added)

    def delete(self, customer_id: UUID) -> None:
        """Remove the customer and (by cascade, and explicitly for SQLite without
        foreign keys) its child records."""
        for table in (
            customer_addresses,
            customer_contacts,
            customer_pricing_tiers,
            customer_tax_profiles,
            customer_source_refs,
        ):
            self._connection.execute(delete(table).where(table.c.customer_id == customer_id))
        self._connection.execute(
            delete(customer_overrides).where(customer_overrides.c.customer_id == customer_id)
        )
        self._connection.execute(delete(customers).where(customers.c.id == customer_id))


def _same_addresses(before: Customer, after: Customer) -> bool:
    """The master's and every override's addresses are the very same (one table holds
    them all: an override that changed only its addresses must write them too)."""
    if not _same_records(before.addresses, after.addresses):
        return False
    if before.overrides.keys() != after.overrides.keys():
        return False
    return all(
        _same_records(o.addresses, after.overrides[e].addresses)
        for e, o in before.overrides.items()
    )


def _same_records(before: list[Any], after: list[Any]) -> bool:
    """The same record objects in the same order (an update that left them alone, see
    ``domain.build.patched_customer``)."""
    return len(before) == len(after) and all(b is a for b, a in zip(before, after, strict=True))


def _json_object(table: Table) -> ColumnElement[Any]:
    """One row as a JSON object; exact decimals travel as text ("9.50" stays "9.50")."""
    pairs: list[Any] = []
    for column in table.c:
        if column.name == "customer_id":
            continue
        value: ColumnElement[Any] = column
        if isinstance(column.type, Money):
            value = cast(column, String)
        pairs.extend((literal_column(f"'{column.name}'"), value))
    return func.json_build_object(*pairs)


def _aggregate(table: Table, label: str, *order: ColumnElement[Any]) -> Any:
    rows = func.json_agg(aggregate_order_by(_json_object(table), *order))
    return select(rows).where(table.c.customer_id == customers.c.id).scalar_subquery().label(label)


_CHILD_AGGREGATES = (
    _aggregate(customer_overrides, "_overrides", customer_overrides.c.entity_code),
    _aggregate(customer_addresses, "_addresses", customer_addresses.c.position),
    *(_aggregate(table, f"_{kind}", table.c.position) for kind, table in CHILD_TABLES.items()),
    _aggregate(
        customer_source_refs,
        "_source_refs",
        customer_source_refs.c.source_system,
        customer_source_refs.c.source_id,
    ),
)


# Built once: executing the same statement object skips SQLAlchemy's per-call
# statement construction and result-metadata adaptation (a measurable share of a read).
_GET = select(customers, *_CHILD_AGGREGATES).where(
    customers.c.id == bindparam("customer_id", type_=customers.c.id.type)
)
_GET_FOR_UPDATE = _GET.with_for_update(of=customers)


def _entity_exists(entity: Any) -> Any:
    return exists().where(legal_entities.c.code == entity).label("_entity_exists")


def _has_parent(child: Any, hierarchy_type: Any) -> Any:
    h = hierarchy_links.c
    return (
        exists().where(h.hierarchy_type == hierarchy_type, h.child_id == child).label("_has_parent")
    )


GET_VIEW = _GET.add_columns(
    _entity_exists(bindparam("entity", type_=legal_entities.c.code.type)),
    _has_parent(
        customers.c.id,
        bindparam("hierarchy_type", type_=hierarchy_links.c.hierarchy_type.type),
    ),
)
_UPDATE = update(customers).where(
    customers.c.id == bindparam("before_id", type_=customers.c.id.type),
    customers.c.version == bindparam("before_version", type_=customers.c.version.type),
)


def from_view_row(m: Mapping[Any, Any]) -> tuple[Customer, bool, bool]:
    """What ``get_for_view`` answers from a row of ``GET_VIEW``: the aggregate, whether
    the entity exists, whether the customer has a parent."""
    return from_aggregate(m), bool(m["_entity_exists"]), bool(m["_has_parent"])


def from_aggregate(m: Mapping[Any, Any]) -> Customer:
    """The aggregate from the row of ``_GET`` (children decoded from their JSON)."""
    customer = customer_from_row(m)
    for values in _decoded(customer_overrides, m["_overrides"]):
        customer.overrides[values["entity_code"]] = override_from_row(values)
    for values in _decoded(customer_addresses, m["_addresses"]):
        entity = values["entity_code"]
        if entity is None:
            customer.addresses.append(address_from_row(values))
        else:
            override = customer.overrides.setdefault(entity, EntityOverride(entity=entity))
            override.addresses.append(address_from_row(values))
    for kind, table in CHILD_TABLES.items():
        records = getattr(customer, kind)
        for values in _decoded(table, m[f"_{kind}"]):
            records.append(child_from_row(kind, values))
    for values in _decoded(customer_source_refs, m["_source_refs"]):
        customer.source_refs.append(SourceRef(values["source_system"], values["source_id"]))
    return customer


def _converter(column: Any) -> Callable[[Any], Any] | None:
    if isinstance(column.type, Money):
        return Decimal
    if isinstance(column.type, Date):
        return date.fromisoformat
    if isinstance(column.type, Uuid):
        return UUID
    if isinstance(column.type, DateTime | UtcDateTime):  # pragma: no cover - none today
        raise TypeError(f"{column} would need a timestamp decoder")
    return None


_CONVERTERS: dict[str, dict[str, Callable[[Any], Any]]] = {
    table.name: {
        column.name: conv
        for column in table.c
        if column.name != "customer_id" and (conv := _converter(column)) is not None
    }
    for table in (
        customer_overrides,
        customer_addresses,
        customer_source_refs,
        *CHILD_TABLES.values(),
    )
}


def _decoded(table: Table, rows: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """JSON-aggregated rows with the column types the plain select would give."""
    if not rows:
        return []
    converters = _CONVERTERS[table.name]
    for values in rows:
        for name, conv in converters.items():
            value = values[name]
            if value is not None:
                values[name] = conv(value)
    return rows


def _address_rows(customer: Customer) -> list[dict[str, Any]]:
    rows = [address_values(a, customer.id, i, None) for i, a in enumerate(customer.addresses)]
    for entity, override in sorted(customer.overrides.items()):
        rows.extend(
            address_values(a, customer.id, i, entity) for i, a in enumerate(override.addresses)
        )
    return rows


#: how many customers (in number order) the text search reads before it asks the trigram
#: indexes for the candidates instead (PostgreSQL)
_TEXT_WALK = 20_000


def _text_condition(text: str, columns: Any) -> ColumnElement[bool]:
    """Number or tax id exact, email prefix (case-insensitive), normalised name contains
    (``columns``: of ``customers`` or of a subquery of it)."""
    term = text.strip()
    compact = "".join(ch for ch in term if ch.isalnum()).upper()
    key = name_key(term)
    return or_(
        columns.number == term.upper(),
        columns.tax_id == compact,
        columns.email_key.startswith(term.casefold(), autoescape=True),
        columns.name_key.contains(key, autoescape=True),
    )


def aggregate_rows(batch: Iterable[Customer]) -> list[tuple[Table, list[dict[str, Any]]]]:
    """The rows of whole aggregates per table, parents first (the child tables reference
    customers and the overrides' entities); tables without rows are left out."""
    rows: dict[str, list[dict[str, Any]]] = {
        "customers": [],
        "addresses": [],
        "contacts": [],
        "pricing_tiers": [],
        "tax_profiles": [],
        "overrides": [],
        "source_refs": [],
    }
    for customer in batch:
        rows["customers"].append(customer_values(customer))
        rows["addresses"].extend(_address_rows(customer))
        for kind in CHILD_TABLES:
            rows[kind].extend(
                child_values(kind, record, customer.id, position)
                for position, record in enumerate(getattr(customer, kind))
            )
        rows["overrides"].extend(
            override_values(o, customer.id) for o in customer.overrides.values()
        )
        rows["source_refs"].extend(
            {"customer_id": customer.id, "source_system": r.source_system, "source_id": r.source_id}
            for r in customer.source_refs
        )
    tables = {
        "customers": customers,
        "addresses": customer_addresses,
        "overrides": customer_overrides,
        "source_refs": customer_source_refs,
        **CHILD_TABLES,
    }
    order = ("customers", "overrides", "addresses", *CHILD_TABLES, "source_refs")
    return [(tables[name], rows[name]) for name in order if rows[name]]
