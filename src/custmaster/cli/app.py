"""The ``custmaster`` command line."""

from __future__ import annotations

import os
from typing import Annotated

import typer
import uvicorn
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from custmaster.bootstrap import (
    build_container,
    check_schema,
    current_revision,
    make_engine,
    upgrade,
)
from custmaster.cli import audit, certificates, hub, matching, users
from custmaster.cli import imports as imports_cli
from custmaster.cli import profile as profile_cli
from custmaster.cli import profile_rules as profile_rules_cli
from custmaster.cli import relay as relay_cli
from custmaster.cli import sources as sources_cli
from custmaster.cli import structure as structure_cli
from custmaster.cli.errors import DatabaseErrorsGroup
from custmaster.cli.mcp import mcp_command
from custmaster.config import Settings
from custmaster.services.demo import (
    create_demo_users,
    has_customers,
    load_demo,
    load_demo_activity,
)
from custmaster.services.demo_showcase import open_showcase_request
from custmaster.services.settings import ConfigurationError

app = typer.Typer(
    help="custmaster: the customer master data hub.",
    no_args_is_help=True,
    cls=DatabaseErrorsGroup,
    rich_markup_mode=None,  # plain help: wraps to the terminal, never cuts an option name
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users.app, name="users")
structure_cli.register(app)
hub.register(app)
app.add_typer(audit.app, name="audit")
app.add_typer(matching.app, name="match")
app.add_typer(certificates.app, name="certificates")
app.add_typer(sources_cli.app, name="sources")
app.add_typer(relay_cli.app, name="relay")
matching.app.command("clusters")(sources_cli.clusters)
app.command("import")(imports_cli.import_command)
app.command("export")(imports_cli.export_command)
app.command("mcp")(mcp_command)
app.add_typer(profile_cli.app, name="profile")
# one `profile` group: rebuild (activity) beside rescore and affinity (rules)
for _command in profile_rules_cli.app.registered_commands:
    profile_cli.app.registered_commands.append(_command)
app.command("consume")(profile_cli.consume)
console = Console()

DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="overrides CUSTMASTER_DATABASE_URL", show_default=False),
]


def _settings(database_url: str | None = None) -> Settings:
    settings = Settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    return settings


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseUrl = None) -> None:
    """Apply the migrations (the same ones for SQLite and PostgreSQL)."""
    engine = make_engine(_settings(database_url).database_url)
    upgrade(engine)
    console.print(f"[green]database at revision {current_revision(engine)}[/green]")


@db_app.command("current")
def db_current(database_url: DatabaseUrl = None) -> None:
    """Print the schema revision the database is at."""
    engine = make_engine(_settings(database_url).database_url)
    console.print(current_revision(engine) or "empty database (run `custmaster db upgrade`)")


def _serve(settings: Settings, host: str, port: int, workers: int) -> None:
    os.environ["CUSTMASTER_DATABASE_URL"] = settings.database_url
    console.print(f"API docs: [bold]http://{host}:{port}/docs[/bold]")
    uvicorn.run(
        "custmaster.api.app:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        timeout_worker_healthcheck=settings.worker_healthcheck_seconds,
    )


@app.command()
def serve(
    database_url: DatabaseUrl = None,
    host: Annotated[str | None, typer.Option(help="default CUSTMASTER_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="default CUSTMASTER_PORT")] = None,
    workers: Annotated[int | None, typer.Option(help="default CUSTMASTER_WORKERS")] = None,
) -> None:
    """Run the API. On the embedded SQLite default the migrations are applied first;
    elsewhere the schema must be at the head revision (`custmaster db upgrade`)."""
    settings = _settings(database_url)
    try:
        container = build_container(settings)  # migrates SQLite; fails early if unreachable
    except ConfigurationError as exc:
        typer.echo(f"custmaster serve: {exc}", err=True)  # one line, never wrapped
        raise typer.Exit(2) from None
    try:
        check_schema(container.engine)  # PostgreSQL: `custmaster db upgrade` first
    finally:
        container.engine.dispose()
    _serve(settings, host or settings.host, port or settings.port, workers or settings.workers)


@app.command()
def demo(
    database_url: Annotated[
        str, typer.Option("--database-url", help="where the demo lives")
    ] = users.DEMO_DATABASE_URL,
    customers: Annotated[int, typer.Option(min=0, max=1_000_000)] = 2000,
    seed: int = 42,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="load only")] = False,
    host: str = "127.0.0.1",
    port: int = 8000,
) -> None:
    """Create a demo database (legal entities, reference data, realistic customers) and
    serve it. An existing demo database is served as it is."""
    settings = _settings(database_url)
    container = build_container(settings, migrate=True)
    actor = container.system_principal()
    if has_customers(container.uow()):
        console.print("the demo database has customers already; serving it as it is")
    else:
        columns = (
            *Progress.get_default_columns()[:1],
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("creating demo customers", total=customers)
            created = load_demo(
                container.uow,
                actor,
                container.service_settings,
                customers=customers,
                seed=seed,
                progress=lambda done: progress.update(task, completed=done),
            )
        console.print(f"[green]created {created} customers[/green] in {settings.database_url}")
        with console.status("generating 24 months of activity"):
            events = load_demo_activity(container.uow, container.profile, seed=seed)
        console.print(
            f"[green]applied {events} activity events[/green] (orders, invoices, "
            "payments, cases, visits, contracts)"
        )
    users = create_demo_users(container.uow(), actor)
    policy, service_settings = container.policy, container.service_settings
    if users and open_showcase_request(container.uow, actor, policy, service_settings):
        console.print("a credit-limit change of Northwind Traders GmbH waits for approval")
    if users:
        # plain lines, never a table: a table narrower than a key would cut it short
        console.print("API keys of the demo users (shown once):")
        for user_id, role, key in users:
            print(f"  {user_id:<16} {role:<14} {key}")
        console.print(
            "Send a key as [bold]Authorization: Bearer <key>[/bold]; on the docs page "
            "use Authorize."
        )
    else:
        console.print("demo users exist; issue a new key with `custmaster users key NAME`")
    container.engine.dispose()
    if not no_serve:
        _serve(settings, host, port, 1)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
