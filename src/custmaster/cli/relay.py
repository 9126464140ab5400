"""``custmaster relay``: publish the outbox to NATS JetStream; ``custmaster relay status``."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from typing import Annotated

import typer
from rich.console import Console

from custmaster.bootstrap import build_container
from custmaster.config import Settings
from custmaster.services.relay.runner import Relay
from custmaster.services.relay.status import relay_status

app = typer.Typer(
    help="The outbox relay to NATS JetStream (docs/integration.md).",
    invoke_without_command=True,
)
console = Console()

DatabaseUrl = Annotated[str | None, typer.Option("--database-url", show_default=False)]
Stream = Annotated[
    str | None, typer.Option("--stream", help="default CUSTMASTER_RELAY_STREAM", show_default=False)
]


def _settings(database_url: str | None) -> Settings:
    settings = Settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    return settings


def _owned(text: str | None) -> tuple[int, ...] | None:
    if not text:
        return None
    try:
        return tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        raise typer.BadParameter("partition numbers, e.g. 0,2", param_hint="--own") from None


async def _run(relay: Relay, until_idle: bool, started: str) -> None:
    """Run until SIGTERM or SIGINT (or idle); ``started`` is printed once the handlers are
    in place, so a supervisor that waits for that line may stop the relay cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    console.print(started, soft_wrap=True)
    await relay.run(stop, until_idle=until_idle)


@app.callback()
def run(
    ctx: typer.Context,
    database_url: DatabaseUrl = None,
    nats_url: Annotated[
        str | None, typer.Option("--nats-url", help="default CUSTMASTER_NATS_URL")
    ] = None,
    stream: Stream = None,
    batch_size: Annotated[int | None, typer.Option(min=1, max=10_000)] = None,
    lease_seconds: Annotated[float | None, typer.Option(min=1)] = None,
    partitions: Annotated[int | None, typer.Option(min=1, max=256)] = None,
    own: Annotated[
        str | None, typer.Option("--own", help="only these partitions, e.g. 0,2 (default: any)")
    ] = None,
    until_idle: Annotated[
        bool, typer.Option("--until-idle", help="stop once everything is published")
    ] = False,
) -> None:
    """Publish every outbox event to the stream (made when missing), in commit order per
    partition, each acknowledged before the cursor moves past it. Runs until SIGTERM or
    Ctrl-C; several processes may run, one holds each partition's lease."""
    if ctx.invoked_subcommand is not None:
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    container = build_container(_settings(database_url))
    try:
        config = container.relay_config(
            nats_url=nats_url,
            stream=stream,
            batch_size=batch_size,
            lease_seconds=lease_seconds,
            partitions=partitions,
            owned=_owned(own),
        )
    except ValueError as exc:
        typer.echo(f"custmaster relay: {exc}", err=True)
        raise typer.Exit(2) from None
    relay = Relay(container.uow, config)
    started = f"relay {relay.holder}: {config.nats_url} stream {config.stream}"
    try:
        asyncio.run(_run(relay, until_idle, started))
    finally:
        container.engine.dispose()
    console.print(f"relay stopped: {relay.published} events published", soft_wrap=True)


@app.command("status")
def status(
    database_url: DatabaseUrl = None,
    stream: Stream = None,
    as_json: Annotated[bool, typer.Option("--json", help="the status as JSON")] = False,
) -> None:
    """Lag, last publication and throughput of the relay, per partition."""
    container = build_container(_settings(database_url))
    try:
        found = relay_status(
            container.uow(), container.system_principal(), stream or container.settings.relay_stream
        )
    finally:
        container.engine.dispose()
    data = found.as_dict()
    if as_json:
        print(json.dumps(data, indent=2))
        return
    console.print(
        f"stream {data['stream']}: {data['waiting']} waiting, lag {data['lag_seconds']} s, "
        f"{data['published_total']} published, {data['events_per_second']} events/s",
        soft_wrap=True,
    )
    if not data["partitions"]:
        console.print("no relay has run for this stream yet", soft_wrap=True)
    for p in data["partitions"]:
        holder = p["holder"] if p["active"] else "nobody"
        console.print(
            f"  partition {p['partition']}: held by {holder}, cursor {p['cursor']}, "
            f"last published {p['last_published_at'] or 'never'} ({p['last_event_id'] or '-'})",
            soft_wrap=True,
        )
