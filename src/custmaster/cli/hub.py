"""``custmaster webhooks``, ``custmaster sync`` and ``custmaster inbound``: the
integration hub's workers and controls (docs/integration-hub.md)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from custmaster.bootstrap import Container, build_container
from custmaster.config import Settings
from custmaster.domain.errors import NotFound
from custmaster.services.auth import active_principal
from custmaster.services.inbound.apply import InboundResult, receive_change
from custmaster.services.inbound.consumer import DEFAULT_PREFIX, DEFAULT_STREAM, consume
from custmaster.services.inbound.context import system_context
from custmaster.services.recording import utcnow
from custmaster.services.sync.adapter import HttpUpsertAdapter
from custmaster.services.sync.hub import configured_targets
from custmaster.services.sync.mapping import SyncMapping, load_mapping
from custmaster.services.sync.run import (
    initial_sync,
    retry_dead_letters,
    run_target,
    set_paused,
    target_status,
)
from custmaster.services.webhooks.deliver import DeliveryConfig, run_worker

webhooks_app = typer.Typer(help="Webhook delivery.", no_args_is_help=True)
sync_app = typer.Typer(help="Outbound sync to ERP/CRM targets.", no_args_is_help=True)
inbound_app = typer.Typer(help="Inbound changes from source systems.", no_args_is_help=True)
console = Console()

DatabaseUrl = Annotated[str | None, typer.Option("--database-url", show_default=False)]
TargetsDir = Annotated[
    Path | None,
    typer.Option("--targets-dir", help="overrides CUSTMASTER_SYNC_TARGETS_DIR", show_default=False),
]


def register(app: typer.Typer) -> None:
    app.add_typer(webhooks_app, name="webhooks")
    app.add_typer(sync_app, name="sync")
    app.add_typer(inbound_app, name="inbound")


def _container(database_url: str | None, targets_dir: Path | None = None) -> Container:
    settings = Settings()
    update: dict[str, object] = {}
    if database_url:
        update["database_url"] = database_url
    if targets_dir:
        update["sync_targets_dir"] = targets_dir
    return build_container(settings.model_copy(update=update) if update else settings)


def delivery_config(settings: Settings) -> DeliveryConfig:
    return DeliveryConfig(
        timeout_seconds=settings.webhook_timeout_seconds,
        allow_private=settings.webhooks_allow_private_targets,
        concurrency=settings.webhook_concurrency,
        disable_after=timedelta(hours=settings.webhook_disable_after_hours),
    )


@webhooks_app.command("deliver")
def deliver(
    once: Annotated[bool, typer.Option("--once", help="one pass, then exit")] = False,
    interval: Annotated[float, typer.Option(help="seconds between idle passes")] = 1.0,
    database_url: DatabaseUrl = None,
) -> None:
    """Queue new events for every subscription and send what is due, until stopped."""
    container = _container(database_url)
    try:
        report = run_worker(
            container.uow,
            delivery_config(container.settings),
            now=utcnow,
            interval=interval,
            max_passes=1 if once else None,
        )
    except KeyboardInterrupt:
        return
    finally:
        container.engine.dispose()
    console.print(
        f"queued {report.queued} event(s); {report.attempted} attempt(s): "
        f"{report.succeeded} succeeded, {report.failed} failed"
        + "".join(f"\ndisabled: {reason}" for reason in report.disabled),
        soft_wrap=True,
    )


def _targets(container: Container, only: str | None) -> list[SyncMapping]:
    found = configured_targets(container.settings.sync_targets_dir)
    if only is not None:
        if only not in found:
            raise typer.BadParameter(f"no sync target {only}", param_hint="TARGET")
        return [found[only]]
    return list(found.values())


@sync_app.command("run")
def sync_run(
    target: Annotated[str | None, typer.Argument(help="one target (default: all)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show, send nothing")] = False,
    max_events: Annotated[int, typer.Option(min=1, max=100000)] = 1000,
    targets_dir: TargetsDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Send the changes after each target's cursor (one step of at most MAX_EVENTS)."""
    container = _container(database_url, targets_dir)
    try:
        for mapping in _targets(container, target):
            adapter = HttpUpsertAdapter(mapping)
            try:
                report = run_target(
                    container.uow, mapping, adapter, dry_run=dry_run, max_events=max_events
                )
            finally:
                adapter.close()
            if report.paused:
                console.print(f"{mapping.name}: paused", soft_wrap=True)
                continue
            for key, record in report.would_send:
                console.print(
                    f"{mapping.name} would upsert {key}: {json.dumps(record)}", soft_wrap=True
                )
            console.print(
                f"{mapping.name}: {report.events} event(s), sent {report.sent}, skipped "
                f"{report.skipped}, dead-lettered {report.dead_lettered}",
                soft_wrap=True,
            )
    finally:
        container.engine.dispose()


