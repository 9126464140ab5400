"""Import jobs: submit, validate, review (approve or reject), import, resume, report.

Stages: ``validating`` -> ``awaiting_review`` -> (approved) ``importing`` -> ``done``;
``failed`` when the file cannot be read, a record fails with ``stop_on_first_error``, or
a run breaks off; ``rejected`` when the reviewer says no. A validate-only job ends
``done`` after validation and writes nothing but its report.

Both stages commit batch by batch together with their progress marker
(``validated_records``, ``last_committed_batch``), so :func:`resume_job` continues a job
interrupted by a crash or a restart exactly after its last committed batch. Each batch
transaction locks the job row and checks the marker first, so two runners never write
the same batch.

The uploaded files live on disk (see :class:`FileStore`): they are streamed once by the
validation stage (for a large job by a worker process that reads and parses the records
while this one plans and commits them, see :mod:`~custmaster.services.imports.worker`);
the import stage reads only the validated payloads in ``import_rows``.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO
from uuid import UUID, uuid4

from custmaster.domain.approvals.errors import SegregationOfDuties
from custmaster.domain.context import RefCheck, RefKind
from custmaster.domain.errors import Conflict, FieldError, NotFound, ValidationFailed
from custmaster.domain.permissions import Permission, Principal, require
from custmaster.domain.text import bad_text
from custmaster.services.governance.access import may_see_job
from custmaster.services.imports.apply import StopImport, write_batch
from custmaster.services.imports.collector import collector_paused, each_worked
from custmaster.services.imports.reader import count_rows
from custmaster.services.imports.sources import ImportFileError
from custmaster.services.imports.store import (
    Draft,
    ImportJob,
    ImportOptions,
    JobStatus,
    Outcome,
    RowReport,
)
from custmaster.services.imports.templates import (
    Template,
    TemplateError,
    TemplateNameError,
    load_template,
)
from custmaster.services.imports.validate import PreparedRecord, validate_batch
from custmaster.services.imports.worker import (
    can_use_worker,
    prepared_batches,
    prepared_batches_in_worker,
    spare_core,
)
from custmaster.services.ports import AuditEntry, UnitOfWork
from custmaster.services.recording import utcnow
from custmaster.services.settings import ServiceSettings

log = logging.getLogger(__name__)
MAX_BATCH = 1000
#: From this many records still to validate on, a worker process reads and parses them
#: while this one plans and commits, when a core is idle (see ``services.imports.worker``).
PARALLEL_FROM = 20_000
Progress = Callable[[ImportJob], None]
NewUow = Callable[[], UnitOfWork]
_RUNNABLE = (JobStatus.VALIDATING, JobStatus.IMPORTING)


class FileStore:
    """Uploaded files, one directory per job under ``root``.

    Files stay on disk rather than in the database: they are streamed (memory stays flat
    for any size), never bloat the database or its backups, and are removed once the job
    is done, rejected or failed for good (an unreadable file, a record error). A job a
    crash or an error broke off keeps them so that it can be resumed.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def save(self, job_id: UUID, name: str, content: BinaryIO) -> Path:
        folder = self.root / str(job_id)
        folder.mkdir(parents=True, exist_ok=True)
        safe = Path(name).name or "upload"
        target = folder / f"{len(list(folder.iterdir()))}-{safe}"
        with target.open("wb") as handle:
            shutil.copyfileobj(content, handle, length=1 << 20)
        return target

    def remove(self, job_id: UUID) -> None:
        shutil.rmtree(self.root / str(job_id), ignore_errors=True)


@dataclass(frozen=True, slots=True)
class Upload:
    name: str
    content: BinaryIO


def _audit_job(
    uow: UnitOfWork,
    actor: Principal,
    job: ImportJob,
    operation: str,
    changes: list[dict[str, object]],
) -> None:
    uow.audit.append(
        AuditEntry(
            occurred_at=utcnow(),
            actor_id=actor.user_id,
            actor_name=actor.name,
            operation=operation,
            resource_type="import_job",
            resource_id=str(job.id),
            changes=changes,
        )
    )


def storable_name(name: str) -> str:
    """An uploaded file's own name (no folders), with what no column can hold and
    control characters replaced by ``_``."""
    base = Path(name.replace("\\", "/")).name
    cleaned = "".join("_" if bad_text(c) or not c.isprintable() else c for c in base)
    return cleaned[:255] or "upload"


def check_options(options: ImportOptions) -> None:
    if not 1 <= options.batch_size <= MAX_BATCH:
        raise ValidationFailed([FieldError("batch_size", "out_of_range", f"must be 1-{MAX_BATCH}")])


