"""Scoring a set of customers' profile rows in the database (PostgreSQL), with exactly the
results of ``services.profile.scoring.score_customers``: the same ``profile_scores`` rows
(explanations included) and one ``custmaster.profile.scores_changed`` event in the outbox
for each row whose outcome changed.

The rule expressions are evaluated by their SQL translation (``expression_sql.to_sql``,
held equal to the Python evaluation by ``tests/persistence/test_expression_sql_property.py``),
everything else by the domain's own code (``domain.profile_scoring``) -- once per
*distinct* combination of what decides a score, not once per row:

1. ``s1``: per row, what the tier, health and churn rules give (``profile_scoring.Inputs``:
   the first tier rule that holds, every measure's value, every churn factor) and what
   the previous score holds (its outcome, health and the measure values of its
   explanation); ``k1`` is the text of the first part (``ROW(...)::text``);
2. Python: :func:`profile_scoring.base` of each distinct ``k1`` -> table ``d1`` (tier,
   health, band, churn risk and band);
3. ``s2``: per row, the trend and which segments and actions hold (their rules read the
   row and ``d1``); ``k2`` is the text of everything left that decides the score, the
   explanation and the event (``k1``, trend, segments, actions, the previous score's
   outcome and measure values);
4. Python: :func:`profile_scoring.finish` of each distinct ``k2`` -> table ``d2``
   (segments, actions, the explanation's JSON, whether an event is due and its data but
   the row's customer and entity);
5. the score rows and the events written by ``INSERT ... SELECT``.

The shipped rules give a few hundred distinct combinations for any number of customers.
The events of one call share one time (``at``, the scores' ``scored_at``; the Python path
stamps each event a few microseconds apart); their ids are ``gen_random_uuid()``; they are
inserted in the order the Python path adds them (customer, then legal entity).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    Connection,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    case,
    cast,
    column,
    func,
    literal_column,
    null,
    select,
    table,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB

from custmaster.domain.events import SOURCE
from custmaster.domain.expressions import Node
from custmaster.domain.profile_rules import RuleSet
from custmaster.domain.profile_schema import MASTER_FIELDS
from custmaster.domain.profile_scoring import Base, Inputs, Score, base, finish
from custmaster.persistence.bulk import JsonText, insert_rows
from custmaster.persistence.engine import storable_json
from custmaster.persistence.expression_sql import to_sql
from custmaster.persistence.profile_rules import decode_list, encode_list
from custmaster.persistence.tables import customers
from custmaster.persistence.tables_profile import profile_features
from custmaster.persistence.tables_profile_rules import profile_scores

EVENT_TYPE = "custmaster.profile.scores_changed"
_DOUBLE = Float(precision=53)
#: the previous score's outcome columns (``Score.outcome``)
_PREVIOUS = ("tier", "health_band", "churn_band", "segments", "actions")


def _create(connection: Connection, name: str, query: Any) -> None:
    """``CREATE UNLOGGED TABLE name AS query`` (a SQLAlchemy select)."""
    compiled = query.compile(dialect=connection.dialect)
    connection.exec_driver_sql(f"CREATE UNLOGGED TABLE {name} AS {compiled}", compiled.params)


def _measure_pairs(rules: RuleSet) -> list[tuple[str, str]]:
    return [(g.name, m.name) for g in rules.groups for m in g.measures]


def _holds(node: Node, resolve: Callable[[str], ColumnElement[Any]], today: date) -> Any:
    return to_sql(node, resolve, "postgresql", today).is_(true())


_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def _previous_value(group: str, measure: str) -> ColumnElement[Any]:
    """The JSON text of the last ``health.groups[name == group].measures[name == measure]
    .value`` of the previous score's explanation (``p``), ``null`` when there is none: the
    value ``_moved`` finds (a later duplicate wins, as in its dict)."""
    if not (_NAME.match(group) and _NAME.match(measure)):  # rule names are checked so
        raise ValueError(f"not a rule name: {group!r}, {measure!r}")
    path = f'$.health.groups[*] ? (@.name == "{group}").measures[*] ? (@.name == "{measure}").value'
    return literal_column(
        f"coalesce(jsonb_path_query_array(p.explanation, '{path}') -> -1, 'null'::jsonb)::text",
        Text(),
    )


class ScoringRun:
    """The scoring of the customers listed in table ``batch`` (column ``customer_id``),
    its scratch tables named ``<prefix>_*`` (dropped by :meth:`drop`)."""

    def __init__(
        self,
        connection: Connection,
        prefix: str,
        batch: str,
        rules: RuleSet,
        version: int,
        today: date,
    ) -> None:
        self.connection = connection
        self.prefix = prefix
        self.batch = batch
        self.rules = rules
        self.version = version
        self.today = today
        self.pairs = _measure_pairs(rules)

    def t(self, name: str) -> str:
        return f"{self.prefix}_{name}"

    def _exec(self, sql: str, params: dict[str, Any] | None = None) -> int:
        return int(self.connection.exec_driver_sql(sql, params or {}).rowcount or 0)

    # 1 ---------------------------------------------------------------------------------
    def _stage_inputs(self) -> None:
        rules, today = self.rules, self.today
        f, c = profile_features, customers
        p = profile_scores.alias("p")
        b = table(self.batch, column("customer_id"))

        def resolve(name: str) -> ColumnElement[Any]:
            if name == "legal_entity":
                return f.c.legal_entity
            if name in MASTER_FIELDS:
                return c.c[name]
            return f.c[name]

        tier = case(
            *((_holds(r.when.tree, resolve, today), i) for i, r in enumerate(rules.tiers)),
            else_=-1,
        )
        measures = [
            cast(to_sql(m.score.tree, resolve, "postgresql", today), _DOUBLE)
            for g in rules.groups
            for m in g.measures
        ]
        factors = [_holds(x.when.tree, resolve, today) for x in rules.churn]
        had = p.c.customer_id.isnot(None)
        inner = (
            select(
                f.c.customer_id,
                f.c.legal_entity,
                cast(tier, Integer()).label("ti"),
                *(m.label(f"m{i}") for i, m in enumerate(measures)),
                *(x.label(f"f{i}") for i, x in enumerate(factors)),
                had.label("had"),
                p.c.health_score.label("prev_health"),
                *(p.c[n].label(f"p_{n}") for n in _PREVIOUS),
                *(
                    case((had, _previous_value(g, m)), else_=null()).label(f"pv{i}")
                    for i, (g, m) in enumerate(self.pairs)
                ),
            )
            .select_from(
                f.join(b, b.c.customer_id == f.c.customer_id)
                .join(c, c.c.id == f.c.customer_id)
                .outerjoin(
                    p,
                    (p.c.customer_id == f.c.customer_id) & (p.c.legal_entity == f.c.legal_entity),
                )
            )
            .subquery("x")
        )
        key = [
            "ti",
            *(f"m{i}" for i in range(len(measures))),
            *(f"f{i}" for i in range(len(factors))),
        ]
        query = select(inner, _row_text(inner, key).label("k1"))
        _create(self.connection, self.t("s1"), query)

    # 2 ---------------------------------------------------------------------------------
    def _bases(self) -> dict[str, Base]:
        n_m, n_f = len(self.pairs), len(self.rules.churn)
        columns = ", ".join(["ti", *(f"m{i}" for i in range(n_m)), *(f"f{i}" for i in range(n_f))])
        found: dict[str, Base] = {}
        rows = self.connection.exec_driver_sql(
            f"SELECT DISTINCT ON (k1) k1, {columns} FROM {self.t('s1')} ORDER BY k1"
        )
        for row in rows:
            values = tuple(row)
            ti = values[1]
            inputs = Inputs(
                None if ti < 0 else ti,
                tuple(None if v is None else float(v) for v in values[2 : 2 + n_m]),
                tuple(bool(v) for v in values[2 + n_m :]),
            )
            found[values[0]] = base(self.rules, inputs)
        d1 = Table(
            self.t("d1"),
            MetaData(),
            Column("k1", Text()),
            Column("tier", Text()),
            Column("health", BigInteger()),
            Column("band", Text()),
            Column("risk", _DOUBLE),
            Column("churn_band", Text()),
        )
        self._exec(
            f"CREATE UNLOGGED TABLE {d1.name} (k1 text, tier text, health bigint, band text, "
            "risk float8, churn_band text)"
        )
        insert_rows(
            self.connection,
            d1,
            [
                {
                    "k1": k,
                    "tier": x.tier,
                    "health": x.health,
                    "band": x.band,
                    "risk": x.risk,
                    "churn_band": x.churn_band,
                }
                for k, x in found.items()
            ],
        )
        self._exec(f"ANALYZE {d1.name}")
        return found

    # 3 ---------------------------------------------------------------------------------
    def _stage_rest(self) -> None:
        rules, today = self.rules, self.today
        f, c = profile_features, customers
        s = table(
            self.t("s1"),
            column("customer_id"),
            column("legal_entity"),
            column("k1", Text()),
            column("had", Boolean()),
            column("prev_health", BigInteger()),
            *(column(f"p_{n}", Text()) for n in _PREVIOUS),
            *(column(f"pv{i}", Text()) for i in range(len(self.pairs))),
        )
        d = table(
            self.t("d1"),
            column("k1", Text()),
            column("tier", String()),
            column("health", BigInteger()),
            column("band", String()),
            column("risk", _DOUBLE),
            column("churn_band", String()),
        )
        trend = case(
            (d.c.health.isnot(None) & s.c.prev_health.isnot(None), d.c.health - s.c.prev_health),
            else_=null(),
        )
        scores: dict[str, ColumnElement[Any]] = {
            "tier": d.c.tier,
            "health_score": d.c.health,
            "health_band": d.c.band,
            "health_trend": trend,
            "churn_risk": d.c.risk,
            "churn_band": d.c.churn_band,
        }

        def resolve(name: str) -> ColumnElement[Any]:
            if name in scores:
                return scores[name]
            if name == "legal_entity":
                return f.c.legal_entity
            if name in MASTER_FIELDS:
                return c.c[name]
            return f.c[name]

        segments = [_holds(x.when.tree, resolve, today) for x in rules.segments]
        actions = [_holds(x.when.tree, resolve, today) for x in rules.actions]
        inner = (
            select(
                s.c.customer_id,
                s.c.legal_entity,
                s.c.k1,
                s.c.had,
                *(s.c[f"p_{n}"] for n in _PREVIOUS),
                *(s.c[f"pv{i}"] for i in range(len(self.pairs))),
                cast(trend, BigInteger()).label("trend"),
                *(x.label(f"g{i}") for i, x in enumerate(segments)),
                *(x.label(f"a{i}") for i, x in enumerate(actions)),
            )
            .select_from(
                s.join(d, d.c.k1 == s.c.k1)
                .join(
                    f,
                    (f.c.customer_id == s.c.customer_id) & (f.c.legal_entity == s.c.legal_entity),
                )
                .join(c, c.c.id == s.c.customer_id)
            )
            .subquery("y")
        )
        key = [
            "k1",
            "trend",
            "had",
            *(f"p_{n}" for n in _PREVIOUS),
            *(f"pv{i}" for i in range(len(self.pairs))),
            *(f"g{i}" for i in range(len(segments))),
            *(f"a{i}" for i in range(len(actions))),
        ]
        query = select(inner, _row_text(inner, key).label("k2"))
        _create(self.connection, self.t("s2"), query)

    # 4 ---------------------------------------------------------------------------------
    def _previous(self, values: dict[str, Any]) -> Score | None:
        """The previous score as far as ``finish`` reads it: its outcome, its health (the
        trend is already known) and the measure values of its explanation."""
        if not values["had"]:
            return None
        groups: dict[str, list[dict[str, Any]]] = {}
        for i, (g, m) in enumerate(self.pairs):
            groups.setdefault(g, []).append({"name": m, "value": json.loads(values[f"pv{i}"])})
        explanation = {
            "health": {"groups": [{"name": g, "measures": ms} for g, ms in groups.items()]}
        }
        return Score(
            values["p_tier"],
            None,
            values["p_health_band"],
            None,
            0.0,
            values["p_churn_band"],
            decode_list(values["p_segments"]),
            decode_list(values["p_actions"]),
            0,
            explanation,
        )

    def _finish(self, bases: dict[str, Base]) -> None:
        rules = self.rules
        n_s, n_a = len(rules.segments), len(rules.actions)
        names = [
            "k2",
            "k1",
            "trend",
            "had",
            *(f"p_{n}" for n in _PREVIOUS),
            *(f"pv{i}" for i in range(len(self.pairs))),
            *(f"g{i}" for i in range(n_s)),
            *(f"a{i}" for i in range(n_a)),
        ]
        rows = self.connection.exec_driver_sql(
            f"SELECT DISTINCT ON (k2) {', '.join(names)} FROM {self.t('s2')} ORDER BY k2"
        )
        out: list[dict[str, Any]] = []
        for row in rows:
            values = dict(zip(names, row, strict=True))
            found = bases[values["k1"]]
            previous = self._previous(values)
            after = finish(
                rules,
                self.version,
                found,
                values["trend"],
                previous,
                tuple(bool(values[f"g{i}"]) for i in range(n_s)),
                tuple(bool(values[f"a{i}"]) for i in range(n_a)),
            )
            old: dict[str, Any] = previous.outcome() if previous else {}
            new = after.outcome()
            event = previous is None or old != new
            data = {
                "changed": sorted(k for k in new if old.get(k) != new[k]),
                "before": old or None,
                "after": new,
                "health_score": after.health_score,
                "health_trend": after.health_trend,
                "rules_version": after.rules_version,
            }
            out.append(
                {
                    "k2": values["k2"],
                    "segments": encode_list(after.segments),
                    "actions": encode_list(after.actions),
                    "explanation": JsonText(storable_json(dict(after.explanation))),
                    "event": event,
                    "data": JsonText(storable_json(data)),
                }
            )
        d2 = Table(
            self.t("d2"),
            MetaData(),
            Column("k2", Text()),
            Column("segments", Text()),
            Column("actions", Text()),
            Column("explanation", JSONB()),
            Column("event", Boolean()),
            Column("data", JSONB()),
        )
        self._exec(
            f"CREATE UNLOGGED TABLE {d2.name} (k2 text, segments text, actions text, "
            "explanation jsonb, event boolean, data jsonb)"
        )
        insert_rows(self.connection, d2, out)
        self._exec(f"ANALYZE {d2.name}")

    # 5 ---------------------------------------------------------------------------------
    def _write(self, at: datetime) -> int:
        s2, d1, d2 = (self.t(n) for n in ("s2", "d1", "d2"))
        params = {"at": at, "version": self.version}
        self._exec(
            f"DELETE FROM profile_scores p USING {self.batch} b WHERE p.customer_id = b.customer_id"
        )
        self._exec(
            f"""INSERT INTO profile_scores (customer_id, legal_entity, tier, health_score,
                health_band, health_trend, churn_risk, churn_band, segments, actions,
                explanation, rules_version, scored_at)
            SELECT s.customer_id, s.legal_entity, x.tier, x.health, x.band, s.trend, x.risk,
                x.churn_band, y.segments, y.actions, y.explanation, %(version)s,
                %(at)s::timestamptz
            FROM {s2} s JOIN {d1} x ON x.k1 = s.k1 JOIN {d2} y ON y.k2 = s.k2
            ORDER BY s.customer_id, s.legal_entity""",
            params,
        )
        envelope = (
            "jsonb_build_object('specversion', '1.0', 'id', e.id::text, "
            f"'source', '{SOURCE}', 'type', '{EVENT_TYPE}', 'subject', e.customer_id::text, "
            "'time', %(iso)s::text, 'datacontenttype', 'application/json', "
            "'data', e.data || jsonb_build_object('customer_id', e.customer_id::text, "
            "'legal_entity', e.legal_entity))"
        )
        return self._exec(
            f"""INSERT INTO outbox (event_id, type, subject, time, envelope)
            SELECT e.id, '{EVENT_TYPE}', e.customer_id::text, %(at)s::timestamptz, {envelope}
            FROM (SELECT gen_random_uuid() AS id, s.customer_id, s.legal_entity, y.data
                  FROM {s2} s JOIN {d2} y ON y.k2 = s.k2 WHERE y.event
                  ORDER BY s.customer_id, s.legal_entity) e""",
            {**params, "iso": at.isoformat()},
        )

    def run(self, at: datetime) -> int:
        """Score every row of the batch's customers, replace their scores and add the
        events; the number of events."""
        # the keys are rows as text: doubles must print in their shortest exact form
        self._exec("SET LOCAL extra_float_digits = 1")
        self._stage_inputs()
        self._exec(f"CREATE INDEX ON {self.t('s1')} (k1)")
        self._exec(f"ANALYZE {self.t('s1')}")
        bases = self._bases()
        self._stage_rest()
        self._exec(f"ANALYZE {self.t('s2')}")
        self._finish(bases)
        events = self._write(at)
        self.drop()
        return events

    def drop(self) -> None:
        for name in ("s1", "d1", "s2", "d2"):
            self._exec(f"DROP TABLE IF EXISTS {self.t(name)}")


def _row_text(inner: Any, names: Sequence[str]) -> ColumnElement[Any]:
    """``ROW(columns...)::text``: one text per distinct combination of the values (a
    missing value is empty, text is quoted where it must be, doubles in their shortest
    exact form)."""
    return cast(func.row(*(inner.c[n] for n in names)), Text())
