from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from custmaster.domain.approvals import FieldChange, Lane, Operation, PolicyError
from custmaster.domain.permissions import Role
from custmaster.services.approval_policy_loader import (
    default_policy_text,
    load_policy,
    parse_policy_text,
)


def test_the_shipped_policy_loads_and_follows_the_issue_table() -> None:
    policy = load_policy()
    steps = {op: policy.operations[op].steps for op in Operation}
    assert steps[Operation.CREATE] == (Role.AR_MANAGER, Role.CONTROLLER)
    assert steps[Operation.UPDATE] == (Role.AR_MANAGER, Role.CONTROLLER)
    assert steps[Operation.DEACTIVATE] == (Role.AR_MANAGER, Role.CONTROLLER)
    assert steps[Operation.HARD_DELETE] == (Role.AR_MANAGER, Role.CONTROLLER, Role.CFO)
    assert policy.operations[Operation.HARD_DELETE].lane is Lane.RED
    assert steps[Operation.BULK_IMPORT] == (Role.AR_MANAGER,)
    assert policy.operations[Operation.BULK_IMPORT].checks == ("validation",)


def test_the_shipped_policy_risk_rules() -> None:
    policy = load_policy()
    green = policy.evaluate(Operation.UPDATE, [FieldChange("website", None, "https://a.b")])
    assert green.lane is Lane.GREEN
    red = policy.evaluate(Operation.UPDATE, [FieldChange("credit_limit", "1000", "500000")])
    assert red.lane is Lane.RED and red.steps[-1] is Role.CFO


def test_an_operator_file_replaces_the_default(tmp_path: Path) -> None:
    data = yaml.safe_load(default_policy_text())
    data["operations"]["update"] = {"lane": "yellow", "steps": ["data_steward"]}
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data), "utf-8")
    policy = load_policy(path)
    assert policy.operations[Operation.UPDATE].steps == (Role.DATA_STEWARD,)


def test_errors_name_the_file_and_the_key(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(
        default_policy_text().replace(
            "[ar_manager, controller, cfo]", "[ar_manager, controler, cfo]"
        ),
        "utf-8",
    )
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    message = str(caught.value)
    assert str(path) in message
    assert "operations.hard_delete.steps[1]" in message and "did you mean 'controller'" in message


def test_invalid_yaml_is_a_policy_error() -> None:
    with pytest.raises(PolicyError, match=r"bad\.yaml"):
        parse_policy_text("operations: [unclosed", "bad.yaml")


def test_duplicate_keys_are_refused() -> None:
    text = default_policy_text().replace("  update:\n", "  create:\n    lane: red\n  update:\n", 1)
    with pytest.raises(PolicyError, match="duplicate key 'create'"):
        parse_policy_text(text)


def test_a_missing_file_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"missing\.yaml"):
        load_policy(tmp_path / "missing.yaml")


def test_an_empty_file_is_a_policy_error() -> None:
    with pytest.raises(PolicyError, match="must be a mapping"):
        parse_policy_text("", "empty.yaml")
