"""``custmaster profile rebuild`` through the CLI on PostgreSQL, set-based (aggregates,
features, scores and events in SQL) and by the per-customer reference path (the Python
fold, ``profile_rows``, ``score_customers``: what SQLite runs), from the same stored state:
the same aggregate rows, the same feature rows (floats within ``TOLERANCE``), the same
score rows (explanations compared as stored JSON) and read rows, and the same
``scores_changed`` events but their ids and times -- for a first rebuild (nothing stored
but some previous scores) where every customer is written."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Table, insert, select, text
from typer.testing import CliRunner

from custmaster.bootstrap import Container
from custmaster.cli.app import app
from custmaster.domain.profile import PROFILE_FEATURES
from custmaster.domain.profile_calc import same_features
from custmaster.persistence.activity import SqlActivityRepository
from custmaster.persistence.tables_activity import AGGREGATE_TABLES
from custmaster.persistence.tables_profile import profile_features
from custmaster.persistence.tables_profile_rules import profile_scores
from custmaster.persistence.tables_profile_wide import profile_wide
from tests.factories import create, minimal
from tests.profile.events import complaint, invoice, order, payment

runner = CliRunner()
TODAY = date.today()
STATE: tuple[Table, ...] = (*AGGREGATE_TABLES, profile_features, profile_scores, profile_wide)


def _rebuild(container: Container) -> dict[str, Any]:
    result = runner.invoke(
        app, ["profile", "rebuild", "--database-url", container.settings.database_url]
    )
    assert result.exit_code == 1, result.output  # everything drifted, and written
    return dict(json.loads(result.stdout[result.stdout.index("{") :]))


def _save(connection: Connection) -> dict[Table, list[dict[str, Any]]]:
    return {t: [dict(r._mapping) for r in connection.execute(select(t))] for t in STATE}


def _restore(connection: Connection, saved: dict[Table, list[dict[str, Any]]]) -> None:
    for table in reversed(STATE):
        connection.execute(table.delete())
    for table in STATE:
        if saved[table]:
            connection.execute(insert(table), saved[table])


def _written(connection: Connection, after: int) -> dict[str, Any]:
    """What a rebuild wrote: every table but its times, and the events added."""
    out: dict[str, Any] = {}
    for table in STATE:
        columns = [c for c in table.c if c.name not in ("updated_at", "scored_at", "explanation")]
        keys = [c for c in table.primary_key.columns]
        rows = connection.execute(select(*columns).order_by(*keys)).all()
        out[table.name] = [dict(r._mapping) for r in rows]
    out["explanations"] = connection.execute(
        text(
            "SELECT customer_id, legal_entity, explanation::text FROM profile_scores "
            "ORDER BY customer_id, legal_entity"
        )
    ).all()
    events = connection.execute(
        text("SELECT type, subject, envelope FROM outbox WHERE id > :a"), {"a": after}
    ).all()
    out["events"] = sorted(
        (
            e.type,
            e.subject,
            json.dumps({k: v for k, v in e.envelope.items() if k not in ("id", "time")}),
        )
        for e in events
    )
    return out


def test_set_based_and_reference_rebuilds_write_the_same(
    client: TestClient, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    if container.engine.dialect.name != "postgresql":
        pytest.skip("the set-based rebuild is PostgreSQL's")
    ids = [
        create(client, minimal(f"Paths {i} Ltd", f"ap@paths{i}.example", credit_limit="400"))["id"]
        for i in range(5)
    ]
    events = []
    for i, customer in enumerate(ids):
        events += [
            order(customer, TODAY - timedelta(days=35 * k + i), 10.0 * k + 1) for k in range(i + 2)
        ]
        events.append(order(customer, TODAY - timedelta(days=400 + i), 50.0 * i))
    events += [
        order(ids[1], TODAY - timedelta(days=3), 7.5, entity="DE01", currency="EUR"),
        invoice(ids[2], TODAY - timedelta(days=120), TODAY - timedelta(days=95), 900, "I-1"),
        payment(ids[2], TODAY - timedelta(days=2), "I-1", 100),
        complaint(ids[3], TODAY - timedelta(days=20), "Q-1"),
    ]
    assert client.post("/api/v1/activities", json=events).status_code == 200
    with container.engine.begin() as connection:
        # nothing stored but the previous scores of two customers, one of them changed so
        # that its trend and the measures that moved show
        keep = [ids[0], ids[3]]
        for table in (*AGGREGATE_TABLES, profile_features, profile_wide):
            connection.execute(table.delete())
        connection.execute(profile_scores.delete().where(profile_scores.c.customer_id.notin_(keep)))
        connection.execute(
            text(
                "UPDATE profile_scores SET health_score = health_score - 7, "
                "explanation = jsonb_set(explanation, '{health,groups,0,measures,0,value}', "
                "'12.5') WHERE customer_id = :c"
            ),
            {"c": ids[3]},
        )
        saved = _save(connection)
        mark = connection.execute(text("SELECT coalesce(max(id), 0) FROM outbox")).scalar_one()
    report = _rebuild(container)
    assert report["drifted_customers"] == 5 and report["events_written"] > 0
    with container.engine.begin() as connection:
        set_based = _written(connection, mark)
        _restore(connection, saved)
        mark = connection.execute(text("SELECT coalesce(max(id), 0) FROM outbox")).scalar_one()
    monkeypatch.setattr(SqlActivityRepository, "set_based_rebuild", lambda self: False)
    report = _rebuild(container)
    assert report["drifted_customers"] == 5
    with container.engine.connect() as connection:
        reference = _written(connection, mark)
    for name in ("profile_features", "profile_wide"):  # features: floats within TOLERANCE
        mine, theirs = set_based.pop(name), reference.pop(name)
        assert [(r["customer_id"], r["legal_entity"]) for r in mine] == [
            (r["customer_id"], r["legal_entity"]) for r in theirs
        ]
        for a, b in zip(mine, theirs, strict=True):
            assert same_features(a, b) == []
            rest = [k for k in a if k not in PROFILE_FEATURES]
            assert {k: a[k] for k in rest} == {k: b[k] for k in rest}
    assert set_based == reference
    # an event for each row without a previous score or whose outcome changed, not more
    assert 0 < len(set_based["events"]) < len(set_based["profile_scores"])
    moved = [e for e in set_based["explanations"] if '"moved": [{' in e[2]]
    assert moved  # the changed previous score: measures that moved
