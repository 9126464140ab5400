"""``custmaster sources``: the source records of a golden record and which source won
each field."""

from __future__ import annotations

import csv
import json
import sys
from enum import StrEnum
from typing import Annotated
from uuid import UUID

import typer
from rich.console import Console
from rich.table import Table

from custmaster.bootstrap import Container, build_container
from custmaster.config import Settings
from custmaster.domain.errors import DomainError
from custmaster.domain.snapshot import jsonable
from custmaster.services.dedup.review import STATUSES
from custmaster.services.imports.formula import neutralise_cell
from custmaster.services.sources.clusters import CSV_COLUMNS, csv_rows, export_clusters
from custmaster.services.sources.read import customer_sources

app = typer.Typer(help="Source records of golden records.", no_args_is_help=True)
console = Console()
DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="overrides CUSTMASTER_DATABASE_URL", show_default=False),
]


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"


def _container(database_url: str | None) -> Container:
    settings = Settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    return build_container(settings)


@app.command("show")
def show(
    customer_id: UUID,
    database_url: DatabaseUrl = None,
    output: Annotated[Format, typer.Option("--format", help="table or json")] = Format.TABLE,
) -> None:
    """A golden record's source records (with lineage) and, per field, the winner."""
    container = _container(database_url)
    try:
        found = customer_sources(container.uow(), container.system_principal(), customer_id)
    except DomainError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    finally:
        container.engine.dispose()
    if output is Format.JSON:
        body = {
            "customer_id": found.customer.id,
            "records": [
                {
                    "id": r.id,
                    "source_system": r.source_system,
                    "source_id": r.source_id,
                    "origin": r.origin,
                    "received": r.received,
                    "normalised": r.normalised,
                    "warnings": r.warnings,
                    "job_id": r.job_id,
                    "file": r.file,
                    "rows": r.rows,
                    "received_at": r.received_at,
                }
                for r in found.records
            ],
            "fields": [
                {
                    "field": f.field,
                    "value": f.value,
                    "source_system": f.source_system,
                    "source_id": f.source_id,
                    "rule": f.rule,
                    "why": f.why,
                }
                for f in found.fields
            ],
        }
        typer.echo(json.dumps(jsonable(body), ensure_ascii=False, indent=2))
        return
    records = Table(title=f"source records of {found.customer.number}")
    for column in ("source", "origin", "job", "file", "rows", "received at"):
        records.add_column(column)
    for r in found.records:
        records.add_row(
            f"{r.source_system}/{r.source_id or '-'}",
            r.origin,
            str(r.job_id or "-"),
            r.file or "-",
            ",".join(map(str, r.rows)),
            r.received_at.isoformat(),
        )
    console.print(records)
    fields = Table(title="field winners")
    for column in ("field", "value", "source", "rule"):
        fields.add_column(column)
    for f in found.fields:
        source = f"{f.source_system}/{f.source_id or '-'}" if f.source_system else "steward"
        fields.add_row(f.field, json.dumps(f.value, ensure_ascii=False)[:60], source, f.rule)
    console.print(fields)


class ClusterFormat(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"


def clusters(
    output: Annotated[
        ClusterFormat, typer.Option("--format", help="csv (one line per member) or jsonl")
    ] = ClusterFormat.JSONL,
    status: Annotated[
        str, typer.Option(help="open, merged, not_duplicate, superseded or all")
    ] = "open",
    database_url: DatabaseUrl = None,
) -> None:
    """Export the review queue's clusters with their members' source ids to stdout."""
    if status not in (*STATUSES, "all"):
        raise typer.BadParameter(f"unknown status {status!r}")
    container = _container(database_url)
    try:
        found = export_clusters(
            container.uow, container.system_principal(), status=None if status == "all" else status
        )
        if output is ClusterFormat.JSONL:
            for cluster in found:
                typer.echo(json.dumps(cluster, ensure_ascii=False))
            return
        writer = csv.DictWriter(sys.stdout, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for cluster in found:
            for line in csv_rows(cluster):
                writer.writerow({k: neutralise_cell(str(v)) for k, v in line.items()})
    finally:
        container.engine.dispose()
