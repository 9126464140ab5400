"""The living profile's panel on the customer page (issue 19).

``profile_panel`` calls the service the REST route ``GET /customers/{id}/profile`` calls
(``services.profile.reads.customer_profile``) with the signed-in principal, so the same
legal-entity scope applies: a GB01 user's panel holds GB01's figures only. It shapes the
360 view into what ``templates/profile_panel.html`` shows: health score, band and trend,
tier, churn band, next-best actions, receivables aging, a 12-month sales sparkline (inline
SVG), open complaints and cases, and contracts up for renewal.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from custmaster.domain.permissions import Principal
from custmaster.domain.profile import ALL_ENTITIES
from custmaster.services.ports import UnitOfWork
from custmaster.services.profile.config import ProfileConfig
from custmaster.services.profile.reads import customer_profile

SPARK_WIDTH, SPARK_HEIGHT, SPARK_PAD = 240, 48, 4
AGING_LABELS = {
    "current": "Not yet due",
    "1-30": "1 to 30 days",
    "31-60": "31 to 60 days",
    "61-90": "61 to 90 days",
    "over_90": "Over 90 days",
}


def _trend(value: int | None) -> dict[str, str]:
    if value is None:
        return {"symbol": "", "text": "no earlier score"}
    if value > 0:
        return {"symbol": f"▲ {value}", "text": f"up {value} since the last score"}
    if value < 0:
        return {"symbol": f"▼ {-value}", "text": f"down {-value} since the last score"}
    return {"symbol": "▬", "text": "unchanged since the last score"}


def _score_rows(scores: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for entity, s in scores.items():
        explained = {a["name"]: a for a in s.get("explanation", {}).get("actions", [])}
        rows.append(
            {
                "entity": "All entities" if entity == ALL_ENTITIES else entity,
                "tier": s["tier"],
                "health": s["health_score"],
                "band": s["health_band"],
                "trend": _trend(s["health_trend"]),
                "churn_band": s["churn_band"],
                "churn_risk": s["churn_risk"],
                "actions": [
                    {"name": n, "text": explained.get(n, {}).get("text", n.replace("_", " "))}
                    for n in s["actions"]
                ],
            }
        )
    # the row over every entity first, then the entities
    return sorted(rows, key=lambda r: (r["entity"] != "All entities", r["entity"]))


def _actions(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each next-best action once, with the score rows that call for it."""
    found: dict[str, list[str]] = {}
    for row in rows:
        for action in row["actions"]:
            found.setdefault(action["text"], []).append(row["entity"])
    return [{"text": text, "entities": entities} for text, entities in found.items()]


def sparkline(months: list[dict[str, Any]]) -> dict[str, Any]:
    """The points of a polyline over the monthly revenue (oldest first)."""
    values = [float(m["revenue"]) for m in months]
    top = max(values, default=0.0) or 1.0
    step = (SPARK_WIDTH - 2 * SPARK_PAD) / max(len(values) - 1, 1)
    inner = SPARK_HEIGHT - 2 * SPARK_PAD
    points = [
        (SPARK_PAD + i * step, SPARK_PAD + inner * (1 - v / top)) for i, v in enumerate(values)
    ]
    return {
        "width": SPARK_WIDTH,
        "height": SPARK_HEIGHT,
        "points": " ".join(f"{x:.1f},{y:.1f}" for x, y in points),
        "dots": [{"x": round(x, 1), "y": round(y, 1)} for x, y in points],
        "first": months[0]["month"] if months else None,
        "last": months[-1]["month"] if months else None,
        "months": [{"month": m["month"], "revenue": round(float(m["revenue"]), 2)} for m in months],
    }


def panel_of(view: dict[str, Any]) -> dict[str, Any]:
    """The panel's figures from a 360 view."""
    receivables = view["receivables"]
    entities = view["entities"]
    # one entity: its own currency; several: the total converted to the reporting currency
    total = receivables["by_entity"][entities[0]] if len(entities) == 1 else receivables["total"]
    own = view["sales"]["own"]
    return {
        "entities": view["entities"],
        "as_of": view["as_of"],
        "scores": (rows := _score_rows(view["scores"])),
        "actions": _actions(rows),
        "receivables": {
            "currency": total["currency"],
            "open": total["open_items_amount"],
            "overdue": total["overdue_amount"],
            "dso": total["dso"],
            "aging": [
                {"bucket": k, "label": AGING_LABELS.get(k, k), "amount": v}
                for k, v in total["aging"].items()
            ],
        },
        "sales": {
            "currency": own["currency"],
            "total": own["monetary_12m"],
            "orders": own["orders_12m"],
            "spark": sparkline(own["months"][-12:]),
        },
        "cases": view["open_cases"],
        "renewals": view["contracts_up_for_renewal"],
    }


def profile_panel(
    uow: UnitOfWork,
    actor: Principal,
    customer_id: UUID,
    entity: str | None,
    config: ProfileConfig,
) -> dict[str, Any] | None:
    """The living profile's panel for the customer page, as the signed-in user may see
    it (``entity``: the legal entity the page shows, else every entity they see)."""
    return panel_of(customer_profile(uow, actor, customer_id, config, entity=entity))
