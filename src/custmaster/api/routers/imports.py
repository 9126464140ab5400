"""/api/v1/imports: bulk import jobs (upload, progress, review, row report, drafts)."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterator
from typing import Annotated, Any
from uuid import UUID

from anyio import CapacityLimiter, to_thread
from fastapi import APIRouter, BackgroundTasks, File, Form, Query, UploadFile
from fastapi.responses import Response, StreamingResponse

from custmaster.api.deps import ContainerDep, PrincipalDep
from custmaster.api.http import (
    MAX_LIMIT,
    decode_cursor,
    encode_cursor,
    int_cursor,
    json_response,
    time_cursor,
)
from custmaster.api.schemas.common import Page, problems
from custmaster.api.schemas.imports import (
    ImportDraftOut,
    ImportJobOut,
    ImportRowOut,
    RejectIn,
)
from custmaster.bootstrap import Container
from custmaster.domain.errors import DomainError
from custmaster.domain.snapshot import jsonable
from custmaster.services.imports.formula import neutralise_cell
from custmaster.services.imports.jobs import (
    Upload,
    approve_job,
    default_file_store,
    get_job,
    is_applied,
    iter_job_rows,
    job_drafts,
    job_rows,
    list_jobs,
    reject_job,
    resume_job,
    run_job,
    submit_job,
)
from custmaster.services.imports.store import (
    Draft,
    ImportJob,
    ImportOptions,
    JobStatus,
    OnDuplicate,
    Outcome,
    RowReport,
)

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/imports", tags=["imports"])
REPORT_COLUMNS = (
    "record",
    "rows",
    "source_id",
    "outcome",
    "applied",
    "customer_id",
    "errors",
    "warnings",
)


def job_body(job: ImportJob) -> dict[str, Any]:
    resumable = job.status in (JobStatus.VALIDATING, JobStatus.IMPORTING) or (
        job.status is JobStatus.FAILED and (job.error or "").startswith("interrupted")
    )
    return {
        "id": str(job.id),
        "status": job.status.value,
        "template": job.template,
        "files": [f["name"] for f in job.files],
        "options": job.options.as_dict(),
        "submitted_by": job.submitted_by,
        "decided_by": job.decided_by,
        "decided_at": jsonable(job.decided_at),
        "progress": {
            "total_rows": job.total_rows,
            "validated_records": job.validated_records,
            "record_count": job.record_count,
            "batches": job.batch_count,
            "committed_batches": job.last_committed_batch + 1,
        },
        "summary": job.summary,
        "error": job.error,
        "resumable": resumable,
        "created_at": jsonable(job.created_at),
        "updated_at": jsonable(job.updated_at),
        "finished_at": jsonable(job.finished_at),
    }


def row_body(job: ImportJob, row: RowReport) -> dict[str, Any]:
    return {
        "record": row.seq + 1,
        "rows": row.row_numbers,
        "source_id": row.source_id,
        "outcome": row.outcome.value,
        "applied": is_applied(job, row),
        "customer_id": str(row.customer_id) if row.customer_id else None,
        "errors": row.errors,
        "warnings": row.warnings,
    }


def draft_body(draft: Draft) -> dict[str, Any]:
    return {
        "id": str(draft.id),
        "record": draft.seq + 1,
        "source_system": draft.source_system,
        "source_id": draft.source_id,
        "name": draft.name,
        "missing": draft.missing,
        "command": draft.command,
        "warnings": draft.warnings,
        "created_at": jsonable(draft.created_at),
    }


async def _run_in_background(container: Container, job_id: UUID) -> None:
    """Run the job in a thread of its own: a job takes minutes, and the worker's request
    threads (``CUSTMASTER_WORKER_THREADS``) are for requests."""
    await to_thread.run_sync(_run_job, container, job_id, limiter=CapacityLimiter(1))


def _run_job(container: Container, job_id: UUID) -> None:
    try:
        run_job(container.uow, job_id, container.service_settings, files=default_file_store())
    except DomainError as exc:
        log.warning("import job %s stopped: %s", job_id, exc)
    except Exception:  # the job is marked failed (resumable); keep the worker alive
        log.exception("import job %s broke off", job_id)


@router.post(
    "",
    status_code=202,
    response_model=ImportJobOut,
    responses=problems(403),
    summary="Upload a file and start an import job (validation runs in the background)",
)
def create_import(
    container: ContainerDep,
    actor: PrincipalDep,
    background: BackgroundTasks,
    file: Annotated[list[UploadFile], File(description="the file(s), in the template's roles")],
    template: Annotated[
        str,
        Form(
            max_length=255,
            description="the NAME of a shipped template or of one in the operator's "
            "CUSTMASTER_IMPORT_TEMPLATE_DIR (never a path)",
        ),
    ],
    on_duplicate: Annotated[OnDuplicate, Form()] = OnDuplicate.SKIP,
    batch_size: Annotated[int, Form(ge=1, le=1000)] = 100,
    stop_on_first_error: Annotated[bool, Form()] = False,
    validate_only: Annotated[bool, Form()] = False,
    entity: Annotated[str | None, Form(max_length=64)] = None,
    keep_incomplete_as_drafts: Annotated[bool, Form()] = False,
) -> Response:
    options = ImportOptions(
        on_duplicate=on_duplicate,
        batch_size=batch_size,
        stop_on_first_error=stop_on_first_error,
        validate_only=validate_only,
        entity=entity or None,
        keep_incomplete_as_drafts=keep_incomplete_as_drafts,
    )
    uploads = [Upload(f.filename or "upload", f.file) for f in file]
    job = submit_job(
        container.uow(),
        actor,
        template=template,
        uploads=uploads,
        options=options,
        files=default_file_store(),
        template_dir=container.service_settings.import_template_dir,
    )
    background.add_task(_run_in_background, container, job.id)
    return json_response(202, job_body(job), {"Location": f"/api/v1/imports/{job.id}"})


@router.get(
    "",
    response_model=Page[ImportJobOut],
    responses=problems(403),
    summary="List import jobs, newest first",
)
def list_imports(
    container: ContainerDep,
    actor: PrincipalDep,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> Response:
    before = decode_cursor(cursor)
    jobs = list_jobs(
        container.uow(),
        actor,
        before=time_cursor(before) if before else None,
        limit=limit,
    )
    next_cursor = encode_cursor(jobs[-1].created_at.isoformat()) if len(jobs) == limit else None
    return json_response(200, {"items": [job_body(j) for j in jobs], "next_cursor": next_cursor})


@router.get(
    "/{job_id}",
    response_model=ImportJobOut,
    responses=problems(403, 404),
    summary="A job's stage, progress and summary",
)
def read_import(job_id: UUID, container: ContainerDep, actor: PrincipalDep) -> Response:
    return json_response(200, job_body(get_job(container.uow(), actor, job_id)))


@router.post(
    "/{job_id}/approve",
    response_model=ImportJobOut,
    responses=problems(403, 404, 409),
    summary="Approve a job awaiting review (not by its submitter); it then imports",
)
def approve_import(
    job_id: UUID, container: ContainerDep, actor: PrincipalDep, background: BackgroundTasks
) -> Response:
    job = approve_job(container.uow(), actor, job_id)
    background.add_task(_run_in_background, container, job.id)
    return json_response(200, job_body(job))


@router.post(
    "/{job_id}/reject",
    response_model=ImportJobOut,
    responses=problems(403, 404, 409),
    summary="Reject a job awaiting review; nothing is written",
)
def reject_import(
    job_id: UUID, container: ContainerDep, actor: PrincipalDep, body: RejectIn | None = None
) -> Response:
    reason = body.reason if body else None
    job = reject_job(container.uow(), actor, job_id, default_file_store(), reason)
    return json_response(200, job_body(job))


@router.post(
    "/{job_id}/resume",
    response_model=ImportJobOut,
    responses=problems(403, 404, 409),
    summary="Resume a job interrupted by a crash or restart after its last batch",
)
def resume_import(job_id: UUID, container: ContainerDep, actor: PrincipalDep) -> Response:
    job = resume_job(
        container.uow, actor, job_id, container.service_settings, files=default_file_store()
    )
    return json_response(200, job_body(job))


def _after(cursor: str | None) -> int:
    raw = decode_cursor(cursor)
    if raw is None:
        return -1
    return int_cursor(raw)


@router.get(
    "/{job_id}/rows",
    response_model=Page[ImportRowOut],
    responses=problems(403, 404),
    summary="The row report (JSON, paginated)",
)
def import_rows(
    job_id: UUID,
    container: ContainerDep,
    actor: PrincipalDep,
    outcome: Annotated[list[Outcome] | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> Response:
    job = get_job(container.uow(), actor, job_id)
    rows = job_rows(
        container.uow(), actor, job_id, after_seq=_after(cursor), limit=limit, outcomes=outcome
    )
    next_cursor = encode_cursor(str(rows[-1].seq)) if len(rows) == limit else None
    return json_response(
        200, {"items": [row_body(job, r) for r in rows], "next_cursor": next_cursor}
    )


def _csv_lines(container: Container, job: ImportJob, actor: Any) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(REPORT_COLUMNS)
    for row in iter_job_rows(container.uow, actor, job.id):
        body = row_body(job, row)
        body["rows"] = " ".join(str(n) for n in row.row_numbers)
        for key in ("errors", "warnings"):
            body[key] = "; ".join(
                f"{i.get('field') or ''}: {i['message']} ({i['code']})" for i in body[key]
            )
        writer.writerow(
            neutralise_cell(v) if isinstance(v, str) else ("" if v is None else str(v))
            for v in (body[c] for c in REPORT_COLUMNS)
        )
        if buffer.tell() > 1 << 16:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


@router.get(
    "/{job_id}/rows.csv",
    responses={**problems(403, 404), 200: {"content": {"text/csv": {}}}},
    summary="The row report as CSV (streamed; cells neutralised against formulas)",
)
def import_rows_csv(job_id: UUID, container: ContainerDep, actor: PrincipalDep) -> Response:
    job = get_job(container.uow(), actor, job_id)
    return StreamingResponse(
        _csv_lines(container, job, actor),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="import-{job.id}.csv"'},
    )


@router.get(
    "/{job_id}/drafts",
    response_model=Page[ImportDraftOut],
    responses=problems(403, 404),
    summary="Incomplete records kept as drafts for a steward to finish",
)
def import_drafts(
    job_id: UUID,
    container: ContainerDep,
    actor: PrincipalDep,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> Response:
    drafts = job_drafts(container.uow(), actor, job_id, after_seq=_after(cursor), limit=limit)
    next_cursor = encode_cursor(str(drafts[-1].seq)) if len(drafts) == limit else None
    body = {"items": [draft_body(d) for d in drafts], "next_cursor": next_cursor}
    return Response(json.dumps(body), media_type="application/json")
