"""``custmaster import`` and ``custmaster export``: bulk import jobs and exports from the
shell, running the same services as the API in-process (Rich progress, summary table).

``custmaster import FILE [FILE2] --template NAME [options]`` submits the job as the CLI
operator (the system principal, ``CUSTMASTER_LOCAL_PRINCIPAL_ID``), validates it and
stops at ``awaiting_review``; ``custmaster import approve JOB_ID --approver USER`` lets a
registered user holding ``import.approve`` (never the submitter: segregation of duties)
approve and run it; ``--approve --approver USER`` does both at once. ``custmaster import
resume JOB_ID`` continues a job a crash or restart interrupted; ``custmaster import
resume --all`` every such job.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, BinaryIO
from uuid import UUID

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from custmaster.bootstrap import Container, build_container
from custmaster.config import Settings
from custmaster.domain.errors import DomainError, NotFound, ValidationFailed
from custmaster.domain.permissions import Principal
from custmaster.services.auth import active_principal
from custmaster.services.certificates.window import certificates_ending
from custmaster.services.customer_queries import CustomerQuery
from custmaster.services.exports import ExportFormat, export_customers
from custmaster.services.imports.jobs import (
    Upload,
    approve_job,
    default_file_store,
    get_job,
    interrupted_jobs,
    iter_job_rows,
    reject_job,
    resume_job,
    run_job,
    submit_job,
)
from custmaster.services.imports.store import (
    ImportJob,
    ImportOptions,
    InvalidField,
    JobStatus,
    OnDuplicate,
)
from custmaster.services.imports.templates import TemplateNameError, check_template_name

console = Console()
_ACTIONS = ("approve", "reject", "resume", "status")


def _container(database_url: str | None) -> Container:
    settings = Settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    return build_container(settings)


def _operator(container: Container) -> Principal:
    """The CLI acts as the configured system principal."""
    return container.system_principal()


def _approver(container: Container, user_id: str | None) -> Principal:
    if not user_id:
        raise typer.BadParameter("name the approving user with --approver USER_ID")
    approver = active_principal(container.uow(), user_id)
    if approver is None:
        raise typer.BadParameter(f"no active user {user_id} (see `custmaster users`)")
    return approver


def _progress(job_label: str) -> tuple[Progress, Any]:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    progress = Progress(*columns, console=console, transient=False)
    task = progress.add_task(job_label, total=None)

    def update(job: ImportJob) -> None:
        if job.status is JobStatus.VALIDATING:
            progress.update(
                task,
                description="validating",
                total=job.total_rows,
                completed=job.validated_records,
            )
        elif job.status is JobStatus.IMPORTING:
            progress.update(
                task,
                description="importing",
                total=job.batch_count,
                completed=job.last_committed_batch + 1,
            )
        else:
            progress.update(task, description=job.status.value)

    return progress, update


#: what a job's counts mean before it is imported (validate-only, awaiting review)
PLANNED = {
    "created": "to create",
    "updated": "to update",
    "skipped": "to skip",
    "draft": "to keep as drafts",
}


def _summary(container: Container, actor: Principal, job: ImportJob, show_rows: int) -> None:
    imported = bool(job.summary.get("final"))
    title = f"import job {job.id}: {job.status.value}"
    table = Table(title=title if imported else f"{title} (nothing written yet)")
    table.add_column("outcome" if imported else "outcome if imported")
    table.add_column("records", justify="right")
    # the final counts once imported; rows with warnings are counted at validation
    counts = {**(job.summary.get("planned") or {}), **(job.summary.get("final") or {})}
    for outcome in ("created", "updated", "skipped", "draft", "failed", "with_warnings"):
        label = outcome.replace("_", " ")
        if not imported and outcome in PLANNED:
            label = PLANNED[outcome]
        table.add_row(label, str(counts.get(outcome, 0)))
    console.print(table)
    kinds = job.summary.get("warnings") or {}
    if kinds:
        warnings = Table(title="warnings by kind")
        warnings.add_column("warning")
        warnings.add_column("records", justify="right")
        for kind, count in sorted(kinds.items()):
            warnings.add_row(kind, str(count))
        console.print(warnings)
    if job.error:
        console.print(f"[red]{job.error}[/red]")
    if show_rows:
        shown = 0
        for row in iter_job_rows(container.uow, actor, job.id):
            if row.errors and shown < show_rows:
                problems = "; ".join(f"{e.get('field')}: {e['message']}" for e in row.errors)
                console.print(f"record {row.seq + 1} (rows {row.row_numbers}): {problems}")
                shown += 1
    if job.status is JobStatus.AWAITING_REVIEW:
        console.print(
            f"awaiting review: `custmaster import approve {job.id} --approver USER` "
            f"(a user with import.approve other than {job.submitted_by})"
        )


def _run(container: Container, job_id: UUID, *, resume: bool, actor: Principal) -> ImportJob:
    progress, update = _progress("starting")
    with progress:
        if resume:
            return resume_job(
                container.uow,
                actor,
                job_id,
                container.service_settings,
                files=default_file_store(),
                progress=update,
            )
        return run_job(
            container.uow,
            job_id,
            container.service_settings,
            files=default_file_store(),
            progress=update,
        )


def import_command(
    args: Annotated[
        list[str],
        typer.Argument(
            help="FILE [FILE2] (in the template's file roles), or "
            "approve|reject|resume|status JOB_ID",
            show_default=False,
        ),
    ],
    template: Annotated[
        str | None,
        typer.Option(
            help="a template NAME: custmaster, salesforce, hubspot, d365, legacy_erp or one "
            "in CUSTMASTER_IMPORT_TEMPLATE_DIR (never a path)"
        ),
    ] = None,
    on_duplicate: Annotated[
        OnDuplicate, typer.Option(help="skip, update, error or review (every hit to review)")
    ] = OnDuplicate.SKIP,
    on_invalid_field: Annotated[
        InvalidField, typer.Option(help="an invalid field value: drop it, draft the row, reject")
    ] = InvalidField.DROP,
    batch_size: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    stop_on_first_error: Annotated[bool, typer.Option("--stop-on-first-error")] = False,
    validate_only: Annotated[bool, typer.Option("--validate-only", help="dry run")] = False,
    entity: Annotated[str | None, typer.Option(help="target legal entity")] = None,
    keep_incomplete_as_drafts: Annotated[
        bool, typer.Option("--keep-incomplete-as-drafts", help="keep rows missing required fields")
    ] = False,
    approve: Annotated[
        bool, typer.Option("--approve", help="approve after validation (needs --approver)")
    ] = False,
    approver: Annotated[
        str | None, typer.Option(help="registered user with import.approve, not the submitter")
    ] = None,
    all_jobs: Annotated[bool, typer.Option("--all", help="resume: every interrupted job")] = False,
    reason: Annotated[str | None, typer.Option(help="reject: why")] = None,
    show_errors: Annotated[int, typer.Option(help="print the first N failed records")] = 10,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="overrides CUSTMASTER_DATABASE_URL")
    ] = None,
) -> None:
    """Import customers from a file through a reviewed job (or approve/reject/resume one)."""
    container = _container(database_url)
    operator = _operator(container)
    try:
        if args[0] in _ACTIONS:
            _action(
                container,
                operator,
                args,
                approver=approver,
                all_jobs=all_jobs,
                reason=reason,
                show_errors=show_errors,
            )
            return
        if template is None:
            raise typer.BadParameter("--template is required to import a file")
        template_dir = container.service_settings.import_template_dir
        try:
            check_template_name(template, template_dir)
        except TemplateNameError as exc:
            raise typer.BadParameter(str(exc), param_hint="--template") from None
        options = ImportOptions(
            on_duplicate=on_duplicate,
            batch_size=batch_size,
            stop_on_first_error=stop_on_first_error,
            validate_only=validate_only,
            entity=entity,
            keep_incomplete_as_drafts=keep_incomplete_as_drafts,
            on_invalid_field=on_invalid_field,
        )
        approving = _approver(container, approver) if approve else None
        handles: list[BinaryIO] = [Path(a).open("rb") for a in args]  # noqa: SIM115
        try:
            job = submit_job(
                container.uow(),
                operator,
                template=template,
                uploads=[Upload(Path(a).name, h) for a, h in zip(args, handles, strict=True)],
                options=options,
                files=default_file_store(),
                template_dir=template_dir,
            )
        finally:
            for handle in handles:
                handle.close()
        console.print(f"import job [bold]{job.id}[/bold] submitted")
        job = _run(container, job.id, resume=False, actor=operator)
        if approving is not None and job.status is JobStatus.AWAITING_REVIEW:
            approve_job(container.uow(), approving, job.id)
            job = _run(container, job.id, resume=False, actor=operator)
        _summary(container, operator, job, show_errors)
        if job.status is JobStatus.FAILED:
            raise typer.Exit(1)
    except (DomainError, OSError) as exc:
        _fail(exc)
    finally:
        container.engine.dispose()


def _fail(exc: BaseException) -> None:
    console.print(f"[red]{exc}[/red]")
    if isinstance(exc, ValidationFailed):
        for error in exc.errors:
            console.print(f"  {error.field}: {error.message}")
    raise typer.Exit(1)


def _action(
    container: Container,
    operator: Principal,
    args: list[str],
    *,
    approver: str | None,
    all_jobs: bool,
    reason: str | None,
    show_errors: int,
) -> None:
    action = args[0]
    if action == "resume" and all_jobs:
        for job in interrupted_jobs(container.uow()):
            console.print(f"resuming import job {job.id} ({job.status.value})")
            _summary(container, operator, _run(container, job.id, resume=True, actor=operator), 0)
        return
    if len(args) != 2:
        raise typer.BadParameter(f"usage: custmaster import {action} JOB_ID")
    try:
        job_id = UUID(args[1])
    except ValueError:
        raise typer.BadParameter(f"{args[1]!r} is not a job id") from None
    if action == "approve":
        approve_job(container.uow(), _approver(container, approver), job_id)
        job = _run(container, job_id, resume=False, actor=operator)
    elif action == "reject":
        job = reject_job(
            container.uow(), _approver(container, approver), job_id, default_file_store(), reason
        )
    elif action == "resume":
        job = _run(container, job_id, resume=True, actor=operator)
    else:
        try:
            job = get_job(container.uow(), operator, job_id)
        except NotFound:
            raise typer.BadParameter(f"no import job {job_id}") from None
    _summary(container, operator, job, show_errors)


def export_command(
    output: Annotated[Path, typer.Argument(help="the file to write; - for standard output")],
    format: Annotated[ExportFormat, typer.Option(help="csv, xlsx, jsonl or parquet")] = (
        ExportFormat.CSV
    ),
    entity: Annotated[str | None, typer.Option(help="the entity's effective view")] = None,
    include_inactive: Annotated[bool, typer.Option("--include-inactive")] = False,
    customer_type: Annotated[str | None, typer.Option()] = None,
    country: Annotated[str | None, typer.Option()] = None,
    customer_group: Annotated[str | None, typer.Option()] = None,
    certificate_expiring_within: Annotated[
        str | None,
        typer.Option(help="only customers with a certificate ending within e.g. 30d"),
    ] = None,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="overrides CUSTMASTER_DATABASE_URL")
    ] = None,
) -> None:
    """Export customers (streamed) for a data warehouse or a spreadsheet."""
    container = _container(database_url)
    try:
        query = CustomerQuery(
            status=None if include_inactive else CustomerQuery().status,
            customer_type=customer_type,
            country=country,
            customer_group=customer_group,
            certificates_ending=certificates_ending(certificate_expiring_within),
        )
        chunks = export_customers(container.uow, _operator(container), format, query, entity=entity)
        if str(output) == "-":
            for chunk in chunks:
                sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
        else:
            size = 0
            with output.open("wb") as handle:
                for chunk in chunks:
                    handle.write(chunk)
                    size += len(chunk)
            console.print(f"wrote {output} ({size:,} bytes)")
    except DomainError as exc:
        _fail(exc)
    finally:
        container.engine.dispose()
