"""The fast path (api.fast_path) answers every request of its table exactly as the route
it shadows: the same status, body and headers, and the same rows written (customers,
child records, audit entries, outbox events, change requests), on both databases.

Each case runs twice from the same empty tables, on an app with the fast path and on one
without, with the same sequence of UUIDs; the case also says whether the fast path is to
answer it (what it cannot vouch for goes to the route)."""

from __future__ import annotations

import json
import random
import re
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from fastapi import Depends, HTTPException
from fastapi.dependencies.utils import get_parameterless_sub_dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, Table

from custmaster.api.app import create_app
from custmaster.api.asgi_body import MAX_BODY
from custmaster.api.fast_path import FAST_PATHS, shadowable
from custmaster.api.routers import customers as customers_router
from custmaster.bootstrap import Container
from custmaster.services.approval_policy_loader import load_policy
from tests.conftest import clean, fast_path_answers, new_user
from tests.factories import acme, create, seed_reference

API = "/api/v1"
VIEW = "GET /api/v1/customers/{customer_id}"
PATCH = "PATCH /api/v1/customers/{customer_id}"
MATCH = "POST /api/v1/match"
PROFILE = "GET /api/v1/customers/{customer_id}/profile"
JSON = {"Content-Type": "application/json"}
DEEP = b'{"notes": ' + b"[" * 5000 + b"]" * 5000 + b"}"


@dataclass(frozen=True)
class Case:
    entry: str  # the FAST_PATHS entry the request is for
    id: str
    target: str  # "{id}": the customer made by the case
    kwargs: dict[str, Any] = field(default_factory=dict)
    fast: bool = True  # the fast path answers it (else the route)
    user: tuple[list[str], list[str] | None] | None = None  # roles, entities: another caller
    governed: bool = False  # the shipped approval policy instead of the tests' direct one

    @property
    def method(self) -> str:
        return self.entry.split(" ")[0]


def _view(id: str, target: str, fast: bool = True, **kwargs: Any) -> Case:
    return Case(VIEW, id, target, kwargs, fast)


def _patch(id: str, fast: bool = True, target: str = "{id}", **kwargs: Any) -> Case:
    return Case(PATCH, id, target, kwargs, fast)


def _profile(id: str, target: str, fast: bool = True, **kwargs: Any) -> Case:
    return Case(PROFILE, id, target, kwargs, fast)


def _match(id: str, fast: bool = True, **kwargs: Any) -> Case:
    return Case(MATCH, id, "", kwargs, fast)


NEW_ID = "0b4e6a80-1111-4222-8333-444455556666"
ADDRESS = {
    "action": "add",
    "type": "shipping",
    "lines": ["1 Dock Rd"],
    "city": "Boston",
    "postal_code": "02110",
    "country": "US",
}

