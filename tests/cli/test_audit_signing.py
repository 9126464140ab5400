"""Signed audit entries and signed checkpoints through the CLI (``custmaster audit
keygen | checkpoint | verify``) and the API that writes the entries, on both databases:
an intact trail verifies; entries removed from the end (truncation), an entry inserted
that the sealer then chains, a copied entry and a chain rewritten before a checkpoint
are each detected and named; without a key, verify says what it cannot detect."""

from __future__ import annotations

import json
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, func, insert, select, update
from typer.testing import CliRunner

from custmaster.api.app import create_app
from custmaster.bootstrap import Container
from custmaster.domain.audit_chain import entry_hash
from custmaster.domain.audit_signing import CHECKPOINT_EVENT_TYPE, AuditKey
from custmaster.persistence.audit import seal_pending, use_audit_key
from custmaster.persistence.audit_guard import suspended_guard
from custmaster.persistence.tables import audit_log, outbox
from custmaster.services.audit_keys import load_key
from tests.factories import minimal

runner = CliRunner()
CONTENT = (
    "occurred_at",
    "actor_id",
    "actor_name",
    "operation",
    "resource_type",
    "resource_id",
    "change_request_id",
    "changes",
)


class Audit:
    """The CLI against the test database, with the key and checkpoint file in ``tmp``."""

    def __init__(self, container: Container, tmp: Path) -> None:
        self.container = container
        self.key_file = tmp / "audit.key"
        self.checkpoints = tmp / "checkpoints.jsonl"

    def run(self, *args: str, key: bool = True) -> tuple[int, str]:
        env = {
            "CUSTMASTER_AUDIT_KEY_FILE": str(self.key_file) if key else None,
            "CUSTMASTER_AUDIT_CHECKPOINT_FILE": str(self.checkpoints),
        }
        url = self.container.settings.database_url
        result = runner.invoke(
            _cli(), ["audit", *args, "--database-url", url], env=env, terminal_width=400
        )
        return result.exit_code, " ".join(result.output.split())

    def rows(self) -> list[dict[str, Any]]:
        """The chain (sealing first what the API's background sealer has not yet)."""
        with self.container.engine.begin() as connection:
            seal_pending(connection)
        with self.container.engine.connect() as connection:
            query = select(audit_log).where(audit_log.c.chain_seq.is_not(None))
            return [dict(r._mapping) for r in connection.execute(query.order_by("chain_seq"))]


def _cli() -> Any:
    from custmaster.cli.app import app

    return app


@pytest.fixture
def audit(client: TestClient, container: Container, tmp_path: Path) -> Iterator[Audit]:
    """A key made with ``custmaster audit keygen``, used by the API's writers."""
    made = Audit(container, tmp_path)
    result = runner.invoke(_cli(), ["audit", "keygen", str(made.key_file)])
    assert result.exit_code == 0, result.output
    key = load_key(made.key_file)
    use_audit_key(container.engine, key)
    container.audit_key = key
    yield made
    use_audit_key(container.engine, None)
    container.audit_key = None


def _customers(client: TestClient, *names: str) -> None:
    for name in names:
        response = client.post("/api/v1/customers", json=minimal(name, f"ap@{name}.example"))
        assert response.status_code == 201, response.text


def test_keygen_writes_a_key_readable_by_its_owner_only_and_never_overwrites(
    tmp_path: Path,
) -> None:
    path = tmp_path / "k"
    result = runner.invoke(_cli(), ["audit", "keygen", str(path)])
    assert result.exit_code == 0 and load_key(path).key_id in result.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    before = path.read_text()
    again = runner.invoke(_cli(), ["audit", "keygen", str(path)])
    assert again.exit_code == 1 and "never overwritten" in again.output
    assert path.read_text() == before


