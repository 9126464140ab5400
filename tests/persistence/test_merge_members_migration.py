"""Migration 0030 indexes the customers each merge absorbed (``merge_members``), filling
in the merges made before it from their ``absorbed_ids``; ``merges_involving`` finds a
customer's merges through it, as survivor or absorbed, unmerged too. Both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from sqlalchemy import Engine, insert, select

from custmaster.persistence.matching import SqlMatchingRepository
from custmaster.persistence.migrate import upgrade
from custmaster.persistence.tables_matching import merge_members, merges

AT = datetime(2026, 12, 6, tzinfo=UTC)


@pytest.fixture
def engine(empty_engine: Engine) -> Engine:
    return empty_engine


def _merge(merge_id: UUID, survivor: UUID, absorbed: list[UUID], at: datetime) -> dict[str, object]:
    return {
        "id": merge_id,
        "survivor_id": survivor,
        "absorbed_ids": [str(i) for i in absorbed],
        "survivor_before": {},
        "survivor_after": {},
        "absorbed": [],
        "rules": {},
        "choices": {},
        "merged_at": at,
        "merged_by": "t",
    }


def test_0030_fills_in_the_absorbed_of_earlier_merges(engine: Engine) -> None:
    upgrade(engine, "0026_import_speed")
    survivor, a, b, c = uuid4(), uuid4(), uuid4(), uuid4()
    first, second = uuid4(), uuid4()
    with engine.begin() as connection:
        connection.execute(
            insert(merges),
            [_merge(first, survivor, [a, b], AT), _merge(second, a, [c], AT + timedelta(hours=1))],
        )
    upgrade(engine, "0030_merge_members")
    with engine.connect() as connection:
        rows = set(
            connection.execute(select(merge_members.c.merge_id, merge_members.c.customer_id))
        )
        assert rows == {(first, a), (first, b), (second, c)}
        repository = SqlMatchingRepository(connection)
        assert [m.id for m in repository.merges_involving(a)] == [first, second]
        assert [m.id for m in repository.merges_involving(b)] == [first]
        assert [m.id for m in repository.merges_involving(c)] == [second]
        assert repository.merges_involving(uuid4()) == []
