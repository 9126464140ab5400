"""``custmaster match``: batch matching into the review queue, and the match index."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TimeElapsedColumn
from rich.table import Table

from custmaster.bootstrap import Container, build_container
from custmaster.config import Settings
from custmaster.services.dedup.batch import run_batch
from custmaster.services.dedup.models import DEFAULT_TRAIN_SAMPLE, train_version
from custmaster.services.dedup.ports import ModelVersion
from custmaster.services.dedup.reindex import reindex

app = typer.Typer(help="Duplicate matching and the review queue.", no_args_is_help=True)
console = Console()
DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="overrides CUSTMASTER_DATABASE_URL", show_default=False),
]


def _container(database_url: str | None) -> Container:
    settings = Settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    return build_container(settings)


def _progress() -> Progress:
    columns = (
        *Progress.get_default_columns()[:1],
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    return Progress(*columns, console=console)


def _print_version(version: ModelVersion) -> None:
    report = version.report
    table = Table(title=f"match model version {version.version}", show_header=False)
    table.add_row("records", f"{report.get('records', 0):,} of {report.get('population', 0):,}")
    table.add_row("prior", f"{version.model['prior']:.3g}")
    for session in report.get("sessions", []):
        done = session.get("skipped") or (
            f"{session['pairs']:,} pairs, m of {', '.join(session['estimated']) or 'nothing'}"
        )
        table.add_row(f"EM {session['rule']}", done)
    calibration = report.get("calibration", {})
    table.add_row(
        "labelled pairs",
        f"{calibration.get('matches', 0)} merged, "
        f"{calibration.get('non_matches', 0)} not duplicate",
    )
    thresholds = version.model["thresholds"]
    calibrated = " (calibrated on labels)" if calibration.get("calibrated") else ""
    table.add_row(
        "thresholds",
        f"auto-merge >= {thresholds['auto_merge']:.6g}, review >= "
        f"{thresholds['review']:.6g}{calibrated}",
    )
    for name, how in report.get("levels", {}).items():
        if any(h != "em" for h in how):
            table.add_row(f"level source {name}", ", ".join(how))
    for warning in report.get("warnings", []):
        table.add_row("warning", warning)
    console.print(table)


@app.command("train")
def train_command(
    database_url: DatabaseUrl = None,
    sample: Annotated[
        int, typer.Option("--sample", min=2, help="records sampled for training")
    ] = DEFAULT_TRAIN_SAMPLE,
    labels: Annotated[
        bool, typer.Option("--labels/--no-labels", help="learn from the stewards' decisions")
    ] = True,
) -> None:
    """Estimate the model (prior, m and u by EM) from the indexed customers and the review
    queue's decisions; store it as the next model version, which becomes current."""
    container = _container(database_url)
    with console.status("training") as status:
        version = train_version(
            container.uow,
            container.system_principal(),
            sample=sample,
            use_labels=labels,
            progress=lambda phase: status.update(phase),
        )
    container.engine.dispose()
    _print_version(version)
    console.print(f"[green]model version {version.version} is current[/green]")


@app.command("run")
def run(
    database_url: DatabaseUrl = None,
    train: Annotated[
        bool, typer.Option("--train/--no-train", help="train a new model version first")
    ] = False,
    auto_merge: Annotated[
        bool,
        typer.Option(
            "--auto-merge", help="merge clusters above the auto-merge threshold without review"
        ),
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            help="scoring processes (default: one per CPU on large bases)",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Score the whole base (blocking, comparison, scoring, clustering) and fill the
    review queue. By default every cluster is queued for review, auto-merge ones too."""
    container = _container(database_url)
    if train:
        _print_version(train_version(container.uow, container.system_principal()))
    tasks: dict[str, TaskID] = {}
    with _progress() as progress:

        def report(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = progress.add_task(phase, total=total or None)
            progress.update(tasks[phase], completed=done, total=total or None)

        result = run_batch(
            container.uow,
            container.system_principal(),
            container.service_settings,
            auto_merge=auto_merge,
            workers=workers,
            progress=report,
        )
        for task in tasks.values():
            progress.update(task, completed=progress.tasks[task].total or 1)
    container.engine.dispose()
    table = Table(title=f"match run {result.run_id}", show_header=False)
    for key, value in result.stats.items():
        text = (
            ", ".join(f"{k} {v}s" for k, v in value.items())
            if isinstance(value, dict)
            else (
                f"{value:,}" if isinstance(value, int) else "none" if value is None else str(value)
            )
        )
        table.add_row(key.replace("_", " "), text)
    if result.model is not None:
        t = result.model.thresholds
        table.add_row("thresholds", f"auto-merge >= {t.auto_merge}, review >= {t.review}")
    console.print(table)
    # the clusters merged without review left the queue
    queued = result.stats.get("queued", result.stats.get("clusters", 0))
    console.print(f"[green]{queued} clusters in the review queue[/green] (GET /api/v1/duplicates)")


@app.command("reindex")
def reindex_command(database_url: DatabaseUrl = None) -> None:
    """Rebuild the match index of every active customer (after an upgrade of the
    normalisation rules, or for customers loaded before the matching migration)."""
    container = _container(database_url)
    started = time.perf_counter()
    with _progress() as progress:
        task = progress.add_task("indexing", total=None)
        done = reindex(
            container.uow,
            container.system_principal(),
            progress=lambda n, total: progress.update(task, completed=n, total=total),
        )
    container.engine.dispose()
    seconds = time.perf_counter() - started
    console.print(f"[green]indexed {done:,} customers[/green] in {seconds:.1f}s")
