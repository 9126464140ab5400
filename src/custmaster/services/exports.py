"""Export customers (the master or one legal entity's effective view) as CSV, XLSX,
JSON Lines or Parquet, streamed page by page for data warehouses.

CSV and XLSX use custmaster's own flat layout (the ``custmaster`` import template reads
it back) and neutralise cells that a spreadsheet would evaluate as a formula (``=``,
``+``, ``-``, ``@``); JSON Lines carries the whole aggregate (snapshot) per line; Parquet
the flat layout with typed columns, one row group per page.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from enum import StrEnum
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from openpyxl import Workbook

from custmaster.domain.effective import effective_view
from custmaster.domain.errors import FieldError, ValidationFailed
from custmaster.domain.model import Customer
from custmaster.domain.permissions import Permission, Principal, require
from custmaster.domain.snapshot import snapshot
from custmaster.services.customer_queries import CustomerQuery
from custmaster.services.governance.access import require_entity, visible_customer
from custmaster.services.imports.formula import neutralise_cell
from custmaster.services.ports import UnitOfWork
from custmaster.services.recording import utcnow

PAGE = 1000
NewUow = Callable[[], UnitOfWork]


class ExportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    JSONL = "jsonl"
    PARQUET = "parquet"


MEDIA_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ExportFormat.JSONL: "application/x-ndjson",
    ExportFormat.PARQUET: "application/vnd.apache.parquet",
}

#: The flat layout (the ``custmaster`` import template's columns) plus server fields.
COLUMNS: tuple[str, ...] = (
    "id",
    "number",
    "status",
    "source_system",
    "source_id",
    "kind",
    "name",
    "legal_name",
    "first_name",
    "last_name",
    "name_affix",
    "email",
    "billing_email",
    "phone",
    "website",
    "tax_id",
    "customer_type",
    "industry",
    "customer_group",
    "account_tier",
    "relationship_status",
    "owning_entity",
    "credit_limit",
    "payment_terms",
    "payment_method",
    "currency",
    "tax_code",
    "revenue_account",
    "notes",
    "billing_street",
    "billing_city",
    "billing_region",
    "billing_postal_code",
    "billing_country",
    "shipping_street",
    "shipping_city",
    "shipping_region",
    "shipping_postal_code",
    "shipping_country",
    "contact_first_name",
    "contact_last_name",
    "contact_job_title",
    "contact_role",
    "contact_email",
    "contact_phone",
    "entity",
    "version",
    "created_at",
    "updated_at",
)


def _data(customer: Customer, entity: str | None) -> dict[str, Any]:
    """The master snapshot, or the entity's effective view (with overridden_fields)."""
    if entity is None:
        return snapshot(customer)
    view = effective_view(customer, entity, utcnow().date())
    return {**view.data, "entity": entity, "overridden_fields": view.overridden_fields}


def _flat(customer: Customer, entity: str | None) -> dict[str, Any]:
    data = _data(customer, entity)
    row: dict[str, Any] = {c: data.get(c) for c in COLUMNS if c in data}
    refs = data["source_refs"]
    row["source_system"] = refs[0]["source_system"] if refs else "custmaster"
    row["source_id"] = refs[0]["source_id"] if refs else customer.number
    for kind in ("billing", "shipping"):
        of_kind = [a for a in data["addresses"] if a["type"] == kind]
        address = next((a for a in of_kind if a.get("is_primary")), of_kind[0] if of_kind else None)
        if address:
            row[f"{kind}_street"] = "\n".join(address["lines"])
            for part in ("city", "region", "postal_code", "country"):
                row[f"{kind}_{part}"] = address.get(part)
    contacts = data["contacts"]
    contact = next((c for c in contacts if c.get("is_primary")), contacts[0] if contacts else None)
    if contact:
        for part in ("first_name", "last_name", "job_title", "role", "email", "phone"):
            row[f"contact_{part}"] = contact.get(part)
    row["entity"] = entity
    return {c: row.get(c) for c in COLUMNS}


