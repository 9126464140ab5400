"""Profile rule sets, the profile rows the rules read, and the scores they write."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Row, delete, insert, select

from custmaster.domain.profile import PROFILE_FEATURES
from custmaster.domain.profile_schema import MASTER_FIELDS
from custmaster.domain.profile_scoring import Score
from custmaster.persistence import profile_wide
from custmaster.persistence.bulk import insert_rows
from custmaster.persistence.members import chunk_size, member_of
from custmaster.persistence.tables import customers
from custmaster.persistence.tables_profile import profile_features
from custmaster.persistence.tables_profile_rules import profile_rule_sets, profile_scores
from custmaster.services.profile.rule_ports import ProfileRow, StoredRuleSet


def encode_list(values: Iterable[str]) -> str:
    """``["a", "b"]`` -> ``"|a|b|"`` (``"|"`` when empty): how list scores are stored."""
    items = list(values)
    return "|" + "".join(f"{v}|" for v in items) if items else "|"


def decode_list(text: str | None) -> tuple[str, ...]:
    return tuple(v for v in (text or "").split("|") if v)


def _rule_set(row: Row[Any]) -> StoredRuleSet:
    return StoredRuleSet(
        row.version, row.definition, row.created_by, row.created_at, row.change_request_id
    )


def score_row(customer_id: UUID, entity: str, score: Score, at: datetime) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "legal_entity": entity,
        "tier": score.tier,
        "health_score": score.health_score,
        "health_band": score.health_band,
        "health_trend": score.health_trend,
        "churn_risk": score.churn_risk,
        "churn_band": score.churn_band,
        "segments": encode_list(score.segments),
        "actions": encode_list(score.actions),
        "explanation": dict(score.explanation),
        "rules_version": score.rules_version,
        "scored_at": at,
    }


def score_of(row: Row[Any]) -> Score:
    return Score(
        row.tier,
        row.health_score,
        row.health_band,
        row.health_trend,
        row.churn_risk,
        row.churn_band,
        decode_list(row.segments),
        decode_list(row.actions),
        row.rules_version,
        row.explanation,
    )


_ROWS = select(
    profile_features.c.legal_entity,
    *(customers.c[name] for name in MASTER_FIELDS),
    *(profile_features.c[name] for name in PROFILE_FEATURES),
).join_from(profile_features, customers, customers.c.id == profile_features.c.customer_id)


class SqlProfileRulesRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def active(self) -> StoredRuleSet | None:
        query = select(profile_rule_sets).order_by(profile_rule_sets.c.version.desc()).limit(1)
        row = self._connection.execute(query).first()
        return None if row is None else _rule_set(row)

    def get(self, version: int) -> StoredRuleSet | None:
        query = select(profile_rule_sets).where(profile_rule_sets.c.version == version)
        row = self._connection.execute(query).first()
        return None if row is None else _rule_set(row)

    def versions(self) -> list[StoredRuleSet]:
        query = select(profile_rule_sets).order_by(profile_rule_sets.c.version)
        return [_rule_set(row) for row in self._connection.execute(query)]

    def add(self, rule_set: StoredRuleSet) -> None:
        self._connection.execute(
            insert(profile_rule_sets).values(
                version=rule_set.version,
                definition=dict(rule_set.definition),
                created_by=rule_set.created_by,
                change_request_id=rule_set.change_request_id,
                created_at=rule_set.created_at,
            )
        )

    def rows(self, customer_id: UUID) -> list[ProfileRow]:
        query = _ROWS.where(profile_features.c.customer_id == customer_id).order_by(
            profile_features.c.legal_entity
        )
        return [
            ProfileRow(row.legal_entity, dict(row._mapping))
            for row in self._connection.execute(query)
        ]

    def scores(self, customer_id: UUID) -> dict[str, Score]:
        query = select(profile_scores).where(profile_scores.c.customer_id == customer_id)
        return {row.legal_entity: score_of(row) for row in self._connection.execute(query)}

    def rows_of(self, customer_ids: Iterable[UUID]) -> dict[UUID, list[ProfileRow]]:
        """:meth:`rows` of several customers in one query per ``members.chunk_size`` of them
        (every id a key)."""
        ids = sorted(set(customer_ids))
        out: dict[UUID, list[ProfileRow]] = {c: [] for c in ids}
        owner = profile_features.c.customer_id.label("_profile_customer")
        size = chunk_size(self._connection)
        for start in range(0, len(ids), size):
            query = (
                _ROWS.add_columns(owner)
                .where(
                    member_of(
                        self._connection,
                        profile_features.c.customer_id,
                        ids[start : start + size],
                    )
                )
                .order_by(profile_features.c.customer_id, profile_features.c.legal_entity)
            )
            for row in self._connection.execute(query):
                values = dict(row._mapping)
                out[values.pop("_profile_customer")].append(ProfileRow(row.legal_entity, values))
        return out

    def scores_of(self, customer_ids: Iterable[UUID]) -> dict[UUID, dict[str, Score]]:
        """:meth:`scores` of several customers in one query per ``members.chunk_size`` of them
        (every id a key)."""
        ids = sorted(set(customer_ids))
        out: dict[UUID, dict[str, Score]] = {c: {} for c in ids}
        size = chunk_size(self._connection)
        for start in range(0, len(ids), size):
            chunk = ids[start : start + size]
            query = select(profile_scores).where(
                member_of(self._connection, profile_scores.c.customer_id, chunk)
            )
            for row in self._connection.execute(query):
                out[row.customer_id][row.legal_entity] = score_of(row)
        return out

    def save_scores_of(self, scores_of: Mapping[UUID, Mapping[str, Score]], at: datetime) -> None:
        """Replace these customers' score rows: one DELETE per ``members.chunk_size``
        customers, one bulk INSERT (COPY on PostgreSQL) of all their rows, then their read
        rows (once per batch: the features written before them are in those too)."""
        ids = sorted(scores_of)
        size = chunk_size(self._connection)
        for start in range(0, len(ids), size):
            self._connection.execute(
                delete(profile_scores).where(
                    member_of(
                        self._connection, profile_scores.c.customer_id, ids[start : start + size]
                    )
                )
            )
        rows = [score_row(c, e, s, at) for c in ids for e, s in scores_of[c].items()]
        insert_rows(self._connection, profile_scores, rows)
        profile_wide.refresh(self._connection, ids)

    def profiled_customers(self, after: UUID | None, limit: int) -> list[UUID]:
        query = (
            select(profile_features.c.customer_id)
            .distinct()
            .order_by(profile_features.c.customer_id)
            .limit(limit)
        )
        if after is not None:
            query = query.where(profile_features.c.customer_id > after)
        return [row[0] for row in self._connection.execute(query)]