def job_template(name: str, directory: Path | None) -> Template:
    """The template a job names (shipped, or in the operator's ``directory``), or a 422
    that never echoes a file's content or the server's paths (an invalid operator
    template's problems go to the log)."""
    try:
        return load_template(name, directory)
    except TemplateNameError as exc:
        raise ValidationFailed([FieldError("template", "not_a_template_name", str(exc))]) from None
    except FileNotFoundError as exc:
        raise ValidationFailed([FieldError("template", "unknown_template", str(exc))]) from None
    except TemplateError as exc:
        log.warning("import template %r is invalid: %s", name, "; ".join(exc.problems))
        message = f"template {name!r} is invalid; the server log lists its problems"
        raise ValidationFailed([FieldError("template", "invalid_template", message)]) from None
    except OSError as exc:
        log.warning("import template %r cannot be read: %s", name, exc)
        message = f"template {name!r} cannot be read; the server log says why"
        raise ValidationFailed([FieldError("template", "invalid_template", message)]) from None


def _require_entity_source(template: Template, options: ImportOptions) -> None:
    """Every customer needs an owning legal entity: a template that gives none needs the
    job's ``entity`` option (CLI ``--entity``, API form field ``entity``)."""
    if options.entity is None and not template.sets_owning_entity:
        raise ValidationFailed(
            [
                FieldError(
                    "entity",
                    "required",
                    f"template {template.name} gives no owning legal entity: name the job's entity",
                )
            ]
        )


def submit_job(
    uow: UnitOfWork,
    actor: Principal,
    *,
    template: str,
    uploads: list[Upload],
    options: ImportOptions,
    files: FileStore,
    template_dir: Path | None = None,
) -> ImportJob:
    """Store the files and create the job in ``validating`` (run :func:`run_job` next).

    ``template`` is a template's name (see :func:`job_template`), never a path."""
    require(actor, Permission.IMPORT_SUBMIT)
    check_options(options)
    loaded = job_template(template, template_dir)
    _require_entity_source(loaded, options)
    if not uploads:
        raise ValidationFailed([FieldError("file", "required", "upload at least one file")])
    if len(uploads) > len(loaded.roles):
        raise ValidationFailed(
            [
                FieldError(
                    "file", "too_many_files", f"template {template} reads {list(loaded.roles)}"
                )
            ]
        )
    now = utcnow()
    job = ImportJob(
        id=uuid4(),
        status=JobStatus.VALIDATING,
        template=template,
        files=[],
        options=options,
        submitted_by=actor.user_id,
        submitted_by_name=actor.name,
        created_at=now,
        updated_at=now,
    )
    if options.entity is not None and bad_text(options.entity):
        why = bad_text(options.entity) or ""
        raise ValidationFailed([FieldError("entity", "invalid_text", why)])
    with uow:
        if options.entity is not None:
            check = RefCheck(RefKind.LEGAL_ENTITY, options.entity, "entity")
            if uow.reference.missing([check]):
                raise ValidationFailed(
                    [
                        FieldError(
                            "entity",
                            "unknown_reference",
                            f"no legal entity '{options.entity}' exists",
                        )
                    ]
                )
        for role, upload in zip(loaded.roles, uploads, strict=False):
            name = storable_name(upload.name)
            path = files.save(job.id, name, upload.content)
            job.files.append({"role": role, "name": name, "path": str(path)})
        uow.imports.add_job(job)
        _audit_job(
            uow,
            actor,
            job,
            "submit",
            [
                {"field": "template", "before": None, "after": template},
                {"field": "options", "before": None, "after": options.as_dict()},
                {"field": "files", "before": None, "after": [f["name"] for f in job.files]},
            ],
        )
    return job


def get_job(uow: UnitOfWork, actor: Principal, job_id: UUID) -> ImportJob:
    get_permission(actor)
    with uow.read_only():
        return _visible_job(actor, uow.imports.get_job(job_id), job_id)


def _visible_job(actor: Principal, job: ImportJob | None, job_id: UUID) -> ImportJob:
    """``job`` when ``actor`` may see it (``governance.access.may_see_job``), else 404."""
    if job is None or not may_see_job(actor, job.entities, job.submitted_by):
        raise NotFound(f"no import job {job_id}")
    return job


def _load_for_update(uow: UnitOfWork, job_id: UUID, actor: Principal | None = None) -> ImportJob:
    """The job, locked; with ``actor``: only when they may see it (else 404, as if it
    did not exist)."""
    job = uow.imports.get_job(job_id, for_update=True)
    if actor is not None:
        return _visible_job(actor, job, job_id)
    if job is None:
        raise NotFound(f"no import job {job_id}")
    return job


