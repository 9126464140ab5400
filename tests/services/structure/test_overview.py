"""``customer_structure`` (the console's structure page) on both databases: on one
connection, the very answers of the service calls the API makes one by one (trees of every
hierarchy type, relationships both ways, account team, cross-references), the same checks
(an unknown customer is 404, a user without customer.read is refused) and the legal-entity
scope of the customer record."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from custmaster.bootstrap import Container
from custmaster.domain.errors import Forbidden, NotFound
from custmaster.domain.permissions import Principal
from custmaster.services.dedup.xrefs import customer_xrefs
from custmaster.services.structure import hierarchies, org_units, relationships
from custmaster.services.structure.common import DEFAULT_SETTINGS
from custmaster.services.structure.overview import customer_structure
from tests.api.test_structure import chain, customer, relate
from tests.conftest import new_user

AS_OF = date(2026, 6, 1)


def _principal(container: Container, user_id: str) -> Principal:
    with container.uow().read_only() as uow:
        record = uow.users.get(user_id)
    assert record is not None
    return record.principal


def test_one_call_answers_what_the_separate_calls_answer(
    client: TestClient, container: Container
) -> None:
    group, company, plant = (UUID(i) for i in chain(client, "Group", "Company", "Plant"))
    dock = customer(client, "Dock", source_refs=[{"source_system": "erp", "source_id": "D-1"}])
    assert relate(client, str(company), dock).status_code == 201
    assert relate(client, str(group), str(company), kind="payer").status_code == 201
    new_user(container, "reader", ["viewer"])
    me = _principal(container, "reader")
    found = customer_structure(container.uow(), me, company, as_of=AS_OF)
    assert found.customer.id == company
    kinds = sorted(DEFAULT_SETTINGS.hierarchy_types)
    assert [t["hierarchy_type"] for t in found.trees] == kinds
    assert found.trees == [
        hierarchies.read_hierarchy(container.uow(), me, kind, company, as_of=AS_OF)
        for kind in kinds
    ]
    legal = found.trees[kinds.index("legal")]
    assert legal["root_id"] == group and legal["tree"]["children"][0]["id"] == str(company)
    assert found.outgoing == relationships.customer_relationships(
        container.uow(), me, company, as_of=AS_OF
    )
    assert [r["related"]["id"] for r in found.outgoing] == [dock]
    assert found.incoming == relationships.customer_relationships(
        container.uow(), me, company, as_of=AS_OF, incoming=True
    )
    assert [r["related"]["id"] for r in found.incoming] == [str(group)]
    assert found.team == org_units.account_team(container.uow(), me, company, as_of=AS_OF)
    docked = customer_structure(container.uow(), me, UUID(dock), as_of=AS_OF)
    assert docked.xrefs == customer_xrefs(container.uow(), me, UUID(dock))
    assert [r.source_id for r in docked.xrefs.customer.source_refs] == ["D-1"]
    assert plant != company


def test_the_same_checks_as_the_separate_calls(client: TestClient, container: Container) -> None:
    owned = UUID(customer(client, "Scoped Co", overrides={"DE01": {"credit_limit": "70000"}}))
    new_user(container, "gb-reader", ["viewer"], ["GB01"])
    scoped = customer_structure(container.uow(), _principal(container, "gb-reader"), owned)
    assert "DE01" not in scoped.customer.overrides  # the customer as get_customer gives it
    new_user(container, "reader", ["viewer"])
    with pytest.raises(NotFound):
        customer_structure(
            container.uow(), _principal(container, "reader"), UUID(int=7), as_of=AS_OF
        )
    nobody = Principal(user_id="nobody", name="nobody", roles=frozenset(), entities=None)
    with pytest.raises(Forbidden):
        customer_structure(container.uow(), nobody, owned)
