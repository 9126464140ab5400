"""Tables of bulk import jobs (migration ``0002_imports``), on the shared ``metadata``.

- ``import_jobs``: one row per job: stage, options, progress markers, summary.
- ``import_rows``: the compact per-record report (outcome, errors, warnings) and, for
  records to be written, the validated payload the import stage writes after approval
  (plain ``json`` on PostgreSQL, lz4-compressed where the server has it: written once,
  read once, never queried inside; see migration ``0007_import_payload``).
- ``import_keys``: duplicate-detection keys seen so far in the job's file (email, tax id,
  source reference, name), so that memory does not grow with the file.
- ``import_drafts``: incomplete records kept for a steward to finish (never completed by
  guessing).
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text, Uuid

from custmaster.persistence.tables import metadata
from custmaster.persistence.types import Json, JsonDocument, UtcDateTime

import_jobs = Table(
    "import_jobs",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("status", String(20), nullable=False, index=True),
    Column("template", String(255), nullable=False),
    Column("files", Json, nullable=False),
    Column("options", Json, nullable=False),
    Column("submitted_by", String(128), nullable=False),
    Column("submitted_by_name", String(255), nullable=False),
    Column("decided_by", String(128)),
    Column("decided_by_name", String(255)),
    Column("decided_at", UtcDateTime()),
    Column("total_rows", Integer),
    Column("validated_records", Integer, nullable=False),
    Column("record_count", Integer),
    Column("last_committed_batch", Integer, nullable=False),
    Column("summary", Json, nullable=False),
    Column("failed_stage", String(20)),
    Column("error", Text),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime()),
)

import_rows = Table(
    "import_rows",
    metadata,
    Column("job_id", Uuid, ForeignKey("import_jobs.id", ondelete="CASCADE"), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("row_numbers", Json, nullable=False),
    Column("source_id", String(255)),
    Column("outcome", String(16), nullable=False),
    Column("customer_id", Uuid),
    Column("errors", Json),
    Column("warnings", Json),
    #: text on PostgreSQL (migration 0032): written once, read whole, never queried inside
    Column("payload", JsonDocument()),
)

import_keys = Table(
    "import_keys",
    metadata,
    Column("job_id", Uuid, ForeignKey("import_jobs.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(512), primary_key=True),
    Column("seq", Integer, nullable=False),
)

import_drafts = Table(
    "import_drafts",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("job_id", Uuid, ForeignKey("import_jobs.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("source_system", String(64)),
    Column("source_id", String(255)),
    Column("name", String(255)),
    Column("command", Json, nullable=False),
    Column("missing", Json, nullable=False),
    Column("warnings", Json, nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)
Index("ix_import_drafts_job_id_seq", import_drafts.c.job_id, import_drafts.c.seq)
Index("ix_import_drafts_source", import_drafts.c.source_system, import_drafts.c.source_id)
