"""Training data for the matcher: every form of every record, the source records' too.

Once imported, many duplicates no longer exist among the golden records (an exact e-mail
or tax-id hit was consolidated), so a model estimated on the golden records alone sees
little agreement on those keys. The source records keep every record as it arrived:
``custmaster match train`` (``services.dedup.models.train_version``) estimates on the
match index (golden and pending records) plus each distinct form a golden record's
source records gave it (``services.sources.variants``), the same records the batch run
scores.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from custmaster.domain.permissions import Permission, Principal, require
from custmaster.matching.record import MatchFeatures
from custmaster.services.dedup.records import features_from_json
from custmaster.services.ports import UnitOfWork
from custmaster.services.sources.variants import load_variants


def training_features(uow: UnitOfWork, batch_size: int = 20_000) -> list[MatchFeatures]:
    """The indexed records' features and their source records' other forms (ids: the
    customers', pending records' and source records')."""
    with uow.read_only():
        feats = [
            features_from_json(record.features)
            for batch in uow.matching.iter_records(batch_size)
            for record in batch
        ]
        variants = load_variants(uow, {f.id: f for f in feats}, batch_size)
    return feats + variants.features


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
