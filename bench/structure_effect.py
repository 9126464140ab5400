"""What listing a structure change's effect costs: a legal-hierarchy move submitted under
the approval policy (planned, its effect computed: inherited fields of the moved subtree,
roll-ups of both trees) next to the same tree's roll-up read (loading the hierarchy and
the tree's customers, the floor of any effect) in the same run.

    PYTHONPATH=src python bench/structure_effect.py [--groups 100] [--per-group 100]

A SQLite file in a temporary directory; prints milliseconds per operation (median of the
runs). Not a test: nothing asserts a timing.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from custmaster.bootstrap import build_container
from custmaster.config import Settings
from custmaster.domain.approvals import Operation
from custmaster.domain.hierarchy import HierarchyLink
from custmaster.services.approval_policy_loader import load_policy
from custmaster.services.auth import add_user
from custmaster.services.customer_queries import CustomerQuery
from custmaster.services.demo import load_demo
from custmaster.services.recording import utcnow
from custmaster.services.structure.governed import submit
from custmaster.services.structure.hierarchies import rollup
from custmaster.services.structure.ports import StoredLink

DIRECT = Path(__file__).resolve().parents[1] / "tests" / "policies" / "direct.yaml"


def timed(runs: int, action: Callable[[int], Any]) -> float:
    laps = []
    for run in range(runs):
        start = time.perf_counter()
        action(run)
        laps.append((time.perf_counter() - start) * 1000)
    return statistics.median(laps)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--per-group", type=int, default=100)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    total = 1 + args.groups * (1 + args.per_group)
    with tempfile.TemporaryDirectory() as tmp:
        container = build_container(Settings(database_url=f"sqlite:///{tmp}/bench.db"))
        actor = container.system_principal()
        load_demo(container.uow, actor, container.service_settings, customers=total)
        for user, role in (("bob", "ar_manager"), ("carol", "controller")):
            add_user(container.uow(), actor, user, roles=[role])
        with container.uow().read_only() as read:
            ids = [c.id for c in read.customers.search(CustomerQuery(status=None, limit=total))]
        root, rest = ids[0], ids[1:total]
        groups = rest[: args.groups]
        day0 = date(2026, 1, 1)
        uow = container.uow()
        with uow:
            now = utcnow()
            for group in groups:
                uow.structure.add_link(
                    StoredLink(uuid4(), HierarchyLink("legal", root, group, day0)), now
                )
            leaves = rest[args.groups :]
            for i, leaf in enumerate(leaves):
                parent = groups[i % len(groups)]
                uow.structure.add_link(
                    StoredLink(uuid4(), HierarchyLink("legal", parent, leaf, day0)), now
                )
        moving: UUID = groups[0]

        def read_rollup(run: int) -> None:
            rollup(container.uow(), actor, root, hierarchy_type="legal")

        def move(policy_path: Path | None) -> Callable[[int], None]:
            policy = load_policy(policy_path)

            def act(run: int) -> None:
                target = groups[1 + (run % 2)]
                day = day0 + timedelta(days=10 * (run + 1) + (0 if policy_path else 500))
                submit(
                    container.uow(),
                    actor,
                    policy,
                    Operation.HIERARCHY_MOVE,
                    {
                        "hierarchy_type": "legal",
                        "customer_id": str(moving),
                        "new_parent_id": str(target),
                        "effective_date": day.isoformat(),
                    },
                )

            return act

        base = timed(args.runs, read_rollup)
        pending = timed(args.runs, move(None))
        applied = timed(args.runs, move(DIRECT))
        print(f"legal hierarchy: {total} customers, {args.groups} groups of {args.per_group}")
        print(f"  roll-up read of the root (same-run baseline): {base:8.1f} ms")
        print(f"  move submitted, yellow (plan + effect + request): {pending:8.1f} ms")
        print(f"  move submitted, green (plan + effect + apply): {applied:8.1f} ms")
        container.engine.dispose()


if __name__ == "__main__":
    main()