def approve_job(uow: UnitOfWork, actor: Principal, job_id: UUID) -> ImportJob:
    """The bulk-import lane's review: a holder of ``import.approve`` other than the
    submitter lets the job write (run :func:`run_job` next)."""
    require(actor, Permission.IMPORT_APPROVE)
    with uow:
        job = _load_for_update(uow, job_id, actor)
        if job.submitted_by == actor.user_id:
            raise SegregationOfDuties(
                f"{actor.name} ({actor.user_id}) submitted import job {job.id} and cannot "
                "approve it"
            )
        if job.status is not JobStatus.AWAITING_REVIEW:
            raise Conflict(f"import job {job.id} is {job.status.value}, not awaiting review")
        _decide(job, actor, JobStatus.IMPORTING)
        uow.imports.save_job(job)
        _audit_job(
            uow,
            actor,
            job,
            "approve",
            [{"field": "status", "before": "awaiting_review", "after": "importing"}],
        )
        return job


def reject_job(
    uow: UnitOfWork, actor: Principal, job_id: UUID, files: FileStore, reason: str | None = None
) -> ImportJob:
    require(actor, Permission.IMPORT_APPROVE)
    with uow:
        job = _load_for_update(uow, job_id, actor)
        if job.submitted_by == actor.user_id:
            raise SegregationOfDuties(
                f"{actor.name} ({actor.user_id}) submitted import job {job.id} and cannot "
                "decide on it"
            )
        if job.status is not JobStatus.AWAITING_REVIEW:
            raise Conflict(f"import job {job.id} is {job.status.value}, not awaiting review")
        _decide(job, actor, JobStatus.REJECTED)
        job.error = reason
        job.finished_at = job.updated_at
        uow.imports.save_job(job)
        uow.imports.drop_keys(job.id)
        uow.imports.drop_payloads(job.id)
        _audit_job(
            uow,
            actor,
            job,
            "reject",
            [
                {"field": "status", "before": "awaiting_review", "after": "rejected"},
                {"field": "reason", "before": None, "after": reason},
            ],
        )
    files.remove(job.id)
    return job


def _decide(job: ImportJob, actor: Principal, status: JobStatus) -> None:
    if actor.is_agent:  # segregation of duties: people review imports, agents never do
        raise SegregationOfDuties(
            f"an agent acting for {actor.user_id} (via {actor.via}) may not decide on "
            f"import job {job.id}"
        )
    job.status = status
    job.decided_by, job.decided_by_name = actor.user_id, actor.name
    job.decided_at = job.updated_at = utcnow()


def _bump(summary: dict[str, object], key: str, counts: dict[str, int]) -> None:
    bucket = dict(summary.get(key) or {})  # type: ignore[call-overload]
    for name, value in counts.items():
        bucket[name] = int(bucket.get(name, 0)) + value
    summary[key] = bucket


def _fail(new_uow: NewUow, job_id: UUID, stage: str, error: str) -> None:
    with new_uow() as uow:
        job = _load_for_update(uow, job_id)
        job.status = JobStatus.FAILED
        job.failed_stage = stage
        job.error = error
        job.updated_at = job.finished_at = utcnow()
        uow.imports.save_job(job)


def _prepared(job: ImportJob, template: Template) -> Generator[list[PreparedRecord], None, None]:
    """The job's records from ``validated_records`` on, prepared batch by batch: in a
    worker process for a large job (the planning and the writes stay here)."""
    files = {f["role"]: Path(f["path"]) for f in job.files}
    args = (files, template, job.options.entity, job.validated_records, job.options.batch_size)
    remaining = (job.total_rows or 0) - job.validated_records
    on_invalid = job.options.on_invalid_field
    if remaining >= PARALLEL_FROM and can_use_worker() and spare_core():
        return prepared_batches_in_worker(*args, on_invalid=on_invalid)
    return prepared_batches(*args, on_invalid=on_invalid)


