"""The last approval applies a customer change with the opening and write step of the
green path: an approved update reads the customer once (rebase, validation and write on
the same load) and keeps its change request's id in the audit entry."""

from __future__ import annotations

from collections import Counter
from typing import Any
from uuid import UUID

import pytest

from custmaster.bootstrap import Container
from custmaster.domain.approvals import Operation, Policy, RequestStatus
from custmaster.persistence.customers import SqlCustomerRepository
from custmaster.services.auth import active_principal
from custmaster.services.customers.create import apply_create
from custmaster.services.customers.read import customer_history, get_customer
from custmaster.services.customers.update import update_customer
from custmaster.services.governance.decide import approve
from custmaster.services.reference import create_reference
from tests.conftest import clean, new_user

YELLOW = Policy.from_dict(
    {
        "version": 1,
        "operations": {o.value: {"lane": "yellow", "steps": ["data_steward"]} for o in Operation},
        "proposals": {"steps": ["data_steward"]},
        "rules": [],
    }
)


def test_an_approved_update_reads_the_customer_once(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean(container)
    new_user(container, "steward", ["data_steward"])
    actor = container.system_principal()
    create_reference(
        container.uow(),
        actor,
        "legal_entities",
        {"code": "US01", "name": "Acme US", "country": "US", "currency": "USD"},
    )
    body = {"kind": "organization", "name": "Acme", "email": "ap@acme.example"}
    customer_id = apply_create(
        container.uow(), actor, {**body, "owning_entity": "US01"}, container.service_settings
    ).customer.id
    waiting = update_customer(
        container.uow(), actor, YELLOW, customer_id, {"notes": "n"}, container.service_settings
    )
    assert waiting.request is not None
    steward = active_principal(container.uow(), "steward")
    assert steward is not None

    loads: Counter[UUID] = Counter()
    real = SqlCustomerRepository.get

    def get(self: SqlCustomerRepository, wanted: UUID, **kwargs: Any) -> Any:
        loads[wanted] += 1
        return real(self, wanted, **kwargs)

    monkeypatch.setattr(SqlCustomerRepository, "get", get)
    decided = approve(container.uow(), steward, waiting.request.id, container.service_settings)
    assert decided.status is RequestStatus.APPLIED and loads[customer_id] == 1
    monkeypatch.undo()
    assert get_customer(container.uow(), actor, customer_id).notes == "n"
    last = customer_history(container.uow(), actor, customer_id, after_id=None, limit=10)[-1]
    assert last.operation == "update" and last.change_request_id == waiting.request.id
