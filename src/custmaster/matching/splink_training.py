"""Unsupervised training of :class:`~custmaster.matching.model.MatchModel` with Splink 5.

Offline only: this module imports Splink and DuckDB (the ``bench`` extra) and is never
imported by the online path. The comparisons Splink trains are exactly the ones the
online scorer uses: each comparison level is evaluated in DuckDB by a Python UDF that
calls the same :mod:`custmaster.matching.compare` function on the prepared features, so
the exported m/u values apply unchanged. The relevant raw columns are passed to the UDF
as (unused) extra arguments so that Splink knows which comparisons a blocking rule
fixes during EM.

Splink estimates u (``estimate_u_using_random_sampling``) and m (EM, one session blocked
on name and one on postal code); the prior is estimated by EM on the matcher's candidate
pairs with those m and u (:func:`custmaster.matching.training.estimate_prior`): Splink's
deterministic-rule estimate needed e-mails or tax ids and failed without them ("math
domain error"). The default trainer is the pure :mod:`custmaster.matching.training`;
this one is kept to compare the two.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import duckdb
import pyarrow as pa
from duckdb.func import FunctionNullHandling
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
from splink import comparison_library as cl
from splink.internals.comparison_level_creator import ComparisonLevelCreator

from custmaster.matching.compare import COMPARISONS, Comparison
from custmaster.matching.model import LevelParams, MatchModel, Thresholds
from custmaster.matching.record import MatchFeatures
from custmaster.matching.training import estimate_prior

__all__ = ["train_model"]

# Raw columns each comparison depends on (for Splink's EM bookkeeping).
_COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("name",),
    "given_name": ("name",),
    "family_name": ("name",),
    "tax_id": ("tax_id",),
    "contact": ("email", "domain"),
    "phone": ("phone",),
    "address": ("postal_code", "city", "street"),
    "country": ("country",),
}
_ALL_COLUMNS = (
    "name",
    "tax_id",
    "email",
    "domain",
    "phone",
    "postal_code",
    "city",
    "street",
    "country",
)


def _features_table(features: Sequence[MatchFeatures]) -> Any:
    rows: dict[str, list[Any]] = {c: [] for c in ("unique_id", *_ALL_COLUMNS)}
    for pos, f in enumerate(features):
        rows["unique_id"].append(pos)
        rows["name"].append(f.name or None)
        rows["tax_id"].append(f.tax_id)
        rows["email"].append(f.email)
        rows["domain"].append(min(f.domains) if f.domains else None)
        rows["phone"].append(f.phone)
        rows["postal_code"].append(f.postal_code)
        rows["city"].append(f.city or None)
        rows["street"].append(f.street or None)
        rows["country"].append(f.country)
    return pa.table(rows)


def _udf(comp: Comparison, features: Sequence[MatchFeatures]) -> Callable[..., int]:
    last: list[Any] = [None, None, 0]

    def level(  # the column arguments only tell Splink which inputs this level reads
        left: int,
        right: int,
        c1l: object,
        c1r: object,
        c2l: object,
        c2r: object,
        c3l: object,
        c3r: object,
    ) -> int:
        if last[0] == left and last[1] == right:
            return int(last[2])
        result = comp.compare(features[left], features[right])
        last[0], last[1], last[2] = left, right, result
        return result

    return level


def _splink_comparison(comp: Comparison) -> cl.CustomComparison:
    cols = (_COLUMNS[comp.name] * 3)[:3]
    extra = "".join(f", {c}_l, {c}_r" for c in cols)
    call = f"cm_{comp.name}(unique_id_l, unique_id_r{extra})"
    levels: list[ComparisonLevelCreator | dict[str, Any]] = [
        {"sql_condition": f"{call} = -1", "label_for_charts": "null", "is_null_level": True}
    ]
    for lvl in range(comp.num_levels - 1, -1, -1):
        levels.append({"sql_condition": f"{call} = {lvl}", "label_for_charts": comp.labels[lvl]})
    return cl.CustomComparison(comparison_levels=levels, output_column_name=comp.name)


def train_model(
    features: Sequence[MatchFeatures],
    *,
    thresholds: Thresholds | None = None,
    prior_recall: float = 0.7,
    max_pairs: float = 3e5,
    seed: int = 1,
    population_size: int | None = None,
) -> MatchModel:
    """Estimate prior, m and u of every comparison level with Splink (no labels).

    Args:
        features: Prepared records of the population to model (thousands to a few
            hundred thousand; sample larger populations).
        thresholds: Thresholds stored in the returned model (default: the defaults).
        prior_recall: Assumed recall of the matcher's blocking (for the prior).
        max_pairs: Random pairs sampled to estimate u.
        seed: Sampling seed (training is deterministic for a given seed and input).
        population_size: Size of the population the model will score when
            ``features`` is a sample of it: the prior (the chance that two random
            records match) shrinks with the number of records, so it is rescaled by
            ``(len(features) - 1) / (population_size - 1)``.

    Returns:
        A :class:`MatchModel` whose levels carry Splink's trained m and u.

    Example:
        >>> from custmaster.matching.record import MatchRecord, prepare
        >>> feats = [prepare(MatchRecord(str(i), name=f"Firm {i % 50}", country="DE",
        ...                              postal_code=f"{i % 70:05d}")) for i in range(300)]
        >>> model = train_model(feats, max_pairs=2e4)  # doctest: +SKIP
    """
    con = duckdb.connect()
    arg_types: list[Any] = ["bigint", "bigint", *(["varchar"] * 6)]
    for comp in COMPARISONS:
        con.create_function(
            f"cm_{comp.name}",
            _udf(comp, features),
            arg_types,
            "INTEGER",
            null_handling=FunctionNullHandling.SPECIAL,
            side_effects=False,
        )
    db_api = DuckDBAPI(connection=con)
    table = _features_table(features)
    sdf = db_api.register(table, dataset_display_name="custmaster_features")
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[_splink_comparison(c) for c in COMPARISONS],
        blocking_rules_to_generate_predictions=[block_on("name"), block_on("tax_id")],
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker(sdf, settings, log_level=logging.WARNING)
    linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
    for column in ("name", "postal_code", "phone"):
        if table.column(column).null_count < len(features) - 1:
            try:
                linker.training.estimate_parameters_using_expectation_maximisation(block_on(column))
            except Exception as exc:  # Splink refuses a session without usable pairs
                logging.getLogger(__name__).info("EM on %s skipped: %s", column, exc)
    trained = linker.misc.save_model_to_json()
    con.close()
    model = model_from_splink_settings(trained, thresholds or Thresholds())
    prior, _ = estimate_prior(features, model, recall=prior_recall)
    model = MatchModel(prior, model.levels, model.thresholds)
    if population_size and population_size > len(features) > 1:
        scale = (len(features) - 1) / (population_size - 1)
        model = MatchModel(model.prior * scale, model.levels, model.thresholds)
    return model


def model_from_splink_settings(
    settings: dict[str, Any], thresholds: Thresholds, floor: float = 1e-4
) -> MatchModel:
    """Convert a trained Splink settings dict (from ``save_model_to_json``) to a model.

    m and u below ``floor`` are raised to it: EM drives the m of levels never seen among
    matches in the training data (e.g. "different country") towards 0, which would make
    them absolute vetoes; the floor keeps them strong but finite (about -13 bits). u is
    floored at ``floor / 100`` so that rare agreement levels stay very strong evidence.
    A level Splink could not estimate (no m or no u) is neutral (m = u, weight 0), and
    level 0 (a conflict) never gets a positive weight.

    Args:
        settings: The Splink settings dict with ``comparisons`` and
            ``probability_two_random_records_match``.
        thresholds: Thresholds for the model.
        floor: Smallest m probability kept.

    Returns:
        The :class:`MatchModel`.
    """
    by_name = {c["output_column_name"]: c for c in settings["comparisons"]}
    levels: dict[str, tuple[LevelParams, ...]] = {}
    for comp in COMPARISONS:
        splink_levels = [
            lv for lv in by_name[comp.name]["comparison_levels"] if not lv.get("is_null_level")
        ]
        params = []
        for lvl in range(comp.num_levels):
            src = splink_levels[comp.num_levels - 1 - lvl]
            raw_m, raw_u = src.get("m_probability"), src.get("u_probability")
            if raw_m is None or raw_u is None:
                m = u = 0.5  # not estimated: neutral
            else:
                m = max(float(raw_m), floor)
                u = max(float(raw_u), floor / 100)
            if lvl == 0 and m > u:
                m = u
            params.append(LevelParams(comp.labels[lvl], m, u))
        levels[comp.name] = tuple(params)
    return MatchModel(
        prior=float(settings["probability_two_random_records_match"]),
        levels=levels,
        thresholds=thresholds,
    )