def _validate(
    new_uow: NewUow, job: ImportJob, settings: ServiceSettings, progress: Progress
) -> ImportJob:
    template = job_template(job.template, settings.import_template_dir)
    if job.total_rows is None:
        files = {f["role"]: Path(f["path"]) for f in job.files}
        job.total_rows = count_rows(files, template)
        with new_uow() as uow:
            current = _load_for_update(uow, job.id)
            current.total_rows = job.total_rows
            uow.imports.save_job(current)

    def commit(entries: list[PreparedRecord]) -> bool:
        nonlocal job
        with new_uow() as uow:
            current = _load_for_update(uow, job.id)
            if current.status is not JobStatus.VALIDATING or (
                current.validated_records != entries[0].seq
            ):
                raise Conflict(f"import job {job.id} is being run by another worker")
            result = validate_batch(uow, current, entries, settings, utcnow())
            uow.imports.add_rows(current.id, result.rows)
            uow.imports.add_keys(current.id, result.keys)
            counts: dict[str, int] = {}
            kinds: dict[str, int] = {}
            for row in result.rows:
                counts[row.outcome.value] = counts.get(row.outcome.value, 0) + 1
                if row.warnings:
                    counts["with_warnings"] = counts.get("with_warnings", 0) + 1
                for warning in row.warnings:
                    kinds[warning["code"]] = kinds.get(warning["code"], 0) + 1
            _bump(current.summary, "planned", counts)
            _bump(current.summary, "warnings", kinds)  # by kind
            if not result.entities <= current.entities:
                current.summary["entities"] = sorted(current.entities | result.entities)
            current.validated_records = result.rows[-1].seq + 1
            current.updated_at = utcnow()
            if result.stopped:
                current.status = JobStatus.FAILED
                current.failed_stage = "validating"
                current.error = f"stopped at record {result.rows[-1].seq + 1} (stop on first error)"
                current.finished_at = current.updated_at
            uow.imports.save_job(current)
            job = current
        return result.stopped

    batches = _prepared(job, template)
    try:
        for stopped in each_worked(batches, commit):
            progress(job)
            if stopped:
                return job
    finally:
        batches.close()  # stops the worker, if any
    with new_uow() as uow:
        current = _load_for_update(uow, job.id)
        current.record_count = current.validated_records
        current.updated_at = utcnow()
        if current.options.validate_only:
            current.status = JobStatus.DONE
            current.finished_at = current.updated_at
            uow.imports.drop_keys(current.id)
        else:
            current.status = JobStatus.AWAITING_REVIEW
        uow.imports.save_job(current)
        job = current
    progress(job)
    return job


def _import(
    new_uow: NewUow, job: ImportJob, settings: ServiceSettings, progress: Progress
) -> ImportJob:
    for batch in range(job.last_committed_batch + 1, job.batch_count):
        with collector_paused(), new_uow() as uow:
            current = _load_for_update(uow, job.id)
            if current.status is not JobStatus.IMPORTING or (
                current.last_committed_batch != batch - 1
            ):
                raise Conflict(f"import job {job.id} is being run by another worker")
            result = write_batch(uow, current, batch, settings, utcnow())
            _bump(current.summary, "applied", result.counts)
            current.last_committed_batch = batch
            current.updated_at = utcnow()
            uow.imports.save_job(current)
            job = current
        progress(job)
    with new_uow() as uow:
        current = _load_for_update(uow, job.id)
        current.status = JobStatus.DONE
        current.updated_at = current.finished_at = utcnow()
        current.summary["final"] = uow.imports.outcome_counts(current.id)
        uow.imports.drop_keys(current.id)
        uow.imports.drop_payloads(current.id)
        uow.imports.save_job(current)
        job = current
    progress(job)
    return job


def run_job(
    new_uow: NewUow,
    job_id: UUID,
    settings: ServiceSettings,
    *,
    files: FileStore | None = None,
    progress: Progress = lambda job: None,
) -> ImportJob:
    """Run whatever stage the job is in (validating or importing) to its end, from its
    last committed batch. Jobs in other stages are returned as they are."""
    with new_uow() as uow:
        job = uow.imports.get_job(job_id)
        if job is None:
            raise NotFound(f"no import job {job_id}")
    if job.status is JobStatus.VALIDATING:
        try:
            job = _validate(new_uow, job, settings, progress)
        except (ImportFileError, TemplateError, FileNotFoundError) as exc:
            _fail(new_uow, job.id, "validating", f"the file cannot be read: {exc}")
            if files is not None:
                files.remove(job.id)  # failed for good: nothing to resume
            raise ValidationFailed([FieldError("file", "unreadable", str(exc))]) from exc
        except Conflict:
            raise
        except BaseException as exc:
            _fail(new_uow, job.id, "validating", f"interrupted: {exc!r}")
            raise
    elif job.status is JobStatus.IMPORTING:
        try:
            job = _import(new_uow, job, settings, progress)
        except StopImport as exc:
            _fail(new_uow, job.id, "importing", str(exc))
            with new_uow() as uow:
                uow.imports.set_outcome(job.id, exc.seq, Outcome.FAILED, exc.errors)
                job = _load_for_update(uow, job.id)
        except Conflict:
            raise
        except BaseException as exc:
            _fail(new_uow, job.id, "importing", f"interrupted: {exc!r}")
            raise
    finished = job.status in (JobStatus.DONE, JobStatus.REJECTED)
    if files is not None and (finished or (job.status is JobStatus.FAILED and not resumable(job))):
        files.remove(job.id)
    return job


