"""Subjects and partitions of the relayed events, and which stream subjects cover them."""

from __future__ import annotations

import pytest

from custmaster.services.relay.config import RelayConfig
from custmaster.services.relay.stream import covers, subjects_of
from custmaster.services.relay.subjects import aggregate_of, partition_of, subject_for


def test_subjects_follow_the_cloudevent_type() -> None:
    assert subject_for("custmaster.customer.updated", "custmaster") == "custmaster.customer.updated"
    assert subject_for("custmaster.customer.tax_exemption.expiring", "p") == (
        "p.customer.tax_exemption.expiring"
    )
    assert subject_for("custmaster.odd type.a*b", "p") == "p.odd_type.a_b"
    assert subject_for("custmaster.lonely", "p") == "p.lonely.event"
    assert aggregate_of("custmaster.change_request.applied") == "change_request"


def test_partitions_are_stable_and_spread() -> None:
    assert partition_of("anything", 1) == 0
    spread = {partition_of(f"customer-{n}", 4) for n in range(100)}
    assert spread == {0, 1, 2, 3}
    assert partition_of("customer-7", 4) == partition_of("customer-7", 4)


@pytest.mark.parametrize(
    ("pattern", "subject", "expected"),
    [
        ("custmaster.>", "custmaster.customer.>", True),
        ("custmaster.customer.>", "custmaster.customer.>", True),
        ("custmaster.*.>", "custmaster.customer.>", True),
        ("custmaster.user.>", "custmaster.customer.>", False),
        ("custmaster.customer.*", "custmaster.customer.>", False),
        ("custmaster", "custmaster.customer.>", False),
    ],
)
def test_covers(pattern: str, subject: str, expected: bool) -> None:
    assert covers(pattern, subject) is expected


def test_the_stream_takes_one_wildcard_per_aggregate() -> None:
    assert subjects_of(RelayConfig(), {"user", "customer"}) == [
        "custmaster.customer.>",
        "custmaster.user.>",
    ]


def test_the_duplicate_window_must_outlast_a_lease() -> None:
    with pytest.raises(ValueError, match="duplicate window"):
        RelayConfig(lease_seconds=200, ack_timeout_seconds=5, duplicate_window_seconds=120)
    with pytest.raises(ValueError, match="shorter than the lease"):
        RelayConfig(lease_seconds=5, ack_timeout_seconds=5)
