"""Training data for the matcher: the source records' match features.

Once imported, duplicates no longer exist among the golden records (an exact e-mail or
tax-id hit was consolidated), so a model estimated on the golden records sees no
agreement on those keys. The source records keep every record as it arrived, duplicates
included: estimate on them. For the batch run's trainer (``match run --train``, owned by
the matcher's maintainers): ``trainer(source_features(...), population)``.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from custmaster.domain.permissions import Permission, Principal, require
from custmaster.matching.record import MatchFeatures
from custmaster.services.dedup.records import features_from_json
from custmaster.services.ports import UnitOfWork


def source_features(
    new_uow: Callable[[], UnitOfWork],
    actor: Principal,
    *,
    sample: int | None = None,
    batch_size: int = 20_000,
    seed: int = 7,
) -> list[MatchFeatures]:
    """The match features of every source record (ids: the source records'), or a
    seeded random ``sample`` of them."""
    require(actor, Permission.MERGE_PROPOSE)
    found: list[MatchFeatures] = []
    uow = new_uow()
    with uow.read_only():
        for batch in uow.sources.iter_features(batch_size):
            found.extend(features_from_json({**f, "id": str(i)}) for i, f in batch)
    if sample is not None and len(found) > sample:
        found = random.Random(seed).sample(found, sample)
    return found
