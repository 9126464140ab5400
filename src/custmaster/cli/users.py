"""``custmaster users``: API users, their roles, entity scopes and keys."""

from __future__ import annotations

from pathlib import Path
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


#: where ``custmaster demo`` puts its database by default
DEMO_DATABASE_URL = "sqlite:///custmaster-demo.db"


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None: another database, or in memory)."""
    if not url.startswith("sqlite:///"):
        return None
    name = url.removeprefix("sqlite:///").partition("?")[0]
    return Path(name) if name and name != ":memory:" else None


def users_database(database_url: str | None, settings: Settings) -> str:
    """The database the users commands work on: ``--database-url``, else the configured
    one, else (when the configured SQLite file does not exist) the demo's when it does.
    Never a SQLite file that does not exist: that would be an empty database."""
    url = database_url or settings.database_url
    missing = sqlite_file(url)
    if missing is None or missing.exists():
        return url
    demo = sqlite_file(DEMO_DATABASE_URL)
    if database_url is None and demo is not None and demo.exists():
        console.print(f"[dim]{missing} does not exist: using the demo's database, {demo}[/dim]")
        return DEMO_DATABASE_URL
    console.print(
        f"[red]no database at {missing}[/red]: run `custmaster demo` or `custmaster db "
        "upgrade` first, or name one with --database-url"
    )
    raise typer.Exit(1)


def _container(database_url: str | None) -> Container:
    settings = Settings()
    url = users_database(database_url, settings)
    return build_container(settings.model_copy(update={"database_url": url}))


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
