"""Source records and the provenance of golden-record fields (migration 0013).

- ``source_records``: every record that arrived (import row, API create with a source
  reference, inbound change): the source system and id, the values as received, their
  normalised form (the parsed customer snapshot; ``None`` for an incomplete record), the
  match features, the lineage (job, file, rows, time) and the golden record it belongs to
  (``golden_id``; ``NULL`` while an incomplete record waits for its cluster).
- ``golden_fields``: per golden record, which source record (or a steward) holds each
  field's value and by which rule. A golden record without a row here takes its
  provenance from its first source record (see ``services.sources.provenance``).

No foreign key to ``customers``: source records outlive merges (an absorbed golden record
leaves the table; its source records move to the survivor and back on unmerge).
"""

from __future__ import annotations

from sqlalchemy import Column, Index, String, Table, Uuid

from custmaster.persistence.tables import metadata
from custmaster.persistence.types import Json, JsonDocument, UtcDateTime

source_records = Table(
    "source_records",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("source_system", String(64), nullable=False),
    Column("source_id", String(255)),
    Column("golden_id", Uuid),
    #: import | api | inbound
    Column("origin", String(16), nullable=False),
    #: written once per arrival and never queried inside: ``text`` on PostgreSQL (kept as
    #: written, not even parsed by the server to check it: migration 0031; lz4-compressed
    #: where the server has it, should a record outgrow a page)
    Column("received", JsonDocument(), nullable=False),
    Column("normalised", JsonDocument()),
    Column("features", JsonDocument()),
    Column("missing", Json, nullable=False),
    Column("warnings", Json, nullable=False),
    Column("job_id", Uuid),
    Column("file", String(255)),
    Column("rows", Json, nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    #: pending records matched together that still lack a required field: one group (the
    #: id of one of them), matched and settled as one until it becomes a golden record
    Column("pending_group", Uuid),
)
Index("ix_source_records_golden_id", source_records.c.golden_id)
#: partial (migration 0024): only the few records in a pending group have an entry
Index(
    "ix_source_records_pending_group",
    source_records.c.pending_group,
    postgresql_where=source_records.c.pending_group.is_not(None),
    sqlite_where=source_records.c.pending_group.is_not(None),
)
Index("ix_source_records_source", source_records.c.source_system, source_records.c.source_id)

golden_fields = Table(
    "golden_fields",
    metadata,
    Column("customer_id", Uuid, primary_key=True),
    Column("fields", Json, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)