def test_an_intact_signed_trail_verifies_against_its_checkpoints(
    audit: Audit, client: TestClient
) -> None:
    _customers(client, "alpha", "beta")
    code, output = audit.run("checkpoint")
    assert code == 0, output
    lines = audit.checkpoints.read_text().splitlines()
    assert len(lines) == 1
    published = json.loads(lines[0])
    assert published["seq"] == len(audit.rows()) and published["hash"] == audit.rows()[-1]["hash"]
    with audit.container.engine.connect() as connection:
        events = connection.execute(
            select(outbox.c.envelope).where(outbox.c.type == CHECKPOINT_EVENT_TYPE)
        ).all()
    assert [e.envelope["data"] for e in events] == [published]
    signed = [row["signature"] is not None for row in audit.rows()]
    # the reference data seeded before the key was in use is not signed; all since are
    assert signed[signed.index(True) :] == [True] * (len(signed) - signed.index(True))
    assert audit.rows()[-1]["resource_type"] == "customer" and signed[-1]
    _customers(client, "gamma")
    code, output = audit.run("verify")
    assert code == 0, output
    assert "signatures valid" in output and "2 checkpoints hold" in output
    assert f"reaches the latest checkpoint (seq {published['seq']}" in output
    assert "entries sealed after the latest checkpoint are covered by their signatures" in output


def test_entries_removed_from_the_end_are_detected(audit: Audit, client: TestClient) -> None:
    _customers(client, "alpha", "beta", "gamma")
    assert audit.run("checkpoint")[0] == 0
    head = len(audit.rows())
    assert audit.run("verify")[0] == 0
    with audit.container.engine.begin() as connection, suspended_guard(connection):
        connection.execute(audit_log.delete().where(audit_log.c.chain_seq > head - 2))
        # the attacker also removes the checkpoints the database holds
        connection.execute(outbox.delete().where(outbox.c.type == CHECKPOINT_EVENT_TYPE))
    code, output = audit.run("verify")
    assert code == 1
    assert f"the chain ends at seq {head - 2} but the checkpoint" in output
    assert f"recorded seq {head}: entries were removed from the end (truncation)" in output


def _forge(connection: Connection, **values: Any) -> int:
    row = {
        "occurred_at": func.now(),
        "actor_id": "cfo",
        "actor_name": "The CFO",
        "operation": "update",
        "resource_type": "customer",
        "resource_id": "x",
        "changes": [{"field": "credit_limit", "before": "0", "after": "9999999"}],
        **values,
    }
    return int(
        connection.execute(insert(audit_log).values(row).returning(audit_log.c.id)).scalar_one()
    )


def test_an_entry_inserted_and_then_chained_by_the_sealer_is_detected(
    audit: Audit, client: TestClient
) -> None:
    _customers(client, "alpha")
    assert audit.run("checkpoint")[0] == 0
    with audit.container.engine.begin() as connection:
        forged = _forge(connection)  # no guard to lift: appending is allowed
    _customers(client, "beta")  # the sealer chains the forged entry with the real ones
    assert forged in {row["id"] for row in audit.rows()[:-1]}  # chained, real ones after it
    code, output = audit.run("verify")
    assert code == 1
    assert f"at entry {forged}: entry is not signed (written without the audit key" in output


def test_a_forged_signature_and_a_copied_entry_are_detected(
    audit: Audit, client: TestClient
) -> None:
    _customers(client, "alpha")
    genuine = audit.rows()[-1]
    with audit.container.engine.begin() as connection:
        forged = _forge(connection, signature=genuine["signature"])
    code, output = audit.run("verify")
    assert code == 1
    assert f"at entry {forged}: entry has a signature that does not match its content" in output
    with audit.container.engine.begin() as connection, suspended_guard(connection):
        connection.execute(audit_log.delete().where(audit_log.c.id == forged))
    assert audit.run("verify")[0] == 0
    with audit.container.engine.begin() as connection:
        copy = _forge(connection, **{k: genuine[k] for k in (*CONTENT, "signature")})
    code, output = audit.run("verify")
    assert code == 1
    assert f"entry {copy} carries the signature of entry {genuine['id']} (a copied entry" in output


def test_signatures_stripped_to_pass_entries_off_as_unsigned_are_detected(
    audit: Audit, client: TestClient
) -> None:
    """Entries before the first signed one are accepted unsigned (written before the key
    was in use); stripping every signature does not make the trail look like that."""
    _customers(client, "alpha")
    assert audit.run("checkpoint")[0] == 0
    first_signed = next(row for row in audit.rows() if row["signature"] is not None)
    with audit.container.engine.begin() as connection, suspended_guard(connection):
        connection.execute(update(audit_log).values(signature=None))
        forged = _forge(connection)
    code, output = audit.run("verify")
    assert code == 1
    assert f"at entry {first_signed['id']}: entry is not signed" in output
    assert forged  # chained after the stripped ones, never reached


