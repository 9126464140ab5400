"""What signing audit entries costs: appending, sealing and verifying N entries on a
scratch SQLite database, without a key (the same-run baseline) and with one.

    PYTHONPATH=src python bench/audit_signing.py [--entries 5000] [--rounds 3]

Prints microseconds per entry for each phase, best of the rounds (the machine may be
shared). Nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from custmaster.domain.audit_signing import AuditKey
from custmaster.persistence.audit import SqlAuditLog, seal_pending, use_audit_key
from custmaster.persistence.engine import make_engine
from custmaster.persistence.migrate import upgrade
from custmaster.persistence.uow import SqlUnitOfWork
from custmaster.services.ports import AuditEntry


def _entry(n: int) -> AuditEntry:
    return AuditEntry(
        occurred_at=datetime.now(UTC),
        actor_id="bench",
        actor_name="Bench",
        operation="update",
        resource_type="customer",
        resource_id=f"c-{n}",
        changes=[
            {"field": "notes", "before": None, "after": f"note {n} " + "x" * 120},
            {"field": "credit_limit", "before": "1000", "after": "2500.50"},
        ],
    )


def _round(directory: Path, entries: int, key: AuditKey | None) -> dict[str, float]:
    engine = make_engine(f"sqlite:///{directory / f'bench-{time.monotonic_ns()}.db'}")
    upgrade(engine)
    use_audit_key(engine, key)
    figures: dict[str, float] = {}
    started = time.perf_counter()
    for n in range(entries):  # one entry per transaction, as a request writes it
        with engine.begin() as connection:
            SqlAuditLog(connection).append_many([_entry(n)])
    figures["append"] = time.perf_counter() - started
    started = time.perf_counter()
    with engine.begin() as connection:
        seal_pending(connection)
    figures["seal"] = time.perf_counter() - started
    uow = SqlUnitOfWork(engine)
    started = time.perf_counter()
    with uow.read_only():
        result = uow.audit.verify() if key is None else uow.audit.verify_signed(key, []).result
    figures["verify"] = time.perf_counter() - started
    assert result.ok, result
    engine.dispose()
    return {phase: seconds / entries * 1e6 for phase, seconds in figures.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    key = AuditKey.generate()
    best: dict[str, dict[str, float]] = {"no key": {}, "signed": {}}
    with tempfile.TemporaryDirectory() as scratch:
        for _ in range(args.rounds):  # interleaved, so load changes hit both alike
            for label, used in (("no key", None), ("signed", key)):
                for phase, micros in _round(Path(scratch), args.entries, used).items():
                    best[label][phase] = min(best[label].get(phase, micros), micros)
    print(f"{args.entries} entries, best of {args.rounds} rounds (µs per entry)")
    print(f"{'phase':<8} {'no key':>10} {'signed':>10} {'extra':>10}")
    for phase in ("append", "seal", "verify"):
        plain, signed = best["no key"][phase], best["signed"][phase]
        print(f"{phase:<8} {plain:>10.1f} {signed:>10.1f} {signed - plain:>+10.1f}")


if __name__ == "__main__":
    main()
