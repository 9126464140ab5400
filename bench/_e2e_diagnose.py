"""Where the end-to-end pipeline loses pairs the matcher finds (``match_eval_e2e
--diagnose``): every true pair the matcher run directly puts in one cluster but the
pipeline does not, counted by where it was lost.

The owners before ``match run`` (a source record's golden record, or the record itself
while pending) and the run's clusters are read from the database; each lost pair is
classed as:

  * ``same owner before the run``: the import had joined them (cannot be lost later);
  * ``auto_merge cluster <status>``: both owners in one auto-merge cluster that did not
    settle (still open: a merge or a pending record's settlement failed);
  * ``review cluster``: both owners in one cluster proposed for review only;
  * ``different clusters``: both clustered, apart;
  * ``not linked (<kinds>)``: no cluster holds both; kinds say whether each owner was a
    golden record (``golden``: with how many source records) or a pending record.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from itertools import combinations
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.engine import Engine

from custmaster.persistence.tables_sources import source_records
from custmaster.services.ports import UnitOfWork

Pair = tuple[str, str]


def owners(engine: Engine) -> dict[str, tuple[str, bool]]:
    """source id -> (owner id, pending?) as the records stand now."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                source_records.c.source_id,
                source_records.c.golden_id,
                source_records.c.pending_group,
                source_records.c.id,
            )
        ).all()
    return {str(s): (str(g or p or r), g is None) for s, g, p, r in rows}


def run_clusters(new_uow: Callable[[], UnitOfWork]) -> list[Any]:
    uow = new_uow()
    out: list[Any] = []
    after = None
    with uow.read_only():
        while True:
            page = uow.matching.list_clusters(None, after, 1000)
            out.extend(page)
            if len(page) < 1000:
                break
            after = page[-1].id
    return out


def diagnose(
    before: dict[str, tuple[str, bool]],
    clusters: list[Any],
    after: dict[str, tuple[str, bool]],
    direct: list[list[str]],
    gold: set[Pair],
) -> None:
    pipeline = {}
    for sid, (owner, _) in after.items():
        pipeline.setdefault(owner, set()).add(sid)
    found = {tuple(sorted(p)) for c in pipeline.values() for p in combinations(sorted(c), 2)}
    matcher = {tuple(sorted(p)) for c in direct for p in combinations(sorted(c), 2)}
    lost = sorted((matcher & gold) - found)
    extra = sorted((found & gold) - matcher)
    size = Counter(owner for owner, _ in before.values())
    latest = max(
        (c.run_id for c in clusters if c.run_id is not None),
        default=None,
        key=lambda r: max(c.id for c in clusters if c.run_id == r),
    )
    of: dict[str, list[Any]] = {}
    for c in clusters:
        if c.run_id == latest:
            for m in c.members:
                of.setdefault(m, []).append(c)
    why: Counter[str] = Counter()
    unsettled: dict[int, Any] = {}
    for a, b in lost:
        (oa, pa), (ob, pb) = before[a], before[b]
        if oa == ob:
            why["same owner before the run"] += 1
            continue
        shared = [c for c in of.get(oa, []) if c in of.get(ob, [])]
        if shared:
            c = shared[0]
            if c.proposal == "auto_merge":
                why[f"auto_merge cluster {c.status}"] += 1
                unsettled[c.id] = c
            else:
                why[f"review cluster {c.status}"] += 1
        elif of.get(oa) and of.get(ob):
            why["different clusters"] += 1
        else:
            kinds = sorted(
                "pending" if p else f"golden({min(size[o], 3)}{'+' if size[o] > 3 else ''})"
                for o, p in ((oa, pa), (ob, pb))
            )
            clustered = "one clustered" if of.get(oa) or of.get(ob) else "neither clustered"
            why[f"not linked ({' + '.join(kinds)}; {clustered})"] += 1
    print(
        f"  diagnose: {len(matcher & gold)} true pairs in the matcher's clusters, "
        f"{len(found & gold)} in the pipeline's; lost {len(lost)}, "
        f"found only by the pipeline {len(extra)}"
    )
    for reason, count in why.most_common():
        print(f"    {count:>5}  {reason}")
    pending_left = sum(1 for _, p in after.values() if p)
    print(f"    pending source records left after the run: {pending_left}")
    if unsettled:
        kinds: Counter[str] = Counter()
        for c in unsettled.values():
            pend = sum(1 for m in c.members if before_kind(before, m))
            kinds[f"{len(c.members)} members, {pend} pending"] += 1
        print(f"    unsettled auto_merge clusters: {dict(kinds.most_common())}")


def before_kind(before: dict[str, tuple[str, bool]], member: str) -> bool:
    """Whether a cluster member was a pending record."""
    return any(o == member and p for o, p in before.values())


__all__ = ["UUID", "diagnose", "owners", "run_clusters"]
