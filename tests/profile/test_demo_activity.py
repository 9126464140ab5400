"""``custmaster demo`` also generates 24 months of believable activity."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from uuid import uuid4

from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from custmaster.services.profile.demo_activity import DemoCustomer, customer_activity


def test_demo_generates_activity_and_profiles(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    from custmaster.cli.app import app

    result = CliRunner().invoke(
        app, ["demo", "--database-url", url, "--customers", "60", "--no-serve"]
    )
    assert result.exit_code == 0, result.output
    assert "activity events" in result.output
    engine = create_engine(url)
    with engine.connect() as connection:
        events = connection.execute(text("SELECT count(*) FROM activity_events")).scalar_one()
        rows = connection.execute(
            text(
                "SELECT count(*), sum(revenue_12m > 0), sum(open_quality_complaints > 0),"
                " sum(order_frequency_trend < 0), sum(order_frequency_trend > 0),"
                " sum(overdue_amount > 0) FROM profile_features WHERE legal_entity = '*'"
            )
        ).one()
    engine.dispose()
    assert events > 60 * 10
    customers, buying, complaints, declining, growing, overdue = rows
    assert customers == 60 and buying > 30
    assert complaints > 0 and declining > 0 and growing > 0 and overdue > 0


def test_patterns_are_seasonal_and_deterministic() -> None:
    import random

    customer = DemoCustomer(uuid4(), "DE01", "EUR")
    today = date(2026, 12, 6)
    first = customer_activity(customer, today, random.Random(1))
    again = customer_activity(customer, today, random.Random(1))
    assert first == again
    kinds = {e["type"].rsplit(".", 2)[-2] for e in first}
    assert "order" in kinds
    assert all(e["time"] <= "2026-12-07" for e in first)
