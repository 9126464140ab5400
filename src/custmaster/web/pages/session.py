"""Sign-in, sign-out, the home page and the console's static files."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Form, Request, Response
from starlette.concurrency import run_in_threadpool

from custmaster.bootstrap import Container
from custmaster.domain.errors import NotFound, Unauthenticated
from custmaster.domain.permissions import Permission
from custmaster.services.console.sessions import sign_in, sign_out
from custmaster.services.dedup.review import list_clusters
from custmaster.services.governance.decide import list_requests
from custmaster.web.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    CsrfRefused,
    actor,
    cookie_options,
    new_login_token,
    same_token,
)
from custmaster.web.rendering import render
from custmaster.web.routing import redirect, router

#: the console's static files: name -> media type (nothing else is served)
STATIC = {
    "htmx.min.js": "text/javascript",
    "console.js": "text/javascript",
    "console.css": "text/css",
}


@cache
def _static(name: str) -> bytes:
    return resources.files("custmaster.web").joinpath("static", name).read_bytes()


@router.get("/static/{name}")
def static(name: str) -> Response:
    if name not in STATIC:
        raise NotFound(f"no console file {name}")
    headers = {"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}
    return Response(_static(name), media_type=STATIC[name], headers=headers)


def _safe_next(target: str | None) -> str:
    """Only a path of the console itself (no open redirect to another site)."""
    if not target:
        return "/console"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/console"):
        return "/console"
    if target.startswith("//") or "\\" in target:
        return "/console"
    return target


def _login_page(request: Request, next_url: str, error: str | None, status: int) -> Response:
    token = new_login_token()
    container: Container = request.app.state.container
    context = {
        "login_csrf": token,
        "next_url": _safe_next(next_url),
        "error": error,
        "oidc": container.token_verifier is not None,
        "title": "Sign in",
    }
    response = render(request, "login.html", context, status)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, **cookie_options(request))  # type: ignore[arg-type]
    return response


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    return _login_page(request, next or "/console", None, 200)


@router.post("/login")
async def login(
    request: Request,
    credential: Annotated[str, Form(max_length=4096)],
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=2048)] = "/console",
) -> Response:
    if not same_token(request.cookies.get(LOGIN_CSRF_COOKIE, ""), csrf_token):
        raise CsrfRefused("the sign-in form expired; reload the page and sign in again")
    container: Container = request.app.state.container
    try:
        started = await run_in_threadpool(
            sign_in, container.uow(), credential, container.token_verifier
        )
    except Unauthenticated as exc:
        return _login_page(request, next, f"Sign-in refused: {exc.detail}", 401)
    response = redirect(_safe_next(next))
    seconds = max(60, int((started.session.expires_at - datetime.now(UTC)).total_seconds()))
    response.set_cookie(SESSION_COOKIE, started.token, max_age=seconds, **cookie_options(request))  # type: ignore[arg-type]
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    container: Container = request.app.state.container
    token = request.cookies.get(SESSION_COOKIE, "")
    await run_in_threadpool(sign_out, container.uow(), token)
    response = redirect("/console/login")
    response.delete_cookie(SESSION_COOKIE, path="/console", httponly=True, samesite="strict")
    return response


@router.get("")
def home(request: Request) -> Response:
    container: Container = request.app.state.container
    me = actor(request)
    waiting = None
    if me.has(Permission.CHANGEREQUEST_APPROVE):
        found = list_requests(
            container.uow(), me, statuses=["pending"], waiting_for_me=True, after=None, limit=200
        )
        waiting = len(found)
    clusters = []
    if me.has(Permission.CUSTOMER_READ):
        clusters = list_clusters(container.uow(), me, status="open", after_id=None, limit=50)
    return render(
        request, "home.html", {"title": "Home", "waiting": waiting, "open_clusters": len(clusters)}
    )