CASES: list[Case] = [
    # the effective view
    _view("view", "{id}?entity=DE01"),
    _view("view-unknown-entity", "{id}?entity=XX99"),  # the read refuses it: rendered
    _view("view-unknown-customer", f"{NEW_ID}?entity=DE01"),
    _view("view-empty-entity", "{id}?entity=", fast=False),
    _view("view-long-entity", "{id}?entity=" + "E" * 65, fast=False),
    _view("view-unknown-parameter", "{id}?entity=DE01&unused=1", fast=False),
    _view("view-as-of", "{id}?entity=DE01&as_of=2030-01-01", fast=False),
    _view("view-master", "{id}", fast=False),
    _view("view-bare-uuid", "{bare}?entity=DE01", fast=False),
    _view("view-not-a-uuid", "not-a-uuid?entity=DE01", fast=False),
    _view(
        "view-bad-key",
        "{id}?entity=DE01",
        fast=False,
        headers={"Authorization": "Bearer cm_no_such"},
    ),
    _view("view-no-credentials", "{id}?entity=DE01", fast=False, headers={"Authorization": ""}),
    Case(VIEW, "view-other-entity", "{id}?entity=DE01", user=(["viewer"], ["US01"])),
    Case(VIEW, "view-own-entity", "{id}?entity=US01", user=(["viewer"], ["US01"])),
    # PATCH
    _patch("patch", json={"notes": "n", "addresses": [ADDRESS]}, headers={"If-Match": '"1"'}),
    Case(PATCH, "patch-yellow-lane", "{id}", {"json": {"credit_limit": "999999"}}, governed=True),
    _patch("patch-stale", json={"notes": "x"}, headers={"If-Match": '"7"'}),
    _patch("patch-bad-if-match", json={"notes": "x"}, headers={"If-Match": "seven"}),
    _patch("patch-unknown-reference", json={"payment_terms": "NET999"}),
    _patch("patch-unknown-customer", target=NEW_ID, json={"notes": "x"}),
    _patch("patch-unknown-field", fast=False, json={"nickname": "Acme"}),
    _patch("patch-server-owned", fast=False, json={"id": NEW_ID}),
    _patch("patch-not-json", fast=False, content=b"{not json", headers=JSON),
    _patch(
        "patch-text-plain",
        fast=False,
        content=b'{"notes": "x"}',
        headers={"Content-Type": "text/plain"},
    ),
    _patch("patch-deep", fast=False, content=DEEP, headers=JSON),
    _patch(
        "patch-large", fast=False, content=b'{"notes": "x"' + b" " * MAX_BODY + b"}", headers=JSON
    ),
    _patch("patch-query", fast=False, target="{id}?unused=1", json={"notes": "x"}),
    _patch("patch-bare-uuid", fast=False, target="{bare}", json={"notes": "x"}),
    _patch(
        "patch-bad-key",
        fast=False,
        json={"notes": "x"},
        headers={"Authorization": "Bearer cm_no_such"},
    ),
    Case(
        PATCH,
        "patch-no-permission",
        "{id}",
        {"json": {"notes": "x"}},
        fast=False,
        user=(["viewer"], None),
    ),
    Case(
        PATCH,
        "patch-other-entity",
        "{id}",
        {"json": {"notes": "x"}},
        user=(["ar_manager"], ["GB01"]),
    ),
    # the 360 view
    _profile("profile", "{id}/profile"),
    _profile("profile-entity", "{id}/profile?entity=DE01"),
    _profile("profile-unknown-customer", f"{NEW_ID}/profile"),  # 404, from a thread
    _profile("profile-empty-entity", "{id}/profile?entity=", fast=False),
    _profile("profile-long-entity", "{id}/profile?entity=" + "E" * 65, fast=False),
    _profile("profile-unknown-parameter", "{id}/profile?unused=1", fast=False),
    _profile("profile-entity-twice", "{id}/profile?entity=DE01&entity=US01", fast=False),
    _profile("profile-bare-uuid", "{bare}/profile", fast=False),
    _profile("profile-no-credentials", "{id}/profile", fast=False, headers={"Authorization": ""}),
    Case(PROFILE, "profile-other-entity", "{id}/profile?entity=DE01", user=(["viewer"], ["US01"])),
    Case(PROFILE, "profile-own-entities", "{id}/profile", user=(["viewer"], ["US01"])),
    # POST /match
    _match("match", json={"name": "ACME Corp.", "email": "AP@acme.example"}),
    _match("match-bounds", json={"tax_id": "941234567"}, params={"limit": 1, "min_score": 0.5}),
    _match("match-empty", json={}),
    _match("match-limit-0", fast=False, json={"name": "Acme"}, params={"limit": 0}),
    _match("match-limit-spelling", fast=False, json={"name": "Acme"}, params={"limit": "1_0"}),
    _match(
        "match-limit-twice",
        fast=False,
        json={"name": "Acme"},
        params=[("limit", "5"), ("limit", "6")],
    ),
    _match("match-min-score-nan", fast=False, json={"name": "Acme"}, params={"min_score": "nan"}),
    _match("match-unknown-parameter", fast=False, json={"name": "Acme"}, params={"x": "1"}),
    _match("match-unknown-field", fast=False, json={"nickname": "Acme"}),
    _match("match-wrong-type", fast=False, json={"name": 42}),
    _match(
        "match-basic-auth",
        fast=False,
        json={"name": "Acme"},
        headers={"Authorization": "Basic abc"},
    ),
    _match("match-deep", fast=False, content=DEEP, headers=JSON),
    _match("match-too-large", fast=False, json={"name": "Acme", "notes": "x" * MAX_BODY}),
]


