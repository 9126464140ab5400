"""``custmaster certificates``: the tax-exemption certificate expiry check."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.console import Console

from custmaster.bootstrap import build_container
from custmaster.config import Settings
from custmaster.services.certificates.check import check_certificates

app = typer.Typer(help="Tax-exemption certificates.", no_args_is_help=True)
console = Console()


@app.command("check")
def check(
    today: Annotated[
        str | None, typer.Option("--today", help="check as of this date, YYYY-MM-DD (UTC today)")
    ] = None,
    database_url: Annotated[str | None, typer.Option("--database-url", show_default=False)] = None,
) -> None:
    """Send the expiry notices due today (30 and 7 days before a certificate's end date,
    and the day it expires), each once; print them."""
    try:
        day = date.fromisoformat(today) if today else None
    except ValueError:
        raise typer.BadParameter(
            f"{today} is not a date (YYYY-MM-DD)", param_hint="--today"
        ) from None
    settings = Settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    container = build_container(settings)
    try:
        sent = check_certificates(container.uow(), container.system_principal(), day)
    finally:
        container.engine.dispose()
    for notice in sent:
        console.print(
            f"{notice.notice} {notice.customer_id} certificate ends {notice.effective_to}",
            soft_wrap=True,
        )
    console.print(f"{len(sent)} notice(s) sent", soft_wrap=True)
