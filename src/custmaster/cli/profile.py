"""``custmaster profile rebuild`` and ``custmaster consume`` (activity events from NATS)."""

from __future__ import annotations

import asyncio
import gc
import json
import sys
from typing import Annotated

import typer

from custmaster.bootstrap import build_container
from custmaster.config import Settings
from custmaster.events.activity_consumer import ActivityConsumer, ConsumerSettings
from custmaster.services.profile.rebuild import JOBS, rebuild

app = typer.Typer(help="The living customer profile.", no_args_is_help=True)

DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="overrides CUSTMASTER_DATABASE_URL", show_default=False),
]


def _settings(database_url: str | None) -> Settings:
    settings = Settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    return settings


@app.command("rebuild")
def rebuild_command(
    database_url: DatabaseUrl = None,
    check: Annotated[bool, typer.Option("--check", help="compare only; write nothing")] = False,
    chunk: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=1_000_000,
            help="customers per transaction (default: 500 on the per-customer path, "
            "100,000 for PostgreSQL's set-based writes)",
        ),
    ] = None,
    jobs: Annotated[
        int,
        typer.Option(
            min=1,
            max=16,
            help="slices of the customers PostgreSQL's set-based rebuild computes at the "
            "same time, a database connection each (about the database server's cores; "
            "at most 16, within the connection pool)",
        ),
    ] = JOBS,
) -> None:
    """Recompute every profile from the stored activity events; print a JSON report of
    the differences from the incremental state. Exit code 1 when there was drift."""
    container = build_container(_settings(database_url))

    def progress(done: int, total: int, what: str) -> None:
        print(f"rebuild: {done}/{total} {what}", file=sys.stderr, flush=True)

    try:
        report = rebuild(
            container.uow,
            container.system_principal(),
            container.profile,
            write=not check,
            chunk=chunk,
            jobs=jobs,
            progress=progress,
        )
    finally:
        container.engine.dispose()
    print(json.dumps(report.as_dict(), indent=2))
    if report.drift:
        print(
            f"rebuild: {report.drifted_count} customers drifted from the incremental state",
            file=sys.stderr,
        )
        raise typer.Exit(1)


def consume(
    database_url: DatabaseUrl = None,
    nats_url: Annotated[str, typer.Option("--nats-url")] = "nats://127.0.0.1:4222",
    stream: Annotated[str, typer.Option(help="JetStream stream (created when missing)")] = (
        "CUSTMASTER_ACTIVITY"
    ),
    subject: Annotated[str, typer.Option(help="subjects of the stream")] = "custmaster.activity.>",
    durable: Annotated[str, typer.Option(help="durable consumer name")] = "custmaster-profile",
    batch: Annotated[int, typer.Option(min=1, max=1000)] = 500,
    max_deliver: Annotated[int, typer.Option(min=1, max=100, help="tries before dead letter")] = 5,
    idle_exit: Annotated[
        float | None, typer.Option(help="stop after this many seconds without messages")
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=8,
            help="batches applied at once (default: 2 on PostgreSQL, 1 on SQLite)",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Apply activity events from NATS JetStream (durable pull consumer, explicit ack)."""
    container = build_container(_settings(database_url))
    if concurrency is None:
        concurrency = 2 if container.engine.dialect.name == "postgresql" else 1
    # what the process holds once started stays out of the collector's full passes (as
    # ``custmaster serve`` does: ``api.app.freeze_startup_heap``)
    gc.collect()
    gc.freeze()
    settings = ConsumerSettings(
        url=nats_url,
        stream=stream,
        subjects=(subject,),
        durable=durable,
        batch=batch,
        max_deliver=max_deliver,
        concurrency=concurrency,
    )
    consumer = ActivityConsumer(container.uow, container.profile, settings)
    try:
        stats = asyncio.run(consumer.run(idle_exit_seconds=idle_exit))
    except KeyboardInterrupt:  # pragma: no cover - interactive stop
        stats = consumer.stats
    finally:
        container.engine.dispose()
    print(json.dumps({k: v for k, v in vars(stats).items() if k != "errors"}), file=sys.stderr)
