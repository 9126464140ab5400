"""The console's router: every route authorised by ``web.auth.authorize_console`` and
every error a page raises answered as a page (not as problem details)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute

from custmaster.api.problems import _status_of as api_status
from custmaster.domain.errors import DomainError
from custmaster.services.dedup.errors import CustomerMerged
from custmaster.web.auth import SignInRequired, authorize_console
from custmaster.web.rendering import SECURITY_HEADERS, render

log = logging.getLogger(__name__)


def status_of(exc: DomainError) -> int:
    """The status the API answers the same error with (one mapping)."""
    return api_status(exc)


def redirect(url: str, request: Request | None = None) -> Response:
    """303 to ``url``; for an htmx request, the header that makes htmx navigate."""
    if request is not None and request.headers.get("HX-Request") == "true":
        return Response(status_code=200, headers={"HX-Redirect": url, **SECURITY_HEADERS})
    return RedirectResponse(url, status_code=303, headers=SECURITY_HEADERS)


def sign_in_url(request: Request) -> str:
    target = request.url.path if request.method == "GET" else "/console"
    if request.method == "GET" and request.url.query:
        target += f"?{request.url.query}"
    return f"/console/login?next={quote(target, safe='')}"


def error_page(request: Request, status: int, title: str, detail: str) -> HTMLResponse:
    return render(request, "error.html", {"title": title, "detail": detail}, status)


class ConsoleRoute(APIRoute):
    """An API route whose failures are pages: no session -> the sign-in page, a domain
    error -> a page saying what went wrong with the API's status code."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired:
                return redirect(sign_in_url(request), request)
            except CustomerMerged as exc:
                return redirect(f"/console/customers/{exc.survivor_id}", request)
            except DomainError as exc:
                return error_page(request, status_of(exc), exc.title, exc.detail)
            except RequestValidationError as exc:
                fields = "; ".join(
                    f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: {e.get('msg')}"
                    for e in exc.errors()
                )
                return error_page(request, 422, "Invalid request", fields)

        return guarded


router = APIRouter(
    prefix="/console",
    route_class=ConsoleRoute,
    dependencies=[Depends(authorize_console)],
    include_in_schema=False,
    default_response_class=HTMLResponse,
)
