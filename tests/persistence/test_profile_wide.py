"""The profile's read rows (``profile_wide``) stay equal to their sources -- the feature
rows, the scores and the customer's master fields -- whoever writes them: activity
intake, rescoring, a change of the customer (the trigger), a rebuild."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID

from fastapi.testclient import TestClient
from sqlalchemy import select

from custmaster.bootstrap import Container
from custmaster.domain.profile import PROFILE_FEATURES
from custmaster.persistence.profile_wide import MASTER_COLUMNS, SCORE_COLUMNS
from custmaster.persistence.tables import customers
from custmaster.persistence.tables_profile import profile_features
from custmaster.persistence.tables_profile_rules import profile_scores
from custmaster.persistence.tables_profile_wide import profile_wide
from custmaster.services.profile.rebuild import rebuild
from tests.factories import create, minimal
from tests.profile.events import complaint, invoice, order

API = "/api/v1"
TODAY = date.today()


def _events(customer_id: str) -> list[dict[str, Any]]:
    months = [TODAY.replace(day=1) - timedelta(days=30 * i) for i in range(5)]
    events = [order(customer_id, d, 100.0 + i) for i, d in enumerate(months)]
    events.append(order(customer_id, months[0], 70.0, entity="DE01", currency="EUR"))
    events.append(
        invoice(customer_id, TODAY - timedelta(days=50), TODAY - timedelta(days=20), 400, "I-1")
    )
    events.append(complaint(customer_id, TODAY - timedelta(days=20), "C-1"))
    return events


def _expected(container: Container) -> dict[tuple[UUID, str], dict[str, Any]]:
    """The read rows as their sources give them: features joined to the master record
    and the scores (``None`` where a row is unscored)."""
    f, c, s = profile_features, customers, profile_scores
    query = select(
        f.c.customer_id,
        f.c.legal_entity,
        *(c.c[n] for n in MASTER_COLUMNS),
        *(f.c[n] for n in PROFILE_FEATURES),
        *(s.c[n] for n in SCORE_COLUMNS),
    ).select_from(
        f.join(c, c.c.id == f.c.customer_id).outerjoin(
            s, (s.c.customer_id == f.c.customer_id) & (s.c.legal_entity == f.c.legal_entity)
        )
    )
    with container.engine.connect() as connection:
        return {
            (r.customer_id, r.legal_entity): dict(r._mapping) for r in connection.execute(query)
        }


def _stored(container: Container) -> dict[tuple[UUID, str], dict[str, Any]]:
    names = ["customer_id", "legal_entity", *MASTER_COLUMNS, *PROFILE_FEATURES, *SCORE_COLUMNS]
    with container.engine.connect() as connection:
        rows = connection.execute(select(*(profile_wide.c[n] for n in names)))
        return {(r.customer_id, r.legal_entity): dict(r._mapping) for r in rows}


def _query(client: TestClient, expression: str) -> set[str]:
    response = client.post(f"{API}/customers/query", json={"expression": expression})
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


def test_read_rows_follow_intake_scores_master_changes_and_rebuild(
    client: TestClient, container: Container
) -> None:
    first = create(client, minimal("Wide One Ltd", "ap@wide1.example"))["id"]
    second = create(client, minimal("Wide Two Ltd", "ap@wide2.example"))["id"]
    quiet = create(client, minimal("Quiet Ltd", "ap@quiet.example"))["id"]
    response = client.post(f"{API}/activities", json=_events(first) + _events(second)[:3])
    assert response.status_code == 200, response.text

    stored = _stored(container)
    assert stored == _expected(container)
    assert {k[1] for k in stored if str(k[0]) == first} == {"*", "US01", "DE01"}
    assert not any(str(k[0]) == quiet for k in stored), "no activity: no read row"
    assert all(row["tier"] is not None for row in stored.values()), "every row is scored"
    assert stored[(UUID(first), "*")]["open_quality_complaints"] == 1

    # a master field changed by the service reaches the read rows (the trigger)
    patched = client.patch(f"{API}/customers/{first}", json={"name": "Renamed Wide Ltd"})
    assert patched.status_code == 200, patched.text
    stored = _stored(container)
    assert stored == _expected(container)
    assert {r["name"] for k, r in stored.items() if str(k[0]) == first} == {"Renamed Wide Ltd"}
    assert _query(client, 'name == "Renamed Wide Ltd"') == {first}
    assert _query(client, 'name.startsWith("Wide")') == {second}
    # a customer without a read row is still found by its master fields
    assert quiet in _query(client, 'name == "Quiet Ltd"')
    assert _query(client, 'name == "Quiet Ltd" && open_quality_complaints >= 0') == set()

    report = rebuild(container.uow, container.system_principal(), container.profile)
    assert not report.drifted
    assert _stored(container) == _expected(container)


def test_the_profile_read_is_the_read_rows_and_the_state(
    client: TestClient, container: Container
) -> None:
    customer = create(
        client,
        minimal(
            "Snapshot Ltd",
            "ap@snapshot.example",
            credit_limit="1500",
            overrides={"DE01": {"credit_limit": "800"}},
        ),
    )["id"]
    assert client.post(f"{API}/activities", json=_events(customer)).status_code == 200
    with container.uow().read_only() as uow:
        snapshot = uow.activity.profile_snapshot(UUID(customer), "legal", date.today())
        state, rows = snapshot.state, snapshot.rows
        assert state == uow.activity.load_states([UUID(customer)])[UUID(customer)]
        assert snapshot.limits == uow.activity.credit_limits([UUID(customer)])[UUID(customer)]
        assert snapshot.limits == {"US01": 1500.0, "DE01": 800.0}
        assert snapshot.currencies == uow.activity.entity_currencies()
        assert snapshot.descendants == []
        features = uow.activity.read_profiles([UUID(customer)])[UUID(customer)]
        scores = uow.profile_rules.scores(UUID(customer))
    assert set(rows) == set(features) == set(scores)
    for entity, row in rows.items():
        assert {n: row[n] for n in features[entity]} == features[entity]
        assert row["tier"] == scores[entity].tier
        assert row["segments"] == list(scores[entity].segments)
        assert row["explanation"] == scores[entity].explanation
    view = client.get(f"{API}/customers/{customer}/profile").json()
    assert view["number"] == rows["*"]["number"]
    assert view["features"]["*"]["open_quality_complaints"] == 1
    assert set(view["scores"]) == {"*", "US01", "DE01"}
