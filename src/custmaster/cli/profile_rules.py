"""``custmaster profile affinity`` and ``custmaster profile rescore``."""

from __future__ import annotations

import csv
import resource
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated
from uuid import UUID

import typer
from rich.console import Console

from custmaster.bootstrap import build_container, stored_order_lines
from custmaster.config import Settings
from custmaster.services.profile.affinity import AffinityOptions, OrderLine, run_affinity
from custmaster.services.profile.scoring import rescore_all

app = typer.Typer(help="The living profile: scores and affinity.", no_args_is_help=True)
console = Console()
DatabaseUrl = Annotated[str | None, typer.Option("--database-url", show_default=False)]


class CsvOrderLines:
    """Order lines from a CSV file with the columns customer_id, product, product_group,
    quantity and amount."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __iter__(self) -> Iterator[OrderLine]:
        with self.path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                yield OrderLine(
                    UUID(row["customer_id"]),
                    row["product"],
                    row.get("product_group") or None,
                    float(row.get("quantity") or 0),
                    float(row.get("amount") or 0),
                )


def _settings(database_url: str | None) -> Settings:
    settings = Settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    return settings


@app.command("affinity")
def affinity(
    lines: Annotated[
        Path | None,
        typer.Option("--lines", help="a CSV of order lines (default: the stored order lines)"),
    ] = None,
    top: Annotated[int, typer.Option("--top", min=1, max=50)] = 5,
    min_support: Annotated[int, typer.Option("--min-support", min=1)] = 3,
    database_url: DatabaseUrl = None,
) -> None:
    """Compute every customer's product affinity and replace the stored results."""
    container = build_container(_settings(database_url))
    try:
        source = CsvOrderLines(lines) if lines else stored_order_lines(container.engine)
        if source is None:
            console.print("[red]no stored order lines (activity_order_lines); give --lines[/red]")
            raise typer.Exit(1)
        started = time.perf_counter()
        options = AffinityOptions(top=top, min_support=min_support)
        run = run_affinity(container.uow(), source, options)
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        console.print(
            f"affinity: {run.customers} customers, {run.rows} results in {seconds:.1f} s "
            f"(peak resident memory {peak:.0f} MiB)"
        )
        for stage in run.stages:
            console.print(
                f"  {stage.name}: {stage.seconds:.1f} s ({stage.cpu_seconds:.1f} s of CPU "
                "in this process)"
            )
    finally:
        container.engine.dispose()


@app.command("rescore")
def rescore(database_url: DatabaseUrl = None) -> None:
    """Score every profiled customer with the active rules (after a new rules version)."""
    container = build_container(_settings(database_url))
    try:
        run = rescore_all(container.uow())
        console.print(f"rescored {run.customers} customers, {run.events} score events")
    finally:
        container.engine.dispose()
