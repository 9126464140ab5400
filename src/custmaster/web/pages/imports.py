"""Imports: upload a file with a template, validate only or run; a live progress bar
(htmx polling); row errors (downloadable as CSV through the API's report); review and
approve or reject by a second person."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import BackgroundTasks, File, Form, Request, Response, UploadFile
from fastapi.responses import StreamingResponse

from custmaster.api.routers.imports import _csv_lines, _run_in_background, job_body
from custmaster.bootstrap import Container
from custmaster.domain.permissions import Permission
from custmaster.services.imports.jobs import (
    Upload,
    approve_job,
    default_file_store,
    get_job,
    job_drafts,
    job_rows,
    list_jobs,
    reject_job,
    submit_job,
)
from custmaster.services.imports.store import ImportOptions, JobStatus, OnDuplicate, Outcome
from custmaster.services.imports.templates import available_templates
from custmaster.web.auth import actor
from custmaster.web.rendering import render
from custmaster.web.routing import redirect, router

RUNNING = (JobStatus.VALIDATING, JobStatus.IMPORTING)


def _container(request: Request) -> Container:
    found: Container = request.app.state.container
    return found


def _templates(container: Container) -> list[str]:
    return sorted(available_templates(container.service_settings.import_template_dir))


def progress_of(body: dict[str, Any]) -> dict[str, Any]:
    """The progress bar's value and maximum, and whether to keep polling."""
    progress = body["progress"]
    running = body["status"] in (s.value for s in RUNNING)
    if body["status"] == JobStatus.IMPORTING.value and progress["batches"]:
        value, maximum = progress["committed_batches"], progress["batches"]
    else:
        value = progress["validated_records"]
        maximum = max(progress["record_count"] or progress["total_rows"] or 0, value, 1)
    return {
        "value": value,
        "max": maximum,
        "running": running,
        "percent": round(100 * value / maximum) if maximum else 0,
    }


@router.get("/imports")
def imports_page(request: Request) -> Response:
    container, me = _container(request), actor(request)
    jobs = [job_body(j) for j in list_jobs(container.uow(), me, before=None, limit=50)]
    context = {
        "title": "Imports",
        "jobs": jobs,
        "templates": _templates(container),
        "may_submit": me.has(Permission.IMPORT_SUBMIT),
        "on_duplicate": [o.value for o in OnDuplicate],
    }
    return render(request, "imports.html", context)


@router.post("/imports")
def upload(
    request: Request,
    background: BackgroundTasks,
    file: Annotated[UploadFile, File()],
    template: Annotated[str, Form(max_length=255)],
    mode: Annotated[str, Form(pattern="^(validate|run)$")] = "validate",
    on_duplicate: Annotated[OnDuplicate, Form()] = OnDuplicate.SKIP,
    entity: Annotated[str, Form(max_length=64)] = "",
    keep_drafts: Annotated[bool, Form()] = False,
) -> Response:
    container, me = _container(request), actor(request)
    options = ImportOptions(
        on_duplicate=on_duplicate,
        validate_only=mode == "validate",
        entity=entity.strip() or None,
        keep_incomplete_as_drafts=keep_drafts,
    )
    job = submit_job(
        container.uow(),
        me,
        template=template,
        uploads=[Upload(file.filename or "upload", file.file)],
        options=options,
        files=default_file_store(),
        template_dir=container.service_settings.import_template_dir,
    )
    background.add_task(_run_in_background, container, job.id)
    return redirect(f"/console/imports/{job.id}")


def _job_context(request: Request, job_id: UUID) -> dict[str, Any]:
    container, me = _container(request), actor(request)
    job = get_job(container.uow(), me, job_id)
    body = job_body(job)
    return {
        "job": body,
        "bar": progress_of(body),
        "may_decide": job.status is JobStatus.AWAITING_REVIEW
        and me.has(Permission.IMPORT_APPROVE)
        and job.submitted_by != me.user_id,
    }


@router.get("/imports/{job_id}")
def job_page(request: Request, job_id: UUID) -> Response:
    container, me = _container(request), actor(request)
    context = _job_context(request, job_id)
    failed = job_rows(container.uow(), me, job_id, limit=200, outcomes=[Outcome.FAILED])
    errors = [
        {
            "record": r.seq + 1,
            "rows": r.row_numbers,
            "source_id": r.source_id,
            "field": e.get("field"),
            "message": e.get("message"),
            "code": e.get("code"),
        }
        for r in failed
        for e in r.errors
    ]
    drafts = job_drafts(container.uow(), me, job_id, after_seq=-1, limit=200)
    context = {**context, "title": "Import job", "errors": errors, "drafts": drafts}
    return render(request, "import_job.html", context)


@router.get("/imports/{job_id}/progress")
def job_progress(request: Request, job_id: UUID) -> Response:
    """The progress fragment htmx polls while the job runs (it stops polling after)."""
    context = _job_context(request, job_id)
    headers = {} if context["bar"]["running"] else {"HX-Refresh": "true"}
    return render(request, "import_progress.html", context, headers=headers)


@router.get("/imports/{job_id}/errors.csv")
def errors_csv(request: Request, job_id: UUID) -> Response:
    container, me = _container(request), actor(request)
    job = get_job(container.uow(), me, job_id)
    return StreamingResponse(
        _csv_lines(container, job, me),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="import-{job.id}.csv"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/imports/{job_id}/approve")
def approve(request: Request, background: BackgroundTasks, job_id: UUID) -> Response:
    container, me = _container(request), actor(request)
    job = approve_job(container.uow(), me, job_id)
    background.add_task(_run_in_background, container, job.id)
    return redirect(f"/console/imports/{job_id}")


@router.post("/imports/{job_id}/reject")
def reject(
    request: Request, job_id: UUID, reason: Annotated[str, Form(max_length=2000)] = ""
) -> Response:
    container, me = _container(request), actor(request)
    reject_job(container.uow(), me, job_id, default_file_store(), reason or None)
    return redirect(f"/console/imports/{job_id}")