def pages(
    new_uow: NewUow, actor: Principal, query: CustomerQuery, entity: str | None
) -> Iterator[list[Customer]]:
    """Pages of customers in number order, each read in its own short transaction, with
    only the overrides ``actor`` may see; an entity outside its scope is refused."""
    require(actor, Permission.CUSTOMER_READ)
    for asked in (entity, query.entity):
        if asked is not None:
            require_entity(actor, asked)
    if entity is not None:
        with new_uow().read_only() as uow:
            if uow.reference.get("legal_entities", entity) is None:
                raise ValidationFailed(
                    [FieldError("entity", "unknown_reference", f"no legal entity '{entity}'")]
                )
    after = query.after_number
    while True:
        with new_uow().read_only() as uow:
            page = uow.imports.export_page(
                replace(query, after_number=after, limit=PAGE), with_children=True
            )
        if page:
            yield [visible_customer(actor, c) for c in page]
        if len(page) < PAGE:
            return
        after = page[-1].number


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return neutralise_cell(str(value))


def csv_chunks(batches: Iterator[list[Customer]], entity: str | None) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for batch in batches:
        for customer in batch:
            row = _flat(customer, entity)
            writer.writerow(_cell(row[c]) for c in COLUMNS)
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue().encode()


def jsonl_chunks(batches: Iterator[list[Customer]], entity: str | None) -> Iterator[bytes]:
    for batch in batches:
        lines = [
            json.dumps(_data(c, entity), ensure_ascii=False, separators=(",", ":")) for c in batch
        ]
        yield ("\n".join(lines) + "\n").encode()


_SCHEMA = pa.schema([(c, pa.int64() if c == "version" else pa.string()) for c in COLUMNS])


class _Sink:
    """A write-only file that hands out what was written since the last call."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._pos = 0
        self.closed = False

    def write(self, data: bytes) -> int:
        chunk = bytes(data)
        self._parts.append(chunk)
        self._pos += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._pos

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        data, self._parts = b"".join(self._parts), []
        return data


def parquet_chunks(batches: Iterator[list[Customer]], entity: str | None) -> Iterator[bytes]:
    sink = _Sink()
    writer = pq.ParquetWriter(pa.PythonFile(sink, mode="w"), _SCHEMA)
    try:
        for batch in batches:
            rows = [_flat(c, entity) for c in batch]
            columns = {
                c: [r[c] if c == "version" or r[c] is None else str(r[c]) for r in rows]
                for c in COLUMNS
            }
            writer.write_table(pa.table(columns, schema=_SCHEMA))
            yield sink.take()
    finally:
        writer.close()
    yield sink.take()


def xlsx_chunks(batches: Iterator[list[Customer]], entity: str | None) -> Iterator[bytes]:
    """A write-only workbook (constant memory) in a temporary file, then streamed."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("customers")
    sheet.append(list(COLUMNS))
    for batch in batches:
        for customer in batch:
            row = _flat(customer, entity)
            sheet.append([_cell(row[c]) if c != "version" else row[c] for c in COLUMNS])
    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    try:
        workbook.save(path)
        with open(path, "rb") as stream:
            while chunk := stream.read(1 << 16):
                yield chunk
    finally:
        os.unlink(path)


WRITERS: dict[ExportFormat, Callable[[Iterator[list[Customer]], str | None], Iterator[bytes]]] = {
    ExportFormat.CSV: csv_chunks,
    ExportFormat.XLSX: xlsx_chunks,
    ExportFormat.JSONL: jsonl_chunks,
    ExportFormat.PARQUET: parquet_chunks,
}


def export_customers(
    new_uow: NewUow,
    actor: Principal,
    fmt: ExportFormat,
    query: CustomerQuery,
    *,
    entity: str | None = None,
) -> Iterator[bytes]:
    """The export as a stream of byte chunks (the permission and the entity are checked
    before the first chunk)."""
    batches = pages(new_uow, actor, query, entity)
    first = next(batches, None)

    def chained() -> Iterator[list[Customer]]:
        if first is not None:
            yield first
        yield from batches

    return WRITERS[fmt](chained(), entity)