def test_every_entry_of_the_table_has_cases_both_ways() -> None:
    entries = {e.name for e in FAST_PATHS}
    assert {c.entry for c in CASES} == entries
    for entry in entries:
        assert {c.fast for c in CASES if c.entry == entry} == {True, False}, entry


# -- running a case ------------------------------------------------------------------


@dataclass
class Run:
    status: int
    headers: dict[str, str]
    body: Any
    rows: dict[str, dict[str, list[str]]]  # per table, the rows the request added and removed
    answered: int
    use_case_calls: int


#: rows of these tables hold secrets or bookkeeping that differ between two runs anyway
SKIPPED_TABLES = {"alembic_version", "users", "api_keys"}
#: columns whose values depend on the clock, the server's transaction ids or the
#: (background) sealing of the audit
MOVING = re.compile(r"(_at|hash|signature|seal|chain_seq|time|key_id|txid)")
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:?\d{2}|Z)?")
UUID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}")
#: the UUIDs ``same_uuids`` made (the same in both runs); others are random
REPEATED: set[str] = set()


def _uuid(found: re.Match[str]) -> str:
    value = found.group(0)
    return value if value.replace("-", "") in REPEATED else "<uuid>"


def _steady(value: Any) -> Any:
    """``value`` with clock readings and the UUIDs made at random replaced."""
    text = json.dumps(value, default=str, sort_keys=True)
    return json.loads(UUID.sub(_uuid, TIMESTAMP.sub("<time>", text)))


_TABLES: dict[int, list[Table]] = {}
#: a row's values (``repr``) -> its steadied JSON; the UUIDs in a row were made (and put
#: in ``REPEATED`` or not) before the row was written, so the answer cannot change
_STEADIED: dict[str, str] = {}


def _rows(container: Container) -> dict[str, list[str]]:
    if id(container) not in _TABLES:
        reflected = MetaData()
        reflected.reflect(bind=container.engine)
        _TABLES[id(container)] = [
            t for t in reflected.sorted_tables if t.name not in SKIPPED_TABLES
        ]
    found: dict[str, list[str]] = {}
    with container.engine.connect() as connection:
        for table in _TABLES[id(container)]:
            rows = []
            for row in connection.execute(table.select()):
                kept = {
                    k: v
                    for k, v in row._mapping.items()
                    if not MOVING.search(k) and not (k == "id" and isinstance(v, int))
                }  # (PostgreSQL's serial ids go on from one run to the next)
                # a row read before is not steadied again (the snapshots before and after
                # every case read every row; steadying them was most of this test's time)
                seen = repr(kept)
                if seen not in _STEADIED:
                    _STEADIED[seen] = json.dumps(_steady(kept), sort_keys=True)
                rows.append(_STEADIED[seen])
            found[table.name] = _folded(rows) if table.name in DELTA_TABLES else rows
    return found


#: derived tables of additive delta rows that a writer folds now and then (at random):
#: compared by their sums per group, the only thing they mean
DELTA_TABLES = {"customer_quality_counts": ("owning_entity", "status")}


def _folded(rows: list[str]) -> list[str]:
    sums: dict[tuple[Any, ...], dict[str, int]] = {}
    group = DELTA_TABLES["customer_quality_counts"]
    for text in rows:
        row = json.loads(text)
        key = tuple(row.pop(name) for name in group)
        total = sums.setdefault(key, {})
        for name, value in row.items():
            total[name] = total.get(name, 0) + int(value)
    return [
        json.dumps({**dict(zip(group, key, strict=True)), **total}, sort_keys=True)
        for key, total in sums.items()
        if any(total.values())
    ]


def _written(before: dict[str, list[str]], after: dict[str, list[str]]) -> dict[str, Any]:
    return {
        table: {
            "added": sorted(set(rows) - set(before[table])),
            "removed": sorted(set(before[table]) - set(rows)),
        }
        for table, rows in after.items()
    }