@sync_app.command("initial")
def sync_initial(
    target: Annotated[str, typer.Argument()],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show, send nothing")] = False,
    batch_size: Annotated[int | None, typer.Option(min=1, max=10000)] = None,
    targets_dir: TargetsDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """The initial sync of a target (its mapping's ``initial.master`` decides)."""
    container = _container(database_url, targets_dir)
    try:
        mapping = _targets(container, target)[0]
        adapter = HttpUpsertAdapter(mapping)
        try:
            report = initial_sync(
                container.uow, mapping, adapter, dry_run=dry_run, batch_size=batch_size
            )
        finally:
            adapter.close()
    finally:
        container.engine.dispose()
    for key, record in report.would_send:
        console.print(f"would upsert {key}: {json.dumps(record)}", soft_wrap=True)
    console.print(
        f"{mapping.name} (master: {mapping.master}): sent {report.sent}, skipped "
        f"{report.skipped}, dead-lettered {report.dead_lettered}, would send "
        f"{len(report.would_send)}",
        soft_wrap=True,
    )


@sync_app.command("status")
def sync_status(targets_dir: TargetsDir = None, database_url: DatabaseUrl = None) -> None:
    """Where every target stands."""
    container = _container(database_url, targets_dir)
    try:
        for mapping in _targets(container, None):
            s = target_status(container.uow(), container.system_principal(), mapping.name)
            console.print(
                f"{s.name}: {'paused' if s.paused else 'running'}, cursor {s.cursor}, "
                f"{s.behind} event(s) behind, sent {s.sent}, {s.links} linked, "
                f"{s.dead_letters} dead letter(s)",
                soft_wrap=True,
            )
    finally:
        container.engine.dispose()


def _pause(target: str, paused: bool, targets_dir: Path | None, database_url: str | None) -> None:
    container = _container(database_url, targets_dir)
    try:
        mapping = _targets(container, target)[0]
        set_paused(container.uow(), container.system_principal(), mapping.name, paused)
    finally:
        container.engine.dispose()
    console.print(f"{target}: {'paused' if paused else 'resumed'}", soft_wrap=True)


@sync_app.command("pause")
def sync_pause(
    target: str, targets_dir: TargetsDir = None, database_url: DatabaseUrl = None
) -> None:
    """Stop sending to a target; its cursor stays where it is."""
    _pause(target, True, targets_dir, database_url)


@sync_app.command("resume")
def sync_resume(
    target: str, targets_dir: TargetsDir = None, database_url: DatabaseUrl = None
) -> None:
    """Send to a target again; the next run catches up from its cursor."""
    _pause(target, False, targets_dir, database_url)


@sync_app.command("retry-dead")
def sync_retry_dead(
    target: str, targets_dir: TargetsDir = None, database_url: DatabaseUrl = None
) -> None:
    """Send the current state of every customer on a target's dead-letter list."""
    container = _container(database_url, targets_dir)
    try:
        mapping = _targets(container, target)[0]
        adapter = HttpUpsertAdapter(mapping)
        try:
            report = retry_dead_letters(container.uow, mapping, adapter)
        finally:
            adapter.close()
    finally:
        container.engine.dispose()
    console.print(
        f"{target}: resent {report.sent}, still failing {report.dead_lettered}", soft_wrap=True
    )


@sync_app.command("check")
def sync_check(path: Path) -> None:
    """Validate a mapping file (environment references are not expanded)."""
    mapping = load_mapping(path, expand=False)
    console.print(
        f"{path}: target {mapping.name} ({mapping.system} {mapping.object}), "
        f"{len(mapping.fields)} field(s)",
        soft_wrap=True,
    )


@inbound_app.command("consume")
def inbound_consume(
    system: Annotated[str, typer.Argument(help="the source system (its import template's name)")],
    as_user: Annotated[str, typer.Option("--as-user", help="the integration user it acts as")],
    nats_url: Annotated[str, typer.Option(envvar="CUSTMASTER_NATS_URL")] = "nats://127.0.0.1:4222",
    stream: Annotated[str, typer.Option()] = DEFAULT_STREAM,
    prefix: Annotated[str, typer.Option(help="subjects are PREFIX.SYSTEM")] = DEFAULT_PREFIX,
    durable: Annotated[str | None, typer.Option()] = None,
    max_messages: Annotated[int | None, typer.Option(min=1)] = None,
    idle_exit: Annotated[
        float | None, typer.Option(help="exit after this many idle seconds")
    ] = None,
    targets_dir: TargetsDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Apply the record changes SYSTEM publishes to PREFIX.SYSTEM (JetStream, durable
    consumer, explicit acknowledgement) under the approval policy."""
    container = _container(database_url, targets_dir)
    try:
        acting = active_principal(container.uow(), as_user)
        if acting is None:
            raise typer.BadParameter(f"no active user {as_user}", param_hint="--as-user")
        try:
            context = system_context(
                system,
                template_dir=container.service_settings.import_template_dir,
                sync_dir=container.settings.sync_targets_dir,
            )
        except NotFound as exc:
            raise typer.BadParameter(str(exc), param_hint="SYSTEM") from None

        def handle(record: object, entity: str | None, origin: str | None) -> InboundResult:
            assert isinstance(record, dict)
            return receive_change(
                container.uow(),
                acting,
                container.policy,
                container.service_settings,
                context.template,
                record,
                mappings=context.mappings,
                entity=entity,
                origin=origin,
            )

        report = asyncio.run(
            consume(
                nats_url,
                system,
                handle,
                stream=stream,
                prefix=prefix,
                durable=durable,
                max_messages=max_messages,
                idle_seconds=idle_exit,
            )
        )
    except KeyboardInterrupt:
        return
    finally:
        container.engine.dispose()
    console.print(
        f"{report.received} message(s): {report.statuses}; terminated "
        f"{report.terminated}, redelivery asked {report.redelivery_asked}",
        soft_wrap=True,
    )
