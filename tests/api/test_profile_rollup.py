"""A parent's 360 view rolls up its subtree on the day read: the descendants the view
reads with one recursive statement are the inheritance hierarchy's own, breadth first,
without ended or future links; the sales roll-up and the KPIs are over them."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from custmaster.bootstrap import Container
from custmaster.domain.snapshot import jsonable
from custmaster.services.profile.features import today
from custmaster.services.profile.reads import customer_profile
from custmaster.services.structure import hierarchies
from custmaster.services.structure.common import DEFAULT_SETTINGS
from tests.factories import create, minimal
from tests.profile.events import order

API = "/api/v1"


def _customer(client: TestClient, name: str) -> str:
    return str(create(client, minimal(name, f"{name.lower()}@rollup.example"))["id"])


def _link(client: TestClient, parent: str, child: str, start: date, end: date | None) -> None:
    body: dict[str, Any] = {"parent_id": parent, "child_id": child, "valid_from": str(start)}
    if end is not None:
        body["valid_to"] = str(end)
    kind = DEFAULT_SETTINGS.inheritance_hierarchy
    response = client.post(f"{API}/hierarchies/{kind}/links", json=body)
    assert response.status_code == 201, response.text


def _steady(view: dict[str, Any]) -> Any:
    """The view as the API writes it, each row's ``updated_at`` as stored."""
    return json.loads(json.dumps(jsonable(view)))


def _graph_descendants(container: Container, node: str) -> list[str]:
    uow = container.uow()
    with uow.read_only():
        graph = hierarchies.load(uow, DEFAULT_SETTINGS.inheritance_hierarchy).graph
    return [str(d) for d in graph.descendants(UUID(node), today())]


def test_parent_rolls_up_its_subtree_on_the_day(client: TestClient, container: Container) -> None:
    day = today()
    head, a, b, a1, a2, ended, future = (
        _customer(client, n) for n in ("Head", "A", "B", "A1", "A2", "Ended", "Future")
    )
    long_ago = day - timedelta(days=400)
    _link(client, head, b, long_ago + timedelta(days=2), None)
    _link(client, head, a, long_ago, None)
    _link(client, a, a2, long_ago + timedelta(days=1), None)
    _link(client, a, a1, long_ago, None)
    _link(client, b, ended, long_ago, day - timedelta(days=1))  # ended yesterday
    _link(client, a1, future, day + timedelta(days=1), None)  # starts tomorrow
    amounts = {head: 1.0, a: 10.0, b: 100.0, a1: 1000.0, a2: 10000.0, ended: 1e5, future: 1e6}
    this_month = day.replace(day=1)
    response = client.post(
        f"{API}/activities", json=[order(c, this_month, amount) for c, amount in amounts.items()]
    )
    assert response.status_code == 200, response.text

    expected = _graph_descendants(container, head)
    assert expected == [a, b, a1, a2]  # breadth first, children in link order
    view = client.get(f"{API}/customers/{head}/profile").json()
    assert view["kpis"]["aggregate_of"] == expected and view["kpis"]["read_only"] is True
    rollup = view["sales"]["rollup"]
    assert rollup["customers"] == 5
    own = {
        c: client.get(f"{API}/customers/{c}/profile").json()["sales"]["own"]["monetary_12m"]
        for c in amounts
    }
    assert own[a] > 0 and own[a2] == pytest.approx(1000 * own[a])  # in EUR
    assert rollup["monetary_12m"] == pytest.approx(sum(own[c] for c in (head, *expected)))
    kpis = client.get(f"{API}/customers/{head}/kpis").json()
    assert kpis["aggregate_of"] == expected
    sales = client.get(f"{API}/customers/{head}/sales").json()
    assert sales["rollup"] == rollup

    # the answers (the fast path's on PostgreSQL: the head's from a thread, a leaf's on the
    # event loop) are what the use case computes
    for node in (head, a, a2):
        read = customer_profile(
            container.uow(), container.system_principal(), UUID(node), container.profile
        )
        assert client.get(f"{API}/customers/{node}/profile").json() == _steady(read)

    leaf = client.get(f"{API}/customers/{a2}/profile").json()
    assert leaf["sales"]["rollup"] is None and leaf["kpis"]["aggregate_of"] == []
    assert client.get(f"{API}/customers/{a1}/profile").json()["kpis"]["aggregate_of"] == []
