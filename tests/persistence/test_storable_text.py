"""Below the API's edge check, the persistence layer refuses to write what a database
column cannot hold alike on SQLite and PostgreSQL (issue 12, item 3): a create under the
shipped policy whose name holds a lone surrogate fails inside its transaction, so no
change request, event or audit entry is left committed on either database."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from custmaster.bootstrap import Container
from custmaster.persistence.tables import outbox
from custmaster.persistence.tables_governance import change_requests
from custmaster.services.approval_policy_loader import load_policy
from custmaster.services.customers.create import create_customer
from custmaster.services.reference import create_reference
from tests.conftest import clean, new_user


def _count(container: Container, table: object) -> int:
    with container.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["Poison \ud800 Ltd", "Nul\x00 Ltd"])
def test_unstorable_text_rolls_the_whole_change_back(container: Container, bad: str) -> None:
    clean(container)
    for name, role in (
        ("ar", "ar_manager"),
        ("ar2", "ar_manager"),
        ("ctrl", "controller"),
        ("ctrl2", "controller"),
    ):
        new_user(container, name, [role])
    create_reference(
        container.uow(),
        container.system_principal(),
        "legal_entities",
        {"code": "US01", "name": "Acme US", "country": "US", "currency": "USD"},
    )
    before = (_count(container, change_requests), _count(container, outbox))
    data = {
        "kind": "organization",
        "name": "x",
        "email": "ap@x.example",
        "owning_entity": "US01",
        "metadata": {"note": bad},
    }
    with pytest.raises(Exception, match=r"cannot store|NUL|surrogate"):
        create_customer(
            container.uow(),
            container.system_principal(),
            load_policy(None),
            data,
            container.service_settings,
        )
    assert (_count(container, change_requests), _count(container, outbox)) == before
