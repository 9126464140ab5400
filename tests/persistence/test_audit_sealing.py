"""The audit log is appended unsealed and sealed after commit, chained in the order of
sealing (chain_seq); the database lets an entry be sealed once and refuses the rest."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, MetaData, Table, select, text
from sqlalchemy.exc import DBAPIError

from custmaster.bootstrap import Container
from custmaster.domain.audit_chain import GENESIS_HASH, canonical_text, entry_hash
from custmaster.persistence.audit import (
    AuditSealer,
    SqlAuditLog,
    _canonical_changes,
    _fast_plain,
    seal_pending,
)
from custmaster.persistence.audit_guard import SEALED_COLUMNS, SEALING_COLUMNS, suspended_guard
from custmaster.persistence.tables import audit_log
from custmaster.services.audit import verify_audit
from custmaster.services.ports import AuditEntry
from tests.conftest import clean, new_user
from tests.factories import minimal


@pytest.fixture
def db(container: Container) -> Iterator[Container]:
    clean(container)
    yield container
    clean(container)


def _entry(name: str) -> AuditEntry:
    return AuditEntry(
        occurred_at=datetime(2026, 11, 23, 12, 0, tzinfo=UTC),
        actor_id="tester",
        actor_name="Tester",
        operation="update",
        resource_type="customer",
        resource_id=name,
        changes=[{"field": "notes", "before": None, "after": f"note {name}", "n": 1.5}],
    )


def _append(connection: Connection, *names: str) -> None:
    SqlAuditLog(connection).append_many([_entry(n) for n in names])


def _rows(db: Container) -> list[dict[str, Any]]:
    with db.engine.connect() as connection:
        return [
            dict(row._mapping)
            for row in connection.execute(select(audit_log).order_by(audit_log.c.id))
        ]


def _seal(db: Container) -> int:
    with db.engine.begin() as connection:
        return seal_pending(connection)


def _check_chain(rows: list[dict[str, Any]]) -> None:
    """``rows`` in chain order form the chain from the genesis hash."""
    previous = GENESIS_HASH
    for row in rows:
        content = {
            k: row[k]
            for k in (
                "occurred_at",
                "actor_id",
                "actor_name",
                "operation",
                "resource_type",
                "resource_id",
                "change_request_id",
                "changes",
            )
        }
        assert row["prev_hash"] == previous
        assert row["hash"] == entry_hash(content, previous)
        previous = row["hash"]


def test_entries_are_appended_unsealed_and_sealed_in_chain_order(db: Container) -> None:
    with db.engine.begin() as connection:
        _append(connection, "a", "b")
    with db.engine.begin() as connection:
        _append(connection, "c")
    assert all(r["hash"] is None and r["prev_hash"] is None for r in _rows(db))
    assert _seal(db) == 3
    assert _seal(db) == 0  # nothing left
    rows = sorted(_rows(db), key=lambda r: r["chain_seq"])
    assert [r["resource_id"] for r in rows] == ["a", "b", "c"]
    _check_chain(rows)
    with db.engine.begin() as connection:
        _append(connection, "d")
    assert _seal(db) == 1
    _check_chain(sorted(_rows(db), key=lambda r: r["chain_seq"]))
    assert verify_audit(db.uow(), db.system_principal()).ok


def test_an_entry_committed_late_is_chained_after_those_sealed_before(db: Container) -> None:
    """PostgreSQL: the older transaction (lower id, lower entry id) commits after a newer
    one whose entry is sealed meanwhile; its entry is chained after, by chain_seq."""
    if db.is_sqlite:
        pytest.skip("SQLite serialises writers")
    with db.engine.connect() as older, db.engine.connect() as newer:
        older.begin()
        _append(older, "older")
        newer.begin()
        _append(newer, "newer")
        newer.commit()
        assert _seal(db) == 1  # the older entry is not committed: not visible yet
        older.commit()
    assert _seal(db) == 1
    rows = sorted(_rows(db), key=lambda r: r["chain_seq"])
    assert [(r["resource_id"], r["chain_seq"]) for r in rows] == [("newer", 1), ("older", 2)]
    assert rows[0]["id"] > rows[1]["id"]  # id order is not the chain order here
    _check_chain(rows)
    assert verify_audit(db.uow(), db.system_principal()).ok


def test_sealers_run_one_at_a_time(db: Container) -> None:
    """A second sealer waits for the first (PostgreSQL: advisory lock; SQLite: write lock)
    and then chains on from the first's tail."""
    with db.engine.begin() as connection:
        _append(connection, "a")
    if db.is_sqlite:
        first_sealed = _seal(db)
        with db.engine.begin() as connection:
            _append(connection, "b")
        assert (first_sealed, _seal(db)) == (1, 1)
    else:
        with db.engine.connect() as first:
            first.begin()
            assert seal_pending(first) == 1
            with db.engine.begin() as connection:
                _append(connection, "b")
            with db.engine.connect() as second:
                second.begin()
                second.execute(text("SET LOCAL lock_timeout = '200ms'"))
                with pytest.raises(DBAPIError, match="lock timeout"):
                    seal_pending(second)  # waits for the first sealer's lock
                second.rollback()
            first.commit()
        assert _seal(db) == 1
    rows = sorted(_rows(db), key=lambda r: r["chain_seq"])
    assert [(r["resource_id"], r["chain_seq"]) for r in rows] == [("a", 1), ("b", 2)]
    _check_chain(rows)


