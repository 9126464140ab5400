"""``custmaster match``: batch matching into the review queue, and the match index."""

from __future__ import annotations

import importlib
import time
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TimeElapsedColumn
from rich.table import Table

from custmaster.bootstrap import Container, build_container
from custmaster.config import Settings
from custmaster.matching.model import MatchModel
from custmaster.matching.record import MatchFeatures
from custmaster.services.matching.batch import Trainer, run_batch
from custmaster.services.matching.reindex import reindex

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
    columns = (*Progress.get_default_columns()[:1], BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())  # fmt: skip
    return Progress(*columns, console=console)


def splink_trainer() -> Trainer | None:
    """Splink EM training (the ``bench`` extra), or None when Splink is not installed."""
    try:
        module: Any = importlib.import_module("custmaster.matching.splink_training")
    except ImportError:
        return None

    def train(sample: Sequence[MatchFeatures], population: int) -> MatchModel:
        model: MatchModel = module.train_model(
            sample, population_size=population, max_pairs=min(1e6, 30 * len(sample) ** 1.3)
        )
        return model

    return train


@app.command("run")
def run(
    database_url: DatabaseUrl = None,
    train: Annotated[
        bool, typer.Option("--train/--no-train", help="estimate m/u by EM (Splink) first")
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
    trainer = splink_trainer() if train else None
    if train and trainer is None:
        console.print("[red]--train needs Splink: pip install 'custmaster[bench]'[/red]")
        raise typer.Exit(1)
    tasks: dict[str, TaskID] = {}
    with _progress() as progress:

        def report(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = progress.add_task(phase, total=total or None)
            progress.update(tasks[phase], completed=done, total=total or None)

        result = run_batch(
            container.uow, container.system_principal(), container.service_settings,
            trainer=trainer, auto_merge=auto_merge, workers=workers, progress=report,
        )  # fmt: skip
        for task in tasks.values():
            progress.update(task, completed=progress.tasks[task].total or 1)
    container.engine.dispose()
    table = Table(title=f"match run {result.run_id}", show_header=False)
    for key, value in result.stats.items():
        text = ", ".join(f"{k} {v}s" for k, v in value.items()) if isinstance(value, dict) else (
            f"{value:,}" if isinstance(value, int) else str(value)
        )  # fmt: skip
        table.add_row(key.replace("_", " "), text)
    if result.model is not None:
        t = result.model.thresholds
        table.add_row("thresholds", f"auto-merge >= {t.auto_merge}, review >= {t.review}")
    console.print(table)
    # the clusters merged without review left the queue
    queued = result.stats.get("clusters", 0) - result.stats.get("auto_merged", 0)
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
            container.uow, container.system_principal(),
            progress=lambda n, total: progress.update(task, completed=n, total=total),
        )  # fmt: skip
    container.engine.dispose()
    seconds = time.perf_counter() - started
    console.print(f"[green]indexed {done:,} customers[/green] in {seconds:.1f}s")