def resumable(job: ImportJob) -> bool:
    """Whether a failed job can be resumed (a crash, a restart, a broken-off run): only
    then does it keep its uploaded files; a job failed for its content drops them."""
    return (
        job.status is JobStatus.FAILED
        and job.failed_stage in _RUNNABLE
        and (job.error or "").startswith("interrupted")
    )


def resume_job(
    new_uow: NewUow,
    actor: Principal,
    job_id: UUID,
    settings: ServiceSettings,
    *,
    files: FileStore | None = None,
    progress: Progress = lambda job: None,
) -> ImportJob:
    """Continue a job interrupted by a crash, a restart or an error (status still
    validating/importing, or failed while validating/importing for a reason other than a
    record error) after its last committed batch."""
    require(actor, Permission.IMPORT_SUBMIT)
    with new_uow() as uow:
        job = _load_for_update(uow, job_id, actor)
        if resumable(job) and job.failed_stage is not None:
            job.status = JobStatus(job.failed_stage)
            job.failed_stage = job.error = job.finished_at = None
            job.updated_at = utcnow()
            uow.imports.save_job(job)
        elif job.status not in _RUNNABLE:
            raise Conflict(f"import job {job.id} is {job.status.value}; nothing to resume")
    return run_job(new_uow, job_id, settings, files=files, progress=progress)


def interrupted_jobs(uow: UnitOfWork) -> list[ImportJob]:
    """Jobs a crash may have left half-way (to resume at start-up)."""
    with uow.read_only():
        return uow.imports.jobs_in(list(_RUNNABLE))


def list_jobs(
    uow: UnitOfWork, actor: Principal, *, before: datetime | None, limit: int
) -> list[ImportJob]:
    """Up to ``limit`` jobs ``actor`` may see (``may_see_job``), newest first, created
    before ``before``. A scoped user's page is filled from older jobs when newer ones are
    out of sight, so a short page means there is nothing more to see."""
    get_permission(actor)
    visible: list[ImportJob] = []
    with uow.read_only():
        while len(visible) < limit:
            jobs = uow.imports.list_jobs(before=before, limit=limit)
            visible += [j for j in jobs if may_see_job(actor, j.entities, j.submitted_by)]
            if len(jobs) < limit:
                break
            before = jobs[-1].created_at
    return visible[:limit]


def get_permission(actor: Principal) -> None:
    """Submitters and reviewers see jobs and their reports."""
    if not actor.has(Permission.IMPORT_APPROVE):
        require(actor, Permission.IMPORT_SUBMIT)


def job_rows(
    uow: UnitOfWork,
    actor: Principal,
    job_id: UUID,
    *,
    after_seq: int = -1,
    limit: int | None = None,
    outcomes: list[Outcome] | None = None,
) -> list[RowReport]:
    get_permission(actor)
    with uow.read_only():
        _visible_job(actor, uow.imports.get_job(job_id), job_id)
        return uow.imports.rows(job_id, after_seq=after_seq, limit=limit, outcomes=outcomes)


def iter_job_rows(
    new_uow: NewUow, actor: Principal, job_id: UUID, *, page: int = 1000
) -> Iterator[RowReport]:
    """Every report line, streamed page by page (one short read per page)."""
    after = -1
    while True:
        rows = job_rows(new_uow(), actor, job_id, after_seq=after, limit=page)
        yield from rows
        if len(rows) < page:
            return
        after = rows[-1].seq


def job_drafts(
    uow: UnitOfWork, actor: Principal, job_id: UUID, *, after_seq: int, limit: int
) -> list[Draft]:
    get_permission(actor)
    with uow.read_only():
        _visible_job(actor, uow.imports.get_job(job_id), job_id)
        return uow.imports.drafts(job_id, after_seq=after_seq, limit=limit)


def is_applied(job: ImportJob, row: RowReport) -> bool:
    """Whether the row's outcome is in the master (its batch is committed)."""
    if job.options.validate_only or row.outcome in (Outcome.FAILED, Outcome.SKIPPED):
        return False
    return row.seq // job.options.batch_size <= job.last_committed_batch


def default_file_store() -> FileStore:
    """``CUSTMASTER_IMPORT_DIR``, else ``<temp dir>/custmaster-imports``."""
    root = os.environ.get("CUSTMASTER_IMPORT_DIR")
    return FileStore(Path(root) if root else Path(tempfile.gettempdir()) / "custmaster-imports")
