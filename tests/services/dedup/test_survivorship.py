"""Survivorship configuration, snapshot restore and the unmerge rule (pure parts)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from custmaster.domain.context import ParseContext
from custmaster.domain.errors import ValidationFailed
from custmaster.domain.model import Customer, CustomerKind, SourceRef
from custmaster.domain.restore import customer_from_snapshot
from custmaster.domain.snapshot import snapshot
from custmaster.services.dedup.ports import MergeRecord
from custmaster.services.dedup.survivorship import (
    SurvivorshipConfig,
    load_survivorship,
    plan_merge,
)
from custmaster.services.dedup.unmerge import unmerged_snapshot

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def customer(name: str, days_old: int = 0, **values: Any) -> Customer:
    return Customer(
        id=uuid4(),
        number=f"C{name}",
        kind=CustomerKind.ORGANIZATION,
        name=name,
        email=f"ap@{name.lower()}.example",
        updated_at=NOW - timedelta(days=days_old),
        **values,
    )


def test_the_shipped_rules_load_and_name_every_field() -> None:
    config = load_survivorship()
    assert config.rule_for("email") == "source_priority"
    assert config.source_priority[0] == "sap"
    assert set(config.to_dict()["fields"]) >= {"name", "credit_limit", "metadata", "dimensions"}


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"fields": {"name": "loudest"}}, "unknown rule"),
        ({"fields": {"colour": "survivor"}}, "not a field"),
        ({"fields": {"name": "union"}}, "union applies"),
        ({"default": "random"}, "unknown rule"),
    ],
)
def test_bad_rules_are_refused_with_the_reason(data: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        SurvivorshipConfig.from_dict(data)


def test_each_rule_picks_its_value() -> None:
    config = SurvivorshipConfig.from_dict(
        {
            "source_priority": ["SAP", "crm"],
            "fields": {
                "phone": "most_recent",
                "notes": "most_complete",
                "email": "source_priority",
                "website": "survivor",
                "credit_limit": "steward_choice",
                "metadata": "union",
            },
        }
    )
    survivor = customer(
        "A", days_old=9, notes="short", metadata={"a": 1, "k": "mine"}, credit_limit=Decimal("10")
    )
    older = customer(
        "B",
        days_old=20,
        phone="+4930111",
        notes="a much longer note",
        website="https://b.example",
        source_refs=[SourceRef("crm", "1")],
        metadata={"k": "theirs", "b": 2},
        credit_limit=Decimal("99"),
    )
    newer = customer("C", days_old=1, phone="+4930222", source_refs=[SourceRef("sap", "9")])
    plan = plan_merge(survivor, [older, newer], config, {}, now=NOW, ctx=ParseContext())
    golden = plan.customer
    assert golden.phone == "+4930222"  # most recent with a value
    assert golden.notes == "a much longer note"  # most complete
    assert golden.email == newer.email  # sap ranks first
    assert golden.website == "https://b.example"  # survivor has none: next record
    assert golden.credit_limit == Decimal("10")  # steward_choice without a choice
    assert golden.metadata == {"a": 1, "b": 2, "k": "mine"}
    assert golden.version == survivor.version + 1 and golden.updated_at == NOW
    assert survivor.phone is None  # the inputs are not modified
    chosen = plan_merge(
        survivor,
        [older, newer],
        config,
        {"credit_limit": {"from": str(older.id)}, "notes": {"value": "n"}},
        now=NOW,
        ctx=ParseContext(),
    )
    assert chosen.customer.credit_limit == Decimal("99") and chosen.customer.notes == "n"
    with pytest.raises(ValidationFailed):
        plan_merge(
            survivor, [older], config, {"name": {"from": str(uuid4())}}, now=NOW, ctx=ParseContext()
        )


def test_restore_inverts_the_snapshot_exactly() -> None:
    c = customer(
        "A",
        credit_limit=Decimal("1000.50"),
        source_refs=[SourceRef("sap", "1")],
        dimensions={"department": "SALES"},
        metadata={"x": [1, 2]},
    )
    assert snapshot(customer_from_snapshot(snapshot(c))) == snapshot(c)
    assert customer_from_snapshot(snapshot(c)).credit_limit == Decimal("1000.50")


def test_unmerge_reverts_what_the_merge_changed_unless_changed_again() -> None:
    before = {
        "id": "s",
        "name": "A",
        "phone": None,
        "notes": "x",
        "metadata": {"a": 1},
        "dimensions": {},
        "addresses": [],
        "contacts": [{"id": "own"}],
        "pricing_tiers": [],
        "tax_profiles": [],
        "source_refs": [],
        "overrides": {},
    }
    after = {
        **before,
        "phone": "+1",
        "notes": "merged",
        "metadata": {"a": 1, "b": 2},
        "contacts": [{"id": "own"}, {"id": "moved"}],
        "source_refs": [{"source_system": "sap", "source_id": "9"}],
    }
    current = {**after, "notes": "edited later", "contacts": [*after["contacts"], {"id": "new"}]}
    merge = MergeRecord(
        id=UUID(int=1),
        survivor_id=UUID(int=2),
        absorbed_ids=[],
        survivor_before=before,
        survivor_after=after,
        absorbed=[],
        rules={},
        choices={},
        merged_at=NOW,
        merged_by="t",
        moved_refs=[("sap", "9", UUID(int=3))],
    )
    result = unmerged_snapshot(merge, current, {"moved"})
    assert result["phone"] is None  # the merge set it, nobody touched it since
    assert result["notes"] == "edited later"  # changed after the merge: the later change wins
    assert result["metadata"] == {"a": 1}
    assert [c["id"] for c in result["contacts"]] == ["own", "new"]
    assert result["source_refs"] == []
