"""Fixtures of the import job tests: uploaded files under a temporary directory, the
reference data the shipped samples need, and the submitter and approver principals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from custmaster.bootstrap import Container
from custmaster.domain.permissions import Principal, Role
from custmaster.services.reference import create_reference
from tests.conftest import clean, restore
from tests.factories import REFERENCE

#: Codes the D365 sample uses beyond DESIGN.md's reference data.
EXTRA_REFERENCE: dict[str, list[dict[str, object]]] = {
    "customer-groups": [{"code": c, "name": f"D365 group {c}"} for c in ("10", "20", "30")],
    "payment-methods": [{"code": "CHEQUE", "name": "Cheque"}],
}
SAMPLES = Path(__file__).resolve().parents[4] / "shared" / "samples"
if not SAMPLES.is_dir():
    SAMPLES = Path("/work/shared/samples")

SUBMITTER = Principal("steward", "Stella Steward", frozenset({Role.DATA_STEWARD}))
APPROVER = Principal("manager", "Manny Manager", frozenset({Role.AR_MANAGER}))


@pytest.fixture(autouse=True)
def import_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "uploads"
    monkeypatch.setenv("CUSTMASTER_IMPORT_DIR", str(folder))
    return folder


def seed_all_reference(container: Container) -> None:
    uow = container.uow()
    with uow:
        for source in (REFERENCE, EXTRA_REFERENCE):
            for path, records in source.items():
                for record in records:
                    create_reference(
                        uow, container.system_principal(), path.replace("-", "_"), dict(record)
                    )


@pytest.fixture
def db(container: Container) -> Iterator[Container]:
    """Empty tables with the reference data in place (made once per session and
    database, then copied: ``tests.conftest.restore``)."""
    clean(container)
    restore(container, "imports-reference", _seeded)
    yield container


def _seeded(container: Container) -> None:
    seed_all_reference(container)
