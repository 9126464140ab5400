"""Jinja2 rendering of the console's pages, with the headers every page carries."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

#: what every console answer carries: no framing, no foreign scripts, nothing cached
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def _display(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, date | Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return ", ".join(_display(v) for v in value) or "—"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_display(v)}" for k, v in value.items()) or "—"
    return str(value)


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("custmaster.web", "templates"),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["show"] = _display
    env.filters["urlpart"] = lambda v: quote(str(v), safe="")
    return env


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """The page ``template`` with the signed-in user (if any) and the CSRF token."""
    session = getattr(request.state, "console_session", None)
    base = {
        "me": session.principal if session else None,
        "csrf": session.csrf_token if session else "",
        "path": request.url.path,
        "htmx": request.headers.get("HX-Request") == "true",
    }
    html = environment().get_template(template).render({**base, **context})
    return HTMLResponse(html, status_code, headers={**SECURITY_HEADERS, **(headers or {})})