def test_an_entry_is_sealed_once_and_nothing_else_changes(db: Container) -> None:
    with db.engine.begin() as connection:
        _append(connection, "a", "b")
    first, second = _rows(db)
    for statement in (
        # sealing may not change the content, nor leave out a sealing column
        "UPDATE audit_log SET chain_seq = 1, hash = 'x', prev_hash = 'y', actor_name = 'm'"
        " WHERE id = :id",
        "UPDATE audit_log SET chain_seq = 1, hash = 'x' WHERE id = :id",
        "UPDATE audit_log SET hash = 'x', prev_hash = 'y' WHERE id = :id",
    ):
        with db.engine.begin() as connection, pytest.raises(DBAPIError, match="append-only"):
            connection.execute(text(statement), {"id": first["id"]})
    _seal(db)
    for statement in (
        # a second seal
        "UPDATE audit_log SET chain_seq = 99, hash = 'x', prev_hash = 'y' WHERE id = :id",
        "UPDATE audit_log SET hash = 'x' WHERE id = :id",
        "UPDATE audit_log SET chain_seq = NULL, hash = NULL, prev_hash = NULL"
        " WHERE id = :id",  # unsealing
        "UPDATE audit_log SET actor_name = 'mallory' WHERE id = :id",
        "DELETE FROM audit_log WHERE id = :id",
    ):
        with db.engine.begin() as connection, pytest.raises(DBAPIError, match="append-only"):
            connection.execute(text(statement), {"id": second["id"]})
    assert verify_audit(db.uow(), db.system_principal()).ok


def test_the_sealing_exception_names_every_other_column(db: Container) -> None:
    reflected = Table("audit_log", MetaData(), autoload_with=db.engine)
    assert set(SEALED_COLUMNS) == {c.name for c in reflected.c} - set(SEALING_COLUMNS)


def test_verify_seals_first_and_names_an_entry_taken_out_of_the_chain(db: Container) -> None:
    with db.engine.begin() as connection:
        _append(connection, "a", "b", "c")
    result = verify_audit(db.uow(), db.system_principal())  # seals first
    assert result.ok and result.checked == 3
    middle, last = sorted(_rows(db), key=lambda r: r["chain_seq"])[1:]
    with db.engine.begin() as connection, suspended_guard(connection):
        connection.execute(
            text(
                "UPDATE audit_log SET chain_seq = NULL, hash = NULL, prev_hash = NULL"
                " WHERE id = :id"
            ),
            {"id": middle["id"]},
        )
    broken = verify_audit(db.uow(), db.system_principal())  # re-sealed at the end
    assert not broken.ok and broken.first_bad_id == str(last["id"])


def _hashes(container: Container, resource_id: str) -> list[str | None]:
    with container.engine.connect() as connection:
        return list(
            connection.execute(
                select(audit_log.c.hash).where(audit_log.c.resource_id == resource_id)
            ).scalars()
        )


