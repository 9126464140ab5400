"""Matching and golden-record tables (migration 0003, branch ``matching``).

- ``match_records`` / ``match_keys``: the online match index, rewritten in the same
  transaction as every customer change (prepared features per active customer, and its
  blocking keys indexed on ``(key_type, key_value)``).
- ``match_runs``: batch runs and the model each used (``model_version``: the stored model
  version it used, migration 0014).
- ``match_models``: trained model versions with their training reports (0014).
- ``duplicate_clusters`` (+ ``duplicate_cluster_members``): the review queue.
- ``not_duplicates``: steward decisions, unordered pairs stored as (smaller, larger) id.
- ``merges`` (+ ``merge_source_refs``): every merge with the snapshots unmerge needs.
- ``customer_redirects``: absorbed customer id -> survivor id.

No foreign keys to ``customers``: these tables outlive the rows they name (absorbed and
deleted customers) and the services keep them consistent.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, String, Table, Uuid

from custmaster.persistence.tables import metadata
from custmaster.persistence.types import BigId, Json, UtcDateTime

match_records = Table(
    "match_records",
    metadata,
    Column("customer_id", Uuid, primary_key=True),
    Column("number", String(32), nullable=False),
    Column("name", String(255), nullable=False),
    #: the prepared MatchFeatures of the customer (services.dedup.records)
    Column("features", Json, nullable=False),
)

match_keys = Table(
    "match_keys",
    metadata,
    Column("key_type", String(16), primary_key=True),
    Column("key_value", String(320), primary_key=True),
    Column("customer_id", Uuid, primary_key=True),
)
Index("ix_match_keys_customer_id", match_keys.c.customer_id)

match_runs = Table(
    "match_runs",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime()),
    Column("actor_id", String(128), nullable=False),
    Column("model", Json, nullable=False),
    Column("stats", Json, nullable=False),
    Column("model_version", Integer),
)

match_models = Table(
    "match_models",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(128), nullable=False),
    #: the MatchModel (custmaster.matching.model.MatchModel.to_dict)
    Column("model", Json, nullable=False),
    #: how training obtained each value (custmaster.matching.training)
    Column("report", Json, nullable=False),
)

duplicate_clusters = Table(
    "duplicate_clusters",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("run_id", Uuid),
    #: open | merged | not_duplicate | superseded
    Column("status", String(16), nullable=False),
    #: auto_merge | review: what the model's thresholds say about the weakest link
    Column("proposal", String(16), nullable=False),
    Column("score", Float, nullable=False),
    Column("members", Json, nullable=False),
    Column("pairs", Json, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("decided_at", UtcDateTime()),
    Column("decided_by", String(128)),
    Column("merge_id", Uuid),
)
Index("ix_duplicate_clusters_status_id", duplicate_clusters.c.status, duplicate_clusters.c.id)

duplicate_cluster_members = Table(
    "duplicate_cluster_members",
    metadata,
    Column("cluster_id", BigId, primary_key=True),
    Column("customer_id", Uuid, primary_key=True),
)
Index("ix_duplicate_cluster_members_customer_id", duplicate_cluster_members.c.customer_id)

not_duplicates = Table(
    "not_duplicates",
    metadata,
    Column("customer_a", Uuid, primary_key=True),
    Column("customer_b", Uuid, primary_key=True),
    Column("decided_at", UtcDateTime(), nullable=False),
    Column("decided_by", String(128), nullable=False),
    Column("cluster_id", BigId),
)

merges = Table(
    "merges",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("survivor_id", Uuid, nullable=False, index=True),
    Column("absorbed_ids", Json, nullable=False),
    Column("survivor_before", Json, nullable=False),
    Column("survivor_after", Json, nullable=False),
    #: snapshots of every absorbed aggregate as it was just before the merge
    Column("absorbed", Json, nullable=False),
    Column("rules", Json, nullable=False),
    Column("choices", Json, nullable=False),
    Column("merged_at", UtcDateTime(), nullable=False),
    Column("merged_by", String(128), nullable=False),
    Column("unmerged_at", UtcDateTime()),
    Column("unmerged_by", String(128)),
)

#: one row per customer a merge absorbed: finds the merges a customer was absorbed by
#: (an erasure scrubs their snapshots) without reading every merge's ``absorbed_ids``
merge_members = Table(
    "merge_members",
    metadata,
    Column("merge_id", Uuid, primary_key=True),
    Column("customer_id", Uuid, primary_key=True, index=True),
)

merge_source_refs = Table(
    "merge_source_refs",
    metadata,
    Column("merge_id", Uuid, primary_key=True),
    Column("source_system", String(64), primary_key=True),
    Column("source_id", String(255), primary_key=True),
    Column("from_customer_id", Uuid, nullable=False),
)
Index("ix_merge_source_refs_ref", merge_source_refs.c.source_system, merge_source_refs.c.source_id)

customer_redirects = Table(
    "customer_redirects",
    metadata,
    Column("absorbed_id", Uuid, primary_key=True),
    Column("survivor_id", Uuid, nullable=False, index=True),
    Column("merge_id", Uuid, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)
