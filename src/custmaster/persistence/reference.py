"""Reference data: legal entities, payment terms and methods, customer groups, tax
codes, industries, dimension types and their values."""

from __future__ import annotations

import builtins
from collections import defaultdict
from typing import Any

from sqlalchemy import Column, Connection, Table, delete, func, insert, select, text, tuple_, update
from sqlalchemy.exc import IntegrityError

from custmaster.domain.context import RefCheck, RefKind
from custmaster.domain.errors import Conflict
from custmaster.persistence.tables import (
    account_tiers,
    customer_groups,
    customer_overrides,
    dimension_types,
    dimension_values,
    industries,
    legal_entities,
    payment_methods,
    payment_terms,
    revenue_accounts,
    tax_codes,
)
from custmaster.persistence.tables import customers as customers_table
from custmaster.persistence.tables_structure import name_affixes

TABLES: dict[str, Table] = {
    "legal_entities": legal_entities,
    "payment_terms": payment_terms,
    "payment_methods": payment_methods,
    "customer_groups": customer_groups,
    "tax_codes": tax_codes,
    "industries": industries,
    "dimension_types": dimension_types,
    "account_tiers": account_tiers,
    "revenue_accounts": revenue_accounts,
}
_BY_REF: dict[RefKind, Table] = {
    RefKind.LEGAL_ENTITY: legal_entities,
    RefKind.PAYMENT_TERMS: payment_terms,
    RefKind.PAYMENT_METHOD: payment_methods,
    RefKind.CUSTOMER_GROUP: customer_groups,
    RefKind.TAX_CODE: tax_codes,
    RefKind.INDUSTRY: industries,
    RefKind.ACCOUNT_TIER: account_tiers,
    RefKind.REVENUE_ACCOUNT: revenue_accounts,
    RefKind.NAME_AFFIX: name_affixes,
}
#: kinds without a database foreign key (added after the customers table; a SQLite
#: table rebuild is no migration to run on a live master): kind -> the columns using it
_USED_BY: dict[str, tuple[Column[Any], ...]] = {
    "account_tiers": (customers_table.c.account_tier,),
    "revenue_accounts": (customers_table.c.revenue_account, customer_overrides.c.revenue_account),
}


class SqlReferenceRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def missing(self, checks: list[RefCheck]) -> list[RefCheck]:
        """The checks whose code does not exist (one query per kind)."""
        by_kind: dict[RefKind, set[str]] = defaultdict(set)
        for check in checks:
            by_kind[check.kind].add(check.code)
        found: dict[RefKind, set[str]] = {}
        for kind, codes in by_kind.items():
            if kind is RefKind.DIMENSION_VALUE:
                pairs = [tuple(code.split(":", 1)) for code in codes if ":" in code]
                rows = self._connection.execute(
                    select(dimension_values.c.dimension_type, dimension_values.c.code).where(
                        tuple_(dimension_values.c.dimension_type, dimension_values.c.code).in_(
                            pairs
                        )
                    )
                )
                found[kind] = {f"{t}:{c}" for t, c in rows}
            else:
                table = _BY_REF[kind]
                rows = self._connection.execute(
                    select(table.c.code).where(table.c.code.in_(sorted(codes)))
                )
                found[kind] = {row.code for row in rows}
        return [check for check in checks if check.code not in found[check.kind]]

    def add(self, kind: str, record: dict[str, Any]) -> None:
        values = {k: v for k, v in record.items() if k != "values"}
        self._connection.execute(insert(TABLES[kind]).values(**values))
        if kind == "dimension_types" and record.get("values"):
            self._connection.execute(
                insert(dimension_values),
                [
                    {"dimension_type": record["code"], "code": v["code"], "name": v["name"]}
                    for v in record["values"]
                ],
            )

    def get(self, kind: str, code: str) -> dict[str, Any] | None:
        table = TABLES[kind]
        row = self._connection.execute(select(table).where(table.c.code == code)).first()
        if row is None:
            return None
        record = dict(row._mapping)
        if kind == "dimension_types":
            record["values"] = self._values_of([code])[code]
        return record

    def list(self, kind: str, *, after: str | None, limit: int) -> list[dict[str, Any]]:
        table = TABLES[kind]
        query = select(table).order_by(table.c.code).limit(limit)
        if after is not None:
            query = query.where(table.c.code > after)
        records = [dict(row._mapping) for row in self._connection.execute(query)]
        if kind == "dimension_types" and records:
            values = self._values_of([r["code"] for r in records])
            for record in records:
                record["values"] = values[record["code"]]
        return records

    def _values_of(self, types: builtins.list[str]) -> dict[str, builtins.list[dict[str, str]]]:
        result: dict[str, builtins.list[dict[str, str]]] = {t: [] for t in types}
        rows = self._connection.execute(
            select(dimension_values)
            .where(dimension_values.c.dimension_type.in_(types))
            .order_by(dimension_values.c.dimension_type, dimension_values.c.code)
        )
        for row in rows:
            result[row.dimension_type].append({"code": row.code, "name": row.name})
        return result

    def update(self, kind: str, code: str, changes: dict[str, Any]) -> None:
        table = TABLES[kind]
        values = {k: v for k, v in changes.items() if k != "values"}
        if values:
            self._connection.execute(update(table).where(table.c.code == code).values(**values))
        for value in changes.get("values", []):
            renamed = self._connection.execute(
                update(dimension_values)
                .where(dimension_values.c.dimension_type == code)
                .where(dimension_values.c.code == value["code"])
                .values(name=value["name"])
            )
            if renamed.rowcount == 0:
                self._connection.execute(
                    insert(dimension_values).values(dimension_type=code, **value)
                )

    def delete(self, kind: str, code: str) -> None:
        """Remove a record nothing refers to; ``Conflict`` when customers use it."""
        if kind == "dimension_types":
            if self._dimension_in_use(code):
                raise Conflict(f"customers use the dimension type '{code}'")
            self._connection.execute(
                delete(dimension_values).where(dimension_values.c.dimension_type == code)
            )
        for column in _USED_BY.get(kind, ()):
            used = select(column).where(column == code).limit(1)
            if self._connection.execute(used).first() is not None:
                raise Conflict(f"'{code}' is in use (customers or overrides refer to it)")
        table = TABLES[kind]
        try:
            with self._connection.begin_nested():
                self._connection.execute(delete(table).where(table.c.code == code))
        except IntegrityError:
            raise Conflict(f"'{code}' is in use (customers or overrides refer to it)") from None

    def _dimension_in_use(self, code: str) -> bool:
        column = customers_table.c.dimensions
        if self._connection.dialect.name == "postgresql":
            used = column.op("?")(code)
        else:
            used = func.json_extract(column, text(f"'$.\"{code}\"'")).is_not(None)
        found = self._connection.execute(select(customers_table.c.id).where(used).limit(1))
        return found.first() is not None
