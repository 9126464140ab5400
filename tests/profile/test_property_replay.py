"""Property: whatever the order, the duplicates and the batch boundaries, the profile that
intake builds equals the one a rebuild computes from the stored events (zero drift), and
the pure fold does not depend on the order of the events."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custmaster.bootstrap import Container
from custmaster.domain.activity import parse_envelope
from custmaster.domain.activity_state import fold
from custmaster.persistence.tables_activity import ACTIVITY_TABLES
from custmaster.persistence.tables_profile import profile_features
from custmaster.services.profile.intake import apply_events
from custmaster.services.profile.rebuild import rebuild
from tests.factories import create, minimal
from tests.profile.events import envelope

TODAY = date.today()
ENTITIES = ("US01", "DE01")
BASE = datetime(2026, 1, 1, tzinfo=UTC)
_CUSTOMERS: dict[int, list[str]] = {}


@st.composite
def events(draw: st.DrawFn, customers: list[str]) -> list[dict[str, Any]]:
    """A plausible sequence: orders, corrections, invoices, payments, returns, cases with
    several steps, visits and contract versions; ids unique."""
    out: list[dict[str, Any]] = []
    count = draw(st.integers(min_value=1, max_value=25))
    for n in range(count):
        customer = draw(st.sampled_from(customers))
        entity = draw(st.sampled_from(ENTITIES))
        day = TODAY - timedelta(days=draw(st.integers(min_value=0, max_value=800)))
        time = BASE + timedelta(seconds=draw(st.integers(min_value=0, max_value=50)))
        amount = draw(st.integers(min_value=0, max_value=10**6)) / 100
        kind = draw(
            st.sampled_from(
                ["order", "correction", "invoice", "payment", "return", "case", "visit", "contract"]
            )
        )
        common: dict[str, Any] = {"event_id": f"e{n}", "time": time}
        doc = f"D{draw(st.integers(min_value=0, max_value=3))}"
        line = {
            "product": "P1",
            "product_group": draw(st.sampled_from(["a", "b"])),
            "quantity": 1,
            "amount": amount,
        }
        if kind == "order":
            out.append(
                envelope(
                    "order.placed",
                    customer,
                    entity,
                    **common,
                    order_id=f"O{n}",
                    order_date=day.isoformat(),
                    currency="USD",
                    lines=[line],
                )
            )
        elif kind == "correction":
            negative = {**line, "amount": -amount, "quantity": -1}
            out.append(
                envelope(
                    "order.corrected",
                    customer,
                    entity,
                    **common,
                    order_id="O0",
                    order_date=day.isoformat(),
                    currency="USD",
                    lines=[negative],
                    cancelled=draw(st.booleans()),
                )
            )
        elif kind == "invoice":
            out.append(
                envelope(
                    "invoice.issued",
                    customer,
                    entity,
                    **common,
                    document_id=doc,
                    document_date=day.isoformat(),
                    currency="USD",
                    amount=amount,
                    due_date=(day + timedelta(days=30)).isoformat(),
                )
            )
        elif kind == "payment":
            out.append(
                envelope(
                    "payment.received",
                    customer,
                    entity,
                    **common,
                    payment_id=f"P{n}",
                    payment_date=day.isoformat(),
                    currency="USD",
                    applications=[{"document_id": doc, "amount": amount}],
                )
            )
        elif kind == "return":
            out.append(
                envelope(
                    "return.received",
                    customer,
                    entity,
                    **common,
                    return_id=f"R{n}",
                    product="P1",
                    product_group="a",
                    currency="USD",
                    quantity=1,
                    amount=amount,
                    return_date=day.isoformat(),
                )
            )
        elif kind == "case":
            step = draw(st.sampled_from(["opened", "updated", "closed"]))
            family = draw(st.sampled_from(["complaint", "service_case"]))
            out.append(
                envelope(
                    f"{family}.{step}",
                    customer,
                    entity,
                    **common,
                    case_id=f"C{draw(st.integers(0, 2))}",
                    date=day.isoformat(),
                    severity=draw(st.sampled_from(["low", "high"])),
                )
            )
        elif kind == "visit":
            out.append(envelope("visit.logged", customer, entity, **common, date=day.isoformat()))
        else:
            renewal = TODAY + timedelta(days=draw(st.integers(min_value=-10, max_value=200)))
            out.append(
                envelope(
                    "contract.recorded",
                    customer,
                    entity,
                    **common,
                    contract_id="K1",
                    start_date=day.isoformat(),
                    renewal_date=renewal.isoformat(),
                    committed_volume=amount,
                )
            )
    return out


@given(st.data())
@settings(max_examples=60, deadline=None)
def test_the_fold_does_not_depend_on_order_or_grouping(data: st.DataObject) -> None:
    sequence = [
        parse_envelope(e) for e in data.draw(events(["00000000-0000-0000-0000-00000000000a"]))
    ]
    shuffled = data.draw(st.permutations(sequence))
    cut = data.draw(st.integers(min_value=0, max_value=len(sequence)))
    assert fold(shuffled) == fold(sequence)
    assert fold(shuffled[:cut]).merge(fold(shuffled[cut:])) == fold(sequence)


def _wipe_activity(container: Container) -> None:
    with container.engine.begin() as connection:
        for table in (*reversed(ACTIVITY_TABLES), profile_features):
            connection.execute(table.delete())


@given(st.data())
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_shuffled_duplicated_intake_ends_equal_to_rebuild(
    client: TestClient, container: Container, data: st.DataObject
) -> None:
    _wipe_activity(container)
    customers = (
        [create(client, minimal(f"Prop {i} Ltd", f"ap@prop{i}.example"))["id"] for i in range(2)]
        if not _CUSTOMERS.get(id(client))
        else _CUSTOMERS[id(client)]
    )
    _CUSTOMERS[id(client)] = customers
    sequence = data.draw(events(customers))
    duplicated = sequence + data.draw(st.lists(st.sampled_from(sequence), max_size=8))
    random.Random(data.draw(st.integers(0, 10**6))).shuffle(duplicated)
    size = data.draw(st.integers(min_value=1, max_value=8))
    applied = 0
    for start in range(0, len(duplicated), size):
        batch = [parse_envelope(e) for e in duplicated[start : start + size]]
        outcomes = apply_events(container.uow(), batch, container.profile, channel="test")
        applied += sum(1 for o in outcomes if o.status == "applied")
    assert applied == len(sequence)
    report = rebuild(container.uow, container.system_principal(), container.profile, write=False)
    assert report.events == len(sequence)
    assert report.drifted == []
