"""``custmaster hierarchy``, ``org-units`` and ``reference`` through the real CLI (SQLite)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from custmaster.bootstrap import build_container
from custmaster.cli.app import app
from custmaster.config import Settings
from custmaster.services.customers.create import apply_create
from custmaster.services.reference import create_reference
from tests.conftest import DIRECT_POLICY
from tests.factories import minimal

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A migrated SQLite database with four customers, C000001 ... C000004; the CLI runs
    under the tests' direct policy (every change applies at once)."""
    monkeypatch.setenv("CUSTMASTER_APPROVAL_POLICY", str(DIRECT_POLICY))
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    container = build_container(Settings(database_url=url), migrate=True)
    actor = container.system_principal()
    create_reference(
        container.uow(),
        actor,
        "legal_entities",
        {"code": "DE01", "name": "Acme GmbH", "country": "DE", "currency": "EUR"},
    )
    for name in ("Head Office", "North", "South", "Store"):
        slug = name.lower().replace(" ", "")
        apply_create(
            container.uow(),
            actor,
            minimal(name, f"ap@{slug}.example", owning_entity="DE01"),
            container.service_settings,
        )
    container.engine.dispose()
    yield url


def cli(db: str, *args: str) -> str:
    result = runner.invoke(app, [*args, "--database-url", db])
    assert result.exit_code == 0, result.output
    return result.output


def test_build_move_and_show_a_hierarchy(db: str) -> None:
    for parent, child in (("C000001", "C000002"), ("C000001", "C000003"), ("C000002", "C000004")):
        cli(db, "hierarchy", "link", parent, child, "--from", "2026-01-01")
    cli(db, "hierarchy", "move", "C000004", "--to-parent", "C000003", "--on", "2026-07-01")
    before = cli(db, "hierarchy", "show", "C000004", "--view", "ancestors", "--as-of", "2026-06-30")
    assert before.split() == ["C000002", "North", "C000001", "Head", "Office"]
    after = cli(db, "hierarchy", "show", "C000001", "--as-of", "2026-07-01")
    assert after.index("South") < after.index("Store")
    flat = cli(db, "hierarchy", "flat", "--as-of", "2026-07-01")
    assert "Store" in flat and "C000001" in flat
    cycle = runner.invoke(
        app,
        ["hierarchy", "link", "C000004", "C000001", "--from", "2026-01-01", "--database-url", db],
    )
    assert cycle.exit_code == 1 and "cycle" in cycle.output


def test_org_units_and_the_account_team(db: str) -> None:
    cli(db, "org-units", "add", "EU", "--kind", "sales_organisation", "--name", "Europe")
    cli(db, "org-units", "add", "NORTH", "--kind", "region", "--name", "North", "--parent", "EU")
    assert "EU/NORTH" in cli(db, "org-units", "list")
    cli(db, "org-units", "assign-customer", "NORTH", "C000004", "--from", "2026-01-01")
    for user in ("ava", "kim"):  # team assignments name existing users
        cli(db, "users", "add", user, "--role", "sales_rep")
    cli(
        db,
        "org-units",
        "assign-user",
        "ava",
        "--role",
        "account_manager",
        "--unit",
        "EU",
        "--from",
        "2026-01-01",
    )
    cli(
        db,
        "org-units",
        "assign-user",
        "kim",
        "--role",
        "key_account_manager",
        "--customer",
        "C000004",
        "--from",
        "2026-01-01",
    )
    team = cli(db, "org-units", "team", "C000004", "--as-of", "2026-02-01")
    assert "kim" in team and "direct" in team and "ava" in team
    assert "EU" in cli(db, "org-units", "list")


def test_reference_data_list_add_update_delete(db: str) -> None:
    cli(db, "reference", "add", "name-affixes", "DR", "Dr.", "--field", "kind=title")
    cli(
        db,
        "reference",
        "add",
        "sales-organisations",
        "DE10",
        "Sales DE",
        "--field",
        "legal_entity=DE01",
    )
    cli(db, "reference", "add", "relationship-types", "franchisee", "Franchisee")
    assert "Dr." in cli(db, "reference", "list", "name-affixes")
    cli(db, "reference", "update", "name-affixes", "DR", "--name", "Doctor")
    assert "Doctor" in cli(db, "reference", "list", "name-affixes")
    assert "DE01" in cli(db, "reference", "list", "sales-organisations")
    assert "franchisee" in cli(db, "reference", "list", "relationship-types")
    cli(db, "reference", "delete", "name-affixes", "DR")
    assert "DR" not in cli(db, "reference", "list", "name-affixes")
    bad = runner.invoke(
        app,
        [
            "reference",
            "add",
            "name-affixes",
            "JR",
            "Jr.",
            "--field",
            "kind=nick",
            "--database-url",
            db,
        ],
    )
    assert bad.exit_code == 1 and "kind" in bad.output


def test_reference_commands_cover_the_customer_masters_own_kinds(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ref.db'}"
    run = lambda *args: runner.invoke(app, [*args, "--database-url", url])  # noqa: E731
    added = run(
        "reference", "add", "payment-terms", "NET90", "Net 90 days", "--field", "net_days=90"
    )
    assert added.exit_code == 0, added.output
    assert "NET90" in run("reference", "list", "payment-terms").output
    assert run("reference", "update", "payment-terms", "NET90", "--name", "Ninety").exit_code == 0
    assert "Ninety" in run("reference", "list", "payment-terms").output
    assert run("reference", "delete", "payment-terms", "NET90").exit_code == 0
    assert "NET90" not in run("reference", "list", "payment-terms").output