@pytest.fixture
def same_uuids(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Makes ``uuid.uuid4`` (and the modules' copies of it) give the same sequence again
    each time the returned function is called."""
    original = uuid.uuid4
    state = {"rng": random.Random(0)}

    def uuid4() -> uuid.UUID:
        made = uuid.UUID(int=state["rng"].getrandbits(128), version=4)
        REPEATED.add(made.hex)
        return made

    monkeypatch.setattr(uuid, "uuid4", uuid4)
    for module in list(sys.modules.values()):
        if getattr(module, "uuid4", None) is original:
            monkeypatch.setattr(module, "uuid4", uuid4)

    def restart() -> None:
        state["rng"] = random.Random(0)

    return restart


@pytest.fixture
def use_case_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per run of the PATCH use case."""
    calls: list[int] = []
    original = customers_router.update_customer

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(customers_router, "update_customer", counted)
    return calls


def _run_all(
    container: Container, fast: bool, restart: Callable[[], None], calls: list[int]
) -> dict[str, Run]:
    """Every case, in order, from empty tables, on an app with or without the fast path;
    each case on a customer of its own."""
    clean(container)
    restart()
    app = create_app(container, fast_path=fast)
    runs: dict[str, Run] = {}
    with TestClient(app, raise_server_exceptions=False) as client:
        admin = f"Bearer {new_user(container, 'tester', ['admin'])}"
        client.headers["Authorization"] = admin
        seed_reference(client)
        create(client, acme())  # the match cases' match
        for role in ("ar_manager", "controller", "cfo"):  # who may approve a yellow lane
            new_user(container, f"approver_{role}", [role])
        others = {
            case.id: f"Bearer {new_user(container, f'other{n}', *case.user)}"
            for n, case in enumerate(CASES)
            if case.user is not None
        }
        for n, case in enumerate(CASES):
            client.headers["Authorization"] = admin
            customer = create(
                client, acme(name=f"Acme {n}", email=f"ap{n}@acme.example", tax_id=None)
            )
            if case.user is not None:
                client.headers["Authorization"] = others[case.id]
            target = case.target.format(id=customer["id"], bare=customer["id"].replace("-", ""))
            url = f"{API}/customers/{target}" if case.entry != MATCH else f"{API}/match"
            answered = sum(fast_path_answers(client).values())
            before = _rows(container)
            calls.clear()
            policy = container.policy
            if case.governed:
                container.policy = load_policy(None)
            try:
                response = client.request(case.method, url, **case.kwargs)
            finally:
                container.policy = policy
            try:
                body: Any = response.json()
            except ValueError:
                body = response.text
            runs[case.id] = Run(
                response.status_code,
                dict(response.headers),
                _steady(body),
                _written(before, _rows(container)),
                sum(fast_path_answers(client).values()) - answered,
                len(calls),
            )
    return runs


def _difference(fast: Run, routed: Run) -> dict[str, Any]:
    """What differs between two runs of a case, for the failure message."""
    found: dict[str, Any] = {}
    for name in ("status", "headers", "body", "use_case_calls"):
        if getattr(fast, name) != getattr(routed, name):
            found[name] = (getattr(fast, name), getattr(routed, name))
    for table, written in fast.rows.items():
        if written != routed.rows[table]:
            found[table] = (written, routed.rows[table])
    return found


def test_the_fast_path_answers_and_writes_as_the_route_does(
    container: Container, same_uuids: Callable[[], None], use_case_calls: list[int]
) -> None:
    fast = _run_all(container, True, same_uuids, use_case_calls)
    routed = _run_all(container, False, same_uuids, use_case_calls)
    differing = {}
    for case in CASES:
        one, other = fast[case.id], routed[case.id]
        expected = 1 if case.fast else 0
        if (one.answered, other.answered) != (expected, 0) or one != replace(
            other, answered=one.answered
        ):
            differing[case.id] = _difference(one, other)
    assert not differing, differing

    # the use case runs as often as on the route (compared above): at most once, also when
    # it refuses the change (the route does not run it again)
    assert max(run.use_case_calls for run in fast.values()) == 1
    assert fast["patch-unknown-reference"].use_case_calls == 1
    # the cases are not all alike: success, refusal by the use case, the yellow lane
    assert fast["view"].status == fast["patch"].status == fast["match"].status == 200
    assert fast["view"].body["overridden_fields"] == ["credit_limit", "currency", "payment_terms"]
    assert fast["match"].body["items"]
    assert fast["patch"].rows["outbox"]["added"] and fast["patch"].rows["audit_log"]["added"]
    assert fast["patch-yellow-lane"].status == 202
    assert fast["patch-yellow-lane"].rows["change_requests"]["added"]
    assert fast["patch-unknown-reference"].status == 422
    assert not any(r["added"] for r in fast["patch-unknown-reference"].rows.values())
    assert fast["view-other-entity"].status == 403 and fast["patch-other-entity"].status == 403
    assert fast["profile"].status == fast["profile-entity"].status == 200
    assert fast["profile"].body["entities"] == ["US01"]  # the owning entity (no activity)
    assert fast["profile-entity"].body["entities"] == ["DE01"]
    assert fast["profile-own-entities"].body["entities"] == ["US01"]
    assert fast["profile-unknown-customer"].status == 404
    assert fast["profile-other-entity"].status == 403


# -- the route's dependencies are never skipped --------------------------------------


def test_the_entries_are_found_as_a_walk_of_every_route_finds_them(container: Container) -> None:
    """``shadowable`` builds only the included routers holding a shadowed endpoint: it
    takes what the walk of every route of the app takes, and refuses a moved route."""
    walked = create_app(container)
    every = {
        (method, context.path_format, context.endpoint)
        for context in iter_route_contexts(walked.routes)
        if isinstance(context.original_route, APIRoute)
        for method in context.methods or ()
    }
    expected = [e for e in FAST_PATHS if (e.method, e.path, e.shadows) in every]
    assert expected == list(FAST_PATHS)
    assert shadowable(create_app(container), FAST_PATHS) == expected
    moved = replace(FAST_PATHS[0], path=f"{API}/elsewhere/{{customer_id}}")
    other_method = replace(FAST_PATHS[0], method="DELETE")
    assert shadowable(create_app(container), [moved, other_method, FAST_PATHS[1]]) == [
        FAST_PATHS[1]
    ]


def _limited() -> None:
    raise HTTPException(status_code=429, detail="slow down")


@pytest.fixture
def rate_limited_app(container: Container) -> Iterator[TestClient]:
    """The app with one more dependency on each shadowed route (as a rate limit added
    tomorrow would be), before it serves its first request."""
    clean(container)
    app = create_app(container)
    shadowed = {(e.method, e.path) for e in FAST_PATHS}
    for context in iter_route_contexts(app.routes):
        for method in context.methods or ():
            if (method, context.path_format) in shadowed:
                context.dependant.dependencies.append(
                    get_parameterless_sub_dependant(
                        depends=Depends(_limited), path=context.path_format
                    )
                )
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {new_user(container, 'tester', ['admin'])}"
        yield client


def test_a_route_with_a_dependency_it_does_not_check_is_not_shadowed(
    rate_limited_app: TestClient,
) -> None:
    client = rate_limited_app
    url = f"{API}/customers/{NEW_ID}"
    assert client.get(url, params={"entity": "DE01"}).status_code == 429
    assert client.patch(url, json={"notes": "x"}).status_code == 429
    assert client.post(f"{API}/match", json={"name": "Acme"}).status_code == 429
    assert sum(fast_path_answers(client).values()) == 0


def test_with_dependencies_replaced_the_route_answers(client: TestClient) -> None:
    app: Any = client.app
    app.dependency_overrides[_limited] = _limited
    try:
        response = client.post(f"{API}/match", json={"name": "Acme"})
    finally:
        app.dependency_overrides.clear()
    assert response.status_code == 200
    assert sum(fast_path_answers(client).values()) == 0


def test_the_fast_path_is_on_by_default_and_in_the_tests(client: TestClient) -> None:
    assert client.post(f"{API}/match", json={"name": "Acme"}).status_code == 200
    assert fast_path_answers(client)[MATCH] == 1
