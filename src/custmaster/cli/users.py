"""``custmaster users``: API users, their roles, entity scopes and keys."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from custmaster.bootstrap import Container, build_container
from custmaster.config import Settings
from custmaster.domain.errors import DomainError
from custmaster.services.auth import add_key, add_user, list_users, revoke_key

app = typer.Typer(help="API users, roles and keys.", no_args_is_help=True)
console = Console()
DatabaseUrl = Annotated[str | None, typer.Option("--database-url", show_default=False)]


def _container(database_url: str | None) -> Container:
    settings = Settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    return build_container(settings)


def _fail(error: DomainError) -> None:
    console.print(f"[red]{error.detail}[/red]")
    raise typer.Exit(1)


@app.command("add")
def add(
    user_id: Annotated[str, typer.Argument(help="the user's login id")],
    role: Annotated[list[str], typer.Option("--role", help="a role; repeat for several")],
    entity: Annotated[
        list[str] | None, typer.Option("--entity", help="scope to a legal entity; repeatable")
    ] = None,
    name: Annotated[str | None, typer.Option(help="display name")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a user and print its API key (shown once: store it now)."""
    container = _container(database_url)
    try:
        key = add_user(
            container.uow(),
            container.system_principal(),
            user_id,
            roles=role,
            name=name,
            entities=entity or None,
        )
    except DomainError as error:
        _fail(error)
        return
    console.print(f"user [bold]{user_id}[/bold] created; API key (shown once):")
    print(key)


@app.command("key")
def new_key(user_id: str, database_url: DatabaseUrl = None) -> None:
    """Issue another API key for a user (shown once)."""
    container = _container(database_url)
    try:
        print(add_key(container.uow(), container.system_principal(), user_id))
    except DomainError as error:
        _fail(error)


@app.command("revoke")
def revoke(
    prefix: Annotated[str, typer.Argument(help="the key prefix `users list` shows")],
    database_url: DatabaseUrl = None,
) -> None:
    """Revoke an API key at once."""
    container = _container(database_url)
    try:
        revoke_key(container.uow(), container.system_principal(), prefix)
    except DomainError as error:
        _fail(error)
        return
    console.print(f"key {prefix} revoked")


@app.command("list")
def list_all(database_url: DatabaseUrl = None) -> None:
    """Users with their roles, entity scopes and keys (prefixes only)."""
    container = _container(database_url)
    table = Table("user", "name", "roles", "entities", "keys (prefix, revoked)")
    for user, keys in list_users(container.uow(), container.system_principal()):
        p = user.principal
        table.add_row(
            p.user_id,
            p.name,
            ", ".join(sorted(r.value for r in p.roles)),
            "all" if p.entities is None else ", ".join(sorted(p.entities)),
            ", ".join(f"{k.prefix}{' (revoked)' if k.revoked_at else ''}" for k in keys),
        )
    console.print(table)
