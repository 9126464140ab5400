"""Versioned match models: train one from the data being matched (and the stewards'
decisions), store it with its training report, read the current one.

``custmaster match train`` and ``POST /api/v1/match/models`` call :func:`train_version`;
the online matcher and ``custmaster match run`` use the current (highest) version
(:func:`current_model_and_version`).

Interface for other pipelines (source records, drafts): call :func:`train_version`
with a unit-of-work factory and a principal holding ``merge.propose``; it reads the
prepared features of the match index (``uow.matching.iter_records``), so anything indexed
there is trained on. For features gathered elsewhere, call
:func:`custmaster.matching.training.train` directly and store the result with
:func:`store_version`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from custmaster.domain.errors import NotFound
from custmaster.domain.permissions import Permission, Principal, require
from custmaster.matching.compare import COMPARISONS, NULL_LEVEL
from custmaster.matching.model import DEFAULT_MODEL, MatchModel
from custmaster.matching.training import LabelledPair, TrainedModel, train
from custmaster.services.dedup.ports import ClusterRecord, ModelVersion
from custmaster.services.ports import UnitOfWork
from custmaster.services.recording import utcnow
from custmaster.services.sources.training import training_features

#: Records sampled for training by default (EM is linear in it; u and the sessions sample
#: pairs anyway).
DEFAULT_TRAIN_SAMPLE = 50_000
#: Decided clusters read for labels (the latest first).
MAX_LABELLED_CLUSTERS = 20_000

_FIELD_INDEX = {c.name: k for k, c in enumerate(COMPARISONS)}

#: version -> model (a version never changes)
_versions: dict[int, MatchModel] = {}
#: run id -> model (runs without a version: before the first training)
_runs: dict[UUID, MatchModel] = {}


def forget_cached_models() -> None:
    """Drop the parsed models (only needed when the tables are emptied wholesale, as test
    fixtures do: a version number is otherwise never reused)."""
    _versions.clear()
    _runs.clear()


def current_model_and_version(uow: UnitOfWork) -> tuple[MatchModel, int | None]:
    """The current model version; before any training, the model of the latest batch
    run (version None), else the default model."""
    version = uow.matching.latest_model_version()
    if version is not None:
        model = _versions.get(version)
        if model is None:
            stored = uow.matching.get_model_version(version)
            if stored is not None:
                model = MatchModel.from_dict(stored.model)
                _versions.clear()
                _versions[version] = model
        if model is not None:
            return model, version
    run_id = uow.matching.latest_run_id()
    if run_id is None:
        return DEFAULT_MODEL, None
    model = _runs.get(run_id)
    if model is None:
        model = MatchModel.from_dict(uow.matching.run_model(run_id))
        _runs.clear()
        _runs[run_id] = model
    return model, None


def labelled_pairs(clusters: Sequence[ClusterRecord]) -> list[LabelledPair]:
    """The stewards' decisions as labelled pairs: every scored pair of a merged cluster is
    a match, every pair of a cluster marked not duplicate a non-match (levels from the
    stored explanation)."""
    out: list[LabelledPair] = []
    for cluster in clusters:
        if cluster.status not in ("merged", "not_duplicate"):
            continue
        for pair in cluster.pairs:
            levels = [NULL_LEVEL] * len(COMPARISONS)
            for part in pair.get("explanation") or ():
                k = _FIELD_INDEX.get(str(part.get("field")))
                if k is not None:
                    levels[k] = _level(k, part)
            out.append(LabelledPair(tuple(levels), cluster.status == "merged"))
    return out


def _level(k: int, part: Any) -> int:
    """The level of a stored explanation part, by its label when it has one (a
    comparison may have gained a level since the pair was scored), else by number."""
    labels = COMPARISONS[k].labels
    label = part.get("label")
    if isinstance(label, str) and label in labels:
        return labels.index(label)
    level = part.get("level")
    if isinstance(level, int) and 0 <= level < len(labels) and label in (None, ""):
        return level
    return NULL_LEVEL


def train_version(
    new_uow: Callable[[], UnitOfWork],
    actor: Principal,
    *,
    sample: int = DEFAULT_TRAIN_SAMPLE,
    use_labels: bool = True,
    seed: int = 1,
    progress: Callable[[str], None] | None = None,
) -> ModelVersion:
    """Train a model from the indexed records, the other forms their source records gave
    them (``services.sources.training``) and the stewards' decisions; store it as the next
    version, which becomes current.

    Args:
        new_uow: Makes a unit of work (reading, then writing the version).
        actor: Needs ``merge.propose``.
        sample: Records sampled for training (the prior is rescaled to the whole base).
        use_labels: Learn from the review queue's decisions (and calibrate the auto-merge
            threshold once there are enough of them).
        seed: Sampling seed.
        progress: Told each phase.

    Returns:
        The stored :class:`ModelVersion`.
    """
    require(actor, Permission.MERGE_PROPOSE)
    if progress:
        progress("reading")
    # the index and the other forms its records' sources gave them (services.sources)
    feats = training_features(new_uow())
    labels: list[LabelledPair] = []
    if use_labels:
        uow = new_uow()
        with uow.read_only():
            labels = labelled_pairs(uow.matching.decided_clusters(MAX_LABELLED_CLUSTERS))
    chosen = feats if len(feats) <= sample else random.Random(seed).sample(feats, sample)
    if progress:
        progress("training")
    trained = train(chosen, labels=labels, population_size=len(feats), seed=seed)
    return store_version(new_uow(), actor, trained)


def store_version(uow: UnitOfWork, actor: Principal, trained: TrainedModel) -> ModelVersion:
    """Store a trained model as the next version (it becomes current)."""
    require(actor, Permission.MERGE_PROPOSE)
    now = utcnow()
    with uow:
        version = uow.matching.add_model_version(
            trained.model.to_dict(), trained.report, now, actor.user_id
        )
    return ModelVersion(version, now, actor.user_id, trained.model.to_dict(), trained.report)


def list_versions(uow: UnitOfWork, actor: Principal, limit: int = 50) -> list[ModelVersion]:
    """The stored model versions, latest first."""
    require(actor, Permission.CUSTOMER_READ)
    with uow.read_only():
        return uow.matching.list_model_versions(limit)


def get_version(uow: UnitOfWork, actor: Principal, version: int) -> ModelVersion:
    """One stored model version (404 when unknown)."""
    require(actor, Permission.CUSTOMER_READ)
    with uow.read_only():
        found = uow.matching.get_model_version(version)
    if found is None:
        raise NotFound(f"no match model version {version}")
    return found


def summary(version: ModelVersion) -> dict[str, Any]:
    """A version as JSON (model and report included)."""
    return {
        "version": version.version,
        "created_at": version.created_at.isoformat(),
        "created_by": version.created_by,
        "model": version.model,
        "report": version.report,
    }
