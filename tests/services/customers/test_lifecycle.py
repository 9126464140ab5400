"""Lifecycle changes open once: a green deactivate, reactivate or hard delete loads the
customer a single time (the opening), and so does applying an approved one."""

from __future__ import annotations

from collections import Counter
from typing import Any
from uuid import UUID

import pytest

from custmaster.bootstrap import Container
from custmaster.domain.approvals import Operation, Policy, RequestStatus
from custmaster.domain.errors import StaleVersion
from custmaster.domain.model import CustomerStatus
from custmaster.persistence.customers import SqlCustomerRepository
from custmaster.services.approval_policy_loader import load_policy
from custmaster.services.auth import active_principal
from custmaster.services.customers.create import apply_create
from custmaster.services.customers.lifecycle import change_lifecycle
from custmaster.services.governance.decide import approve
from custmaster.services.reference import create_reference
from tests.conftest import DIRECT_POLICY, clean, new_user

GREEN = load_policy(DIRECT_POLICY)
YELLOW = Policy.from_dict(
    {
        "version": 1,
        "operations": {o.value: {"lane": "yellow", "steps": ["data_steward"]} for o in Operation},
        "proposals": {"steps": ["data_steward"]},
        "rules": [],
    }
)


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> Counter[UUID]:
    """How often each customer is read from the repository."""
    counted: Counter[UUID] = Counter()
    real = SqlCustomerRepository.get

    def get(self: SqlCustomerRepository, customer_id: UUID, **kwargs: Any) -> Any:
        counted[customer_id] += 1
        return real(self, customer_id, **kwargs)

    monkeypatch.setattr(SqlCustomerRepository, "get", get)
    return counted


@pytest.fixture
def stored(container: Container) -> UUID:
    clean(container)
    new_user(container, "steward", ["data_steward"])
    create_reference(
        container.uow(),
        container.system_principal(),
        "legal_entities",
        {"code": "US01", "name": "Acme US", "country": "US", "currency": "USD"},
    )
    body = {"kind": "organization", "name": "Acme", "email": "ap@acme.example"}
    result = apply_create(
        container.uow(),
        container.system_principal(),
        {**body, "owning_entity": "US01"},
        container.service_settings,
    )
    return result.customer.id


def test_a_green_lifecycle_change_loads_the_customer_once(
    container: Container, stored: UUID, loads: Counter[UUID]
) -> None:
    actor = container.system_principal()
    for version, (operation, status) in enumerate(
        [
            (Operation.DEACTIVATE, CustomerStatus.INACTIVE),
            (Operation.REACTIVATE, CustomerStatus.ACTIVE),
        ],
        start=1,
    ):
        loads.clear()
        outcome = change_lifecycle(
            container.uow(), actor, GREEN, operation, stored, expected_version=version
        )
        assert outcome.applied and outcome.result is not None
        assert outcome.result.customer.status is status
        assert outcome.result.customer.version == version + 1
        assert loads[stored] == 1
    with pytest.raises(StaleVersion):
        change_lifecycle(
            container.uow(), actor, GREEN, Operation.HARD_DELETE, stored, expected_version=1
        )
    loads.clear()
    deleted = change_lifecycle(container.uow(), actor, GREEN, Operation.HARD_DELETE, stored)
    assert deleted.applied and deleted.result is None and loads[stored] == 1


def test_an_approved_lifecycle_change_applies_with_the_same_write_step(
    container: Container, stored: UUID, loads: Counter[UUID]
) -> None:
    actor = container.system_principal()
    waiting = change_lifecycle(container.uow(), actor, YELLOW, Operation.DEACTIVATE, stored)
    assert not waiting.applied and waiting.request is not None
    steward = active_principal(container.uow(), "steward")
    assert steward is not None
    loads.clear()
    decided = approve(container.uow(), steward, waiting.request.id, container.service_settings)
    assert decided.status is RequestStatus.APPLIED and loads[stored] == 1
    # the same write step refuses what is no longer possible: the request conflicts
    again = change_lifecycle(container.uow(), actor, YELLOW, Operation.DEACTIVATE, stored)
    assert again.request is not None
    refused = approve(container.uow(), steward, again.request.id, container.service_settings)
    assert refused.status is RequestStatus.CONFLICTED
    assert any("inactive already" in r for r in refused.reasons)
