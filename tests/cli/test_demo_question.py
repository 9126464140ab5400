"""The README tour's last question, answered on the demo data (`custmaster demo`)."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from custmaster.api.app import create_app
from custmaster.bootstrap import build_container
from custmaster.cli.app import app
from custmaster.config import Settings

QUESTION = (
    'tier == "strategic" && industry == "336390" && order_frequency_trend < 0 '
    "&& open_quality_complaints > 0"
)


def test_the_demo_answers_the_tours_question(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    result = CliRunner().invoke(
        app, ["demo", "--database-url", url, "--customers", "400", "--no-serve"]
    )
    assert result.exit_code == 0, result.output
    admin = re.search(r"^\s*admin\s+admin\s+(cm_\S+)", result.output, re.M)
    assert admin, result.output
    container = build_container(Settings(database_url=url), migrate=False)
    try:
        client = TestClient(create_app(container))
        client.headers["Authorization"] = f"Bearer {admin.group(1)}"
        answer = client.post("/api/v1/customers/query", json={"expression": QUESTION})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["total"] >= 1 and len(body["items"]) == body["total"]
        first = body["items"][0]["id"]
        profile = client.get(f"/api/v1/customers/{first}/profile").json()
        total = profile["features"]["*"]
        assert total["order_frequency_trend"] < 0 and total["open_quality_complaints"] > 0
        assert profile["scores"]["*"]["tier"] == "strategic"
    finally:
        container.engine.dispose()
