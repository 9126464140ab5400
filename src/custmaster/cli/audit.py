"""``custmaster audit``: check the tamper-evident audit trail."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from custmaster.bootstrap import build_container
from custmaster.config import Settings
from custmaster.services.audit import verify_audit

app = typer.Typer(help="The audit trail.", no_args_is_help=True)
console = Console()


@app.command("verify")
def verify(
    database_url: Annotated[str | None, typer.Option("--database-url", show_default=False)] = None,
) -> None:
    """Seal the entries committed so far, check the hash chain; exit 1 naming the first
    entry that does not fit."""
    settings = Settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    container = build_container(settings)
    result = verify_audit(container.uow(), container.system_principal())
    if result.ok:
        console.print(f"[green]audit chain intact: {result.checked} entries[/green]")
        return
    console.print(
        f"[red]audit chain broken at entry {result.first_bad_id}: {result.reason}[/red] "
        f"({result.checked} entries checked)"
    )
    raise typer.Exit(1)