def test_a_chain_rewritten_before_a_checkpoint_is_detected(
    audit: Audit, client: TestClient
) -> None:
    """An attacker deletes an entry in the middle and recomputes every hash after it:
    the chain and the signatures fit again, the checkpoint does not."""
    _customers(client, "alpha", "beta", "gamma")
    assert audit.run("checkpoint")[0] == 0
    checkpointed = audit.rows()[-1]
    _customers(client, "delta")
    assert audit.run("checkpoint")[0] == 0
    rows = audit.rows()
    at = [row["id"] for row in rows].index(checkpointed["id"]) - 1  # the entry before it
    with audit.container.engine.begin() as connection, suspended_guard(connection):
        connection.execute(audit_log.delete().where(audit_log.c.id == rows[at]["id"]))
        previous = rows[at - 1]["hash"]
        for seq, row in enumerate(rows[at + 1 :], start=rows[at]["chain_seq"]):
            digest = entry_hash({k: row[k] for k in CONTENT}, previous)
            connection.execute(
                update(audit_log)
                .where(audit_log.c.id == row["id"])
                .values(chain_seq=seq, prev_hash=previous, hash=digest)
            )
            previous = digest
    code, output = audit.run("verify")
    assert code == 1
    # the entry now at the checkpoint's seq is the one after it, with another hash
    assert (
        f"entry is at seq {checkpointed['chain_seq']} but does not have the hash the checkpoint"
    ) in output
    assert "recorded there (entries before it were removed or inserted" in output


def test_entries_from_before_the_key_are_counted_not_condemned(
    client: TestClient, container: Container, tmp_path: Path
) -> None:
    _customers(client, "before")  # written without a key
    made = Audit(container, tmp_path)
    made.key_file.write_text(AuditKey.generate().to_text())
    use_audit_key(container.engine, load_key(made.key_file))
    try:
        _customers(client, "after")
        assert made.run("checkpoint")[0] == 0
        code, output = made.run("verify")
    finally:
        use_audit_key(container.engine, None)
    assert code == 0, output
    assert "written before signing began" in output


def test_verify_without_a_key_explains_what_it_does_not_detect(
    client: TestClient, container: Container, tmp_path: Path
) -> None:
    _customers(client, "alpha")
    made = Audit(container, tmp_path)
    code, output = made.run("verify", key=False)
    assert code == 0, output
    assert "audit chain intact" in output and "hash chain only" in output
    assert "no audit key (CUSTMASTER_AUDIT_KEY_FILE)" in output
    assert "does NOT detect entries removed from the end (truncation)" in output
    assert "nor an entry inserted that the sealer then chains" in output
    code, output = made.run("checkpoint", key=False)
    assert code == 1 and "no audit key" in output


def test_a_serving_app_publishes_checkpoints_as_its_chain_grows(
    audit: Audit, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = container.settings.model_copy(
        update={
            "audit_checkpoint_interval_seconds": 0.05,
            "audit_checkpoint_file": audit.checkpoints,
        }
    )
    monkeypatch.setattr(container, "settings", settings)
    with TestClient(create_app(container), raise_server_exceptions=False) as served:
        served.headers["Authorization"] = audit_client_key(container)
        _customers(served, "alpha")
        deadline = time.monotonic() + 30  # bounded: a checkpoint is due every 50 ms
        while time.monotonic() < deadline and _published_seq(audit) != len(audit.rows()):
            time.sleep(0.05)
    assert _published_seq(audit) == len(audit.rows()) > 0
    assert audit.run("verify")[0] == 0


def _published_seq(audit: Audit) -> int | None:
    if not audit.checkpoints.exists():
        return None
    lines = audit.checkpoints.read_text().splitlines()
    return int(json.loads(lines[-1])["seq"]) if lines else None


def audit_client_key(container: Container) -> str:
    from tests.conftest import new_user

    return f"Bearer {new_user(container, 'served', ['admin'])}"


def test_a_bad_key_file_refuses_to_start(tmp_path: Path, container: Container) -> None:
    made = Audit(container, tmp_path)
    made.key_file.write_text("not a key\n")
    code, output = made.run("verify")
    assert code == 2 and "CUSTMASTER_AUDIT_KEY_FILE" in output and "64 hexadecimal" in output
