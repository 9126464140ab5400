"""The approval step (``services/governance/approval_step.py``) is the one place that
decides whether a change applies at once or opens a change request: nothing else asks the
policy, and every customer use case asks it once and does what it answers."""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import func, select

from custmaster.bootstrap import Container
from custmaster.domain.approvals import Decision, FieldChange, Lane, Operation, Policy
from custmaster.domain.errors import ChangeWarning
from custmaster.domain.permissions import Principal, Role
from custmaster.persistence.tables_governance import change_requests
from custmaster.services.approval_policy_loader import load_policy
from custmaster.services.customers.create import apply_create, create_customer
from custmaster.services.customers.lifecycle import change_lifecycle
from custmaster.services.customers.outcome import Outcome
from custmaster.services.customers.update import update_customer
from custmaster.services.governance.approval_step import open_request
from custmaster.services.reference import create_reference
from tests.conftest import clean, new_user

SRC = Path(__file__).resolve().parents[3] / "src" / "custmaster"
STEP = "services/governance/approval_step.py"
GREEN = load_policy(Path(__file__).resolve().parents[2] / "policies" / "direct.yaml")
YELLOW = Policy.from_dict(
    {
        "version": 1,
        "operations": {o.value: {"lane": "yellow", "steps": ["data_steward"]} for o in Operation},
        "proposals": {"steps": ["data_steward"]},
        "rules": [],
    }
)


def _asks_the_policy(path: Path, root: Path = SRC) -> list[str]:
    """Where ``path`` asks a policy for a decision, reads one, or opens a request."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Attribute) and node.attr in ("evaluate", "needs_approval"):
            found.append(f"{path.relative_to(root)}:{node.lineno} .{node.attr}")
        if (
            isinstance(node, ast.Attribute)
            and node.attr == "submit"
            and isinstance(node.value, ast.Name)
            and node.value.id == "ChangeRequest"
        ):
            found.append(f"{path.relative_to(root)}:{node.lineno} ChangeRequest.submit")
    return found


def test_only_the_approval_step_asks_the_policy() -> None:
    """Outside the domain (which defines the policy), only the approval step evaluates
    it, reads its decision and opens change requests."""
    asking = sorted(
        {
            str(path.relative_to(SRC))
            for path in SRC.rglob("*.py")
            if path.relative_to(SRC).parts[0] != "domain" and _asks_the_policy(path)
        }
    )
    assert asking == [STEP]


def test_the_policy_scan_finds_a_decision(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("d = policy.evaluate(op, [])\nif d.needs_approval: ChangeRequest.submit()\n")
    assert len(_asks_the_policy(module, tmp_path)) == 3


class Asked:
    """A policy that records each decision it makes."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.decisions: list[tuple[Operation, Lane]] = []

    def evaluate(
        self,
        operation: Operation,
        changes: Sequence[FieldChange],
        before: Mapping[str, Any] | None = None,
        after: Mapping[str, Any] | None = None,
        *,
        direct: bool = True,
    ) -> Decision:
        decision = self.policy.evaluate(operation, changes, before, after, direct=direct)
        self.decisions.append((operation, decision.lane))
        return decision


def _count(container: Container) -> int:
    with container.engine.connect() as connection:
        return int(
            connection.execute(select(func.count()).select_from(change_requests)).scalar_one()
        )


def _body(name: str = "Acme Corporation") -> dict[str, Any]:
    return {
        "kind": "organization",
        "name": name,
        "email": "ap@acme.example",
        "owning_entity": "US01",
    }


@pytest.fixture
def world(container: Container) -> Container:
    clean(container)
    new_user(container, "steward", ["data_steward"])
    create_reference(
        container.uow(),
        container.system_principal(),
        "legal_entities",
        {"code": "US01", "name": "Acme US", "country": "US", "currency": "USD"},
    )
    return container


def _stored(container: Container, actor: Principal) -> UUID:
    result = apply_create(container.uow(), actor, _body("Stored Ltd"), container.service_settings)
    return result.customer.id


UseCase = Callable[[Container, Principal, Any], Outcome]
USE_CASES: dict[str, tuple[Operation, UseCase]] = {
    "create": (
        Operation.CREATE,
        lambda c, a, p: create_customer(c.uow(), a, p, _body(), c.service_settings),
    ),
    "update": (
        Operation.UPDATE,
        lambda c, a, p: update_customer(
            c.uow(), a, p, _stored(c, a), {"notes": "met the buyer"}, c.service_settings
        ),
    ),
    "deactivate": (
        Operation.DEACTIVATE,
        lambda c, a, p: change_lifecycle(c.uow(), a, p, Operation.DEACTIVATE, _stored(c, a)),
    ),
    "hard delete": (
        Operation.HARD_DELETE,
        lambda c, a, p: change_lifecycle(c.uow(), a, p, Operation.HARD_DELETE, _stored(c, a)),
    ),
}


@pytest.mark.parametrize("policy", [GREEN, YELLOW], ids=["green", "yellow"])
@pytest.mark.parametrize("name", list(USE_CASES))
def test_each_customer_use_case_does_what_the_approval_step_decides(
    world: Container, name: str, policy: Policy
) -> None:
    operation, use_case = USE_CASES[name]
    actor = world.system_principal()
    asked = Asked(policy)
    before = _count(world)
    outcome = use_case(world, actor, asked)
    assert asked.decisions == [(operation, policy.operations[operation].lane)]
    if policy is GREEN:
        assert outcome.applied and outcome.request is None
        assert _count(world) == before
    else:
        assert not outcome.applied and outcome.request is not None
        assert outcome.request.operation is operation and outcome.request.lane is Lane.YELLOW
        assert _count(world) == before + 1


def test_a_green_change_opens_nothing_and_computes_no_warnings(world: Container) -> None:
    computed: list[bool] = []

    def warnings() -> list[ChangeWarning]:
        computed.append(True)
        return [ChangeWarning("name", "similar_customer", "looks like another")]

    def step(policy: Policy, actor: Principal, *, direct: bool) -> Any:
        with world.uow() as uow:
            return open_request(
                uow,
                actor,
                policy,
                Operation.UPDATE,
                customer_id=None,
                changes=[{"field": "notes", "before": None, "after": "n"}],
                payload={},
                before={"notes": None},
                after={"notes": "n"},
                base_version=1,
                entities=frozenset(),
                direct=direct,
                warnings=warnings,
            )

    actor = world.system_principal()
    assert step(GREEN, actor, direct=True) is None
    assert computed == [] and _count(world) == 0
    opened = step(YELLOW, actor, direct=True)
    assert opened is not None and computed == [True]
    assert list(opened.warnings) == [
        {"field": "name", "code": "similar_customer", "message": "looks like another"}
    ]
    # a propose-only submitter's green change goes to the policy's proposal steps
    proposer = Principal("clerk", "Clerk", frozenset({Role.VIEWER}))
    proposed = step(GREEN, proposer, direct=False)
    assert proposed is not None and [s.role for s in proposed.steps] == [Role.DATA_STEWARD]
    assert _count(world) == 2
