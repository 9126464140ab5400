"""An import row's source-record part: received values the payload holds already are
not carried twice, and come back exactly as received."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest

from custmaster.services.sources.keep import import_source, received_of, source_payload

RECEIVED: dict[str, Any] = {
    "name": "Pacific Packaging GmbH",
    "phone": "+49 221 1234567",
    "credit_limit": Decimal("1500.5"),
    "is_active": 1,
    "source_refs": [{"source_system": "crm", "source_id": "A1"}],
    "addresses": [{"city": "Köln", "country": "DE"}],
    "tags": ("a", "b"),
}
STAGED: dict[str, Any] = {
    "addresses": [{"country": "DE", "city": "Köln"}],  # another key order
    "source_refs": [{"source_system": "crm", "source_id": "A1"}],
    "phone": "+492211234567",  # normalised: differs
    "is_active": True,  # 1 == True, but not the same JSON
    "tags": ["a", "b"],
    "name": "Pacific Packaging GmbH",
}


def _stored(value: Any) -> Any:
    return json.loads(json.dumps(value))  # as import_rows gives it back


def _part(**kw: Any) -> dict[str, Any]:
    return source_payload(
        system="crm", source_id="A1", received=RECEIVED, rows=[1], file="f.csv", **kw
    )


def test_values_the_staged_customer_holds_alike_are_carried_once() -> None:
    part = _part(base=("customer", STAGED))
    assert set(part["received"]) == {"phone", "credit_limit", "is_active", "addresses", "tags"}
    assert part["keys"] == list(RECEIVED)
    payload = _stored({"customer": STAGED, "source": part})
    rebuilt = received_of(payload["source"], payload)
    assert json.dumps(rebuilt) == json.dumps(_stored(_part()["received"]))  # order too
    assert rebuilt["credit_limit"] == "1500.5" and rebuilt["is_active"] == 1


def test_a_command_that_is_what_was_received_is_not_carried_again() -> None:
    command = _stored(_part()["received"])
    part = source_payload(
        system="crm",
        source_id="A1",
        received=command,
        rows=[1],
        file=None,
        base=("command", command),
    )
    assert part["received"] == {} and part["keys"] == list(command)
    payload = _stored({"command": command, "source": part})
    record = import_source(
        payload["source"],
        golden_id=None,
        normalised=None,
        features=None,
        job_id=uuid4(),
        at=datetime.now(UTC),
        row_payload=payload,
    )
    assert record.received == command


def test_a_part_without_a_base_carries_everything_and_older_payloads_still_read() -> None:
    part = _stored(_part())
    assert "keys" not in part and received_of(part, None) == part["received"]
    with pytest.raises(ValueError, match="customer"):
        received_of(_stored(_part(base=("customer", STAGED))), {"command": {}})
