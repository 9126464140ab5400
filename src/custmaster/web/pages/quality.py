"""The data quality dashboard (numbers link to the records or requests behind them;
charts are inline SVG, drawn here from the same figures as the tables)."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from custmaster.bootstrap import Container
from custmaster.services.console.quality import QualityReport, quality_report
from custmaster.web.auth import actor
from custmaster.web.rendering import render
from custmaster.web.routing import router

BAR_HEIGHT = 22


def bars(items: list[tuple[str, float, str]], maximum: float, width: int = 420) -> dict[str, Any]:
    """A horizontal bar chart: (label, value, text shown) per bar."""
    scale = (width - 200) / maximum if maximum else 0
    shown = [
        {"label": label, "text": text, "y": i * BAR_HEIGHT, "width": max(value * scale, 1)}
        for i, (label, value, text) in enumerate(items)
    ]
    return {"bars": shown, "height": len(items) * BAR_HEIGHT + 4, "width": width}


def _charts(report: QualityReport) -> dict[str, Any]:
    total = report.total or 1
    completeness = [
        (
            name.replace("_", " "),
            100 * sum(e.filled[name] for e in report.entities) / total,
            f"{100 * sum(e.filled[name] for e in report.entities) / total:.0f}%",
        )
        for name in report.fields
    ]
    ages = [(label, float(n), str(n)) for label, n in report.pending_ages]
    imports = [
        (day, float(records), f"{records} ({jobs} jobs)")
        for day, jobs, records in report.imports_by_day
    ]
    return {
        "completeness": bars(completeness, 100.0),
        "ages": bars(ages, max((a[1] for a in ages), default=0) or 1),
        "imports": bars(imports, max((i[1] for i in imports), default=0) or 1),
    }


@router.get("/quality")
def quality(request: Request) -> Response:
    container: Container = request.app.state.container
    report = quality_report(container.uow(), actor(request))
    members = report.clusters.get("members_open", 0)
    rate = 100 * members / report.total if report.total else 0.0
    context = {
        "title": "Data quality",
        "report": report,
        "charts": _charts(report),
        "duplicate_rate": rate,
        "members_open": members,
    }
    return render(request, "quality.html", context)
