"""``custmaster audit``: the tamper-evident audit trail (check it, sign it, checkpoint it)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from custmaster.bootstrap import Container, build_container
from custmaster.config import Settings
from custmaster.services.audit import check_audit, publish_checkpoint
from custmaster.services.audit_keys import AuditFileError, write_new_key
from custmaster.services.settings import ConfigurationError

app = typer.Typer(help="The audit trail.", no_args_is_help=True)
console = Console()
DatabaseUrl = Annotated[str | None, typer.Option("--database-url", show_default=False)]


def _container(database_url: str | None) -> Container:
    settings = Settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    try:
        return build_container(settings)
    except ConfigurationError as exc:
        typer.echo(f"custmaster audit: {exc}", err=True)
        raise typer.Exit(2) from None


@app.command("verify")
def verify(
    database_url: DatabaseUrl = None,
    checkpoints: Annotated[
        Path | None,
        typer.Option(
            help="checkpoint file (default CUSTMASTER_AUDIT_CHECKPOINT_FILE)", show_default=False
        ),
    ] = None,
) -> None:
    """Seal the entries committed so far and check the hash chain; with the audit key also
    every entry's signature and that the chain still holds every checkpoint and reaches
    the latest. Exit 1 naming the first problem."""
    container = _container(database_url)
    checkpoint_file = checkpoints or container.settings.audit_checkpoint_file
    try:
        report = check_audit(
            container.uow(), container.system_principal(), container.audit_key, checkpoint_file
        )
    except AuditFileError as exc:
        typer.echo(f"custmaster audit verify: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        container.engine.dispose()
    result = report.result
    for note in report.notes:
        console.print(f"[yellow]note:[/yellow] {escape(note)}")
    if not result.ok:
        where = f" at entry {result.first_bad_id}" if result.first_bad_id else ""
        console.print(
            f"[red]audit trail broken{where}: {escape(result.reason or '')}[/red] "
            f"({result.checked} entries checked)"
        )
        raise typer.Exit(1)
    if not report.signed:
        console.print(
            f"[green]audit chain intact: {result.checked} entries[/green] "
            "(hash chain only: no signatures, no checkpoints)"
        )
        return
    latest = report.latest
    reached = f"; reaches the latest checkpoint (seq {latest.seq}, {latest.time})" if latest else ""
    legacy = report.unsigned_before_signing
    console.print(
        f"[green]audit trail intact: {result.checked} entries, signatures valid"
        f"{f' ({legacy} written before signing began)' if legacy else ''}, "
        f"{report.checkpoints} checkpoints hold{reached}[/green]"
    )


@app.command("checkpoint")
def checkpoint(database_url: DatabaseUrl = None) -> None:
    """Seal what is committed and publish a signed checkpoint of the chain head to the
    outbox (event custmaster.audit.checkpoint) and to CUSTMASTER_AUDIT_CHECKPOINT_FILE."""
    container = _container(database_url)
    key, target = container.audit_key, container.settings.audit_checkpoint_file
    if key is None:
        container.engine.dispose()
        typer.echo(
            "custmaster audit checkpoint: no audit key: set CUSTMASTER_AUDIT_KEY_FILE "
            "(make one with `custmaster audit keygen FILE`)",
            err=True,
        )
        raise typer.Exit(1)
    try:
        made = publish_checkpoint(container.uow(), container.system_principal(), key, target)
    finally:
        container.engine.dispose()
    assert made is not None  # published unconditionally
    where = (
        f"the outbox and {target}" if target else "the outbox (no CUSTMASTER_AUDIT_CHECKPOINT_FILE)"
    )
    console.print(
        f"checkpoint seq {made.seq} hash {made.hash} at {made.time} published to {escape(where)}"
    )


@app.command("keygen")
def keygen(path: Annotated[Path, typer.Argument(help="the key file to create")]) -> None:
    """Create a new audit key (32 random bytes, readable by its owner only); never over an
    existing file. Point CUSTMASTER_AUDIT_KEY_FILE at it and keep it off the database."""
    try:
        key = write_new_key(path)
    except AuditFileError as exc:
        typer.echo(f"custmaster audit keygen: {exc}", err=True)
        raise typer.Exit(1) from None
    console.print(f"audit key {key.key_id} written to {escape(str(path))}")