def test_with_no_delay_a_write_through_the_api_seals_its_entry_before_the_answer(
    app: Any, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(container.settings, "audit_seal_delay_seconds", 0)
    key = new_user(container, "tester", ["admin"])
    requests: list[AuditSealer] = []
    real = AuditSealer.request

    def counted(self: AuditSealer) -> None:
        requests.append(self)
        real(self)

    monkeypatch.setattr(AuditSealer, "request", counted)
    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {key}"
        _owning_entity(client)
        requests.clear()
        created = client.post("/api/v1/customers", json=minimal())
        assert created.status_code == 201, created.text
        assert len(requests) == 1  # after the commit that appended the entry
        assert client.get(f"/api/v1/customers/{created.json()['id']}").status_code == 200
        assert len(requests) == 1  # reads append nothing, seal nothing
        hashes = _hashes(container, created.json()["id"])
        assert hashes
        assert None not in hashes  # sealed before the answer


def test_a_serving_app_seals_its_writers_entries_in_the_background(
    app: Any, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """By default the answer does not wait for sealing: the background pass seals the
    entry after the delay (here longer than the test), and the last pass when the app
    stops seals what is left."""
    monkeypatch.setattr(container.settings, "audit_seal_delay_seconds", 30)
    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {new_user(container, 'tester', ['admin'])}"
        _owning_entity(client)
        created = client.post("/api/v1/customers", json=minimal())
        assert created.status_code == 201, created.text
        customer_id = created.json()["id"]
        patched = client.patch(f"/api/v1/customers/{customer_id}", json={"notes": "n"})
        assert patched.status_code == 200, patched.text
        assert _hashes(container, customer_id) == [None, None]  # answered before sealing
    hashes = _hashes(container, customer_id)
    assert len(hashes) == 2 and None not in hashes
    assert verify_audit(container.uow(), container.system_principal()).ok


def _wait_sealed(db: Container, count: int, timeout: float = 30) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while (rows := _rows(db)) and any(r["hash"] is None for r in rows[:count]):
        if time.monotonic() > deadline:
            break
        time.sleep(0.02)
    return rows


def test_a_deferred_sealer_seals_on_its_thread_after_the_delay(db: Container) -> None:
    sealer = AuditSealer(db.engine)
    with sealer.deferred(0.05), sealer.deferred(0.05):  # nested: one thread
        with db.engine.begin() as connection:
            _append(connection, "a", "b")
        sealer.request()
        assert [r["hash"] for r in _rows(db)] == [None, None]  # request() returned at once
        rows = _wait_sealed(db, 2)
        assert [r["chain_seq"] for r in rows] == [1, 2]
        with db.engine.begin() as connection:
            _append(connection, "c")
        sealer.request()
    # leaving the last deferral ran a final pass: nothing left unsealed
    assert [r["chain_seq"] for r in _rows(db)] == [1, 2, 3]
    with db.engine.begin() as connection:
        _append(connection, "d")
    sealer.request()  # not deferred any more: seals in line
    assert _rows(db)[-1]["chain_seq"] == 4
    assert verify_audit(db.uow(), db.system_principal()).ok


@pytest.mark.parametrize("count", [3, 12])  # a plain INSERT below bulk's COPY threshold
def test_entries_appended_sealed_chain_on_after_the_pending_ones(db: Container, count: int) -> None:
    """``append_sealed`` (a bulk writer): the committed unsealed entries are sealed first,
    the new ones chained after them as they are written; each row's hash is the one
    ``audit_chain.entry_hash`` gives its content (in hand and as read back)."""
    with db.engine.begin() as connection:
        _append(connection, "pending")
    odd = [
        _entry(f"e{i}")
        if i % 3
        else AuditEntry(
            occurred_at=datetime(2026, 11, 24, 1, 2, 3, 456789, tzinfo=UTC),
            actor_id="importer",
            actor_name="Zoë Ümlaut",
            operation="create",
            resource_type="customer",
            resource_id=f"e{i}",
            change_request_id=uuid4(),
            changes=[
                {"field": "name", "before": None, "after": "Société Générale ✓"},
                {"field": "credit_limit", "before": None, "after": Decimal("100.50")},
                {
                    "field": "addresses",
                    "before": None,
                    "after": [{"lines": ["a", "b"], "n": 2, "x": 0.1, "ok": True}],
                },
            ],
        )
        for i in range(count)
    ]
    with db.engine.begin() as connection:
        SqlAuditLog(connection).append_sealed(odd)
    rows = sorted(_rows(db), key=lambda r: r["chain_seq"])
    assert [r["resource_id"] for r in rows] == ["pending"] + [f"e{i}" for i in range(count)]
    assert [r["chain_seq"] for r in rows] == list(range(1, count + 2))
    _check_chain(rows)
    previous = rows[0]["hash"]
    for entry, row in zip(odd, rows[1:], strict=True):
        content = {
            k: getattr(entry, k)
            for k in (
                "occurred_at",
                "actor_id",
                "actor_name",
                "operation",
                "resource_type",
                "resource_id",
                "change_request_id",
                "changes",
            )
        }
        assert row["hash"] == entry_hash(content, previous)
        previous = row["hash"]
    assert rows[1]["changes"][1]["after"] == "100.5"  # stored as hashed (canonical)
    with db.engine.begin() as connection:
        _append(connection, "after")
    assert _seal(db) == 1  # a sealer continues after them
    _check_chain(sorted(_rows(db), key=lambda r: r["chain_seq"]))
    assert verify_audit(db.uow(), db.system_principal()).ok


def _owning_entity(client: TestClient) -> None:
    """The legal entity ``minimal()`` customers belong to (every customer needs one)."""
    entity = {"code": "US01", "name": "Acme US Inc.", "country": "US", "currency": "USD"}
    assert client.post("/api/v1/legal-entities", json=entity).status_code == 201


def test_changes_are_encoded_as_their_plain_copy_would_be() -> None:
    """The bulk writer's one-pass encoding of a change list is the canonical text of its
    plain copy (``_fast_plain``), also for values that are not JSON-native."""
    when = datetime(2026, 11, 24, 1, 2, 3, 456789, tzinfo=UTC)
    changes: list[dict[str, Any]] = [
        {"field": "name", "before": "Zoë", "after": "Société Générale ✓ \u2028"},
        {"field": "credit_limit", "before": Decimal("1E+3"), "after": Decimal("100.50")},
        {"field": "id", "before": None, "after": uuid4()},
        {"field": "at", "before": when, "after": when.date()},
        {"field": "tags", "before": {"b", "a"}, "after": ("x", 1, 2.5, True, None)},
        {"field": "nested", "before": {"z": [{"y": Decimal("2")}], "a": {}}, "after": []},
    ]
    assert _canonical_changes(changes) == canonical_text(_fast_plain(changes))
