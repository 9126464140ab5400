"""``custmaster mcp``: the MCP server on stdio, for a desktop assistant."""

from __future__ import annotations

from typing import Annotated

import typer

from custmaster.agents.server import build_server
from custmaster.api.deps import verify_bearer
from custmaster.bootstrap import build_container
from custmaster.config import Settings
from custmaster.domain.errors import Unauthenticated


def mcp_command(
    key: Annotated[
        str | None,
        typer.Option(
            "--key",
            help="the API key of the user the assistant acts for (default CUSTMASTER_MCP_API_KEY)",
            show_default=False,
        ),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url", help="overrides CUSTMASTER_DATABASE_URL", show_default=False
        ),
    ] = None,
) -> None:
    """Serve the MCP server on stdin/stdout for a desktop AI assistant, acting as the user
    of an API key: their roles and entity scope, every change a proposal under the
    approval policy, audited as made through an agent."""
    settings = Settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    token = key or settings.mcp_api_key
    if not token:
        typer.echo("give --key or set CUSTMASTER_MCP_API_KEY (`custmaster users add`)", err=True)
        raise typer.Exit(2)
    container = build_container(settings)
    try:
        principal = verify_bearer(container, token)
    except Unauthenticated as exc:
        typer.echo(f"not signed in: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    build_server(container, principal=principal).run("stdio")
