"""The console's authentication: the session cookie, the CSRF check on every form, and
the function-level check of ``web.route_permissions`` (a dependency of every console
route, the way ``api.route_permissions.authorize`` is of every API route)."""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from custmaster.bootstrap import Container
from custmaster.domain.errors import Forbidden, Unauthenticated
from custmaster.domain.permissions import Principal, require_any
from custmaster.services.console.sessions import ConsoleSession, current_session
from custmaster.web.route_permissions import CONSOLE_ROUTE_PERMISSIONS, PUBLIC

SESSION_COOKIE = "cm_console"
#: the sign-in form's double-submit CSRF token (before there is a session)
LOGIN_CSRF_COOKIE = "cm_console_login"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD"})


class SignInRequired(Unauthenticated):
    """No live session: the browser is sent to the sign-in page."""


class CsrfRefused(Forbidden):
    title = "CSRF token missing or wrong"


def is_tls(request: Request) -> bool:
    return request.url.scheme == "https"


def cookie_options(request: Request) -> dict[str, object]:
    """HttpOnly, SameSite=Strict, Secure when served over TLS, only under /console."""
    return {"httponly": True, "samesite": "strict", "secure": is_tls(request), "path": "/console"}


def new_login_token() -> str:
    return secrets.token_urlsafe(32)


async def submitted_token(request: Request) -> str:
    """The CSRF token a state-changing request carries (header, else form field)."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


def same_token(expected: str, given: str) -> bool:
    return bool(expected) and hmac.compare_digest(expected.encode(), given.encode())


def _route_key(request: Request) -> str:
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', request.url.path)}"


async def authorize_console(request: Request) -> None:
    """Every console route: declared in the table (an undeclared one is refused, never
    served), a live session unless public, the session's CSRF token on anything but a
    read, and one of the route's permissions."""
    key = _route_key(request)
    if request.method == "HEAD":
        key = "GET" + key.removeprefix("HEAD")
    if key not in CONSOLE_ROUTE_PERMISSIONS:
        raise Forbidden(f"the console route {key} declares no permission")
    needed = CONSOLE_ROUTE_PERMISSIONS[key]
    if needed is PUBLIC:
        return
    session = await session_of(request)
    if session is None:
        raise SignInRequired("sign in to use the console")
    request.state.console_session = session
    unsafe = request.method not in SAFE_METHODS
    if unsafe and not same_token(session.csrf_token, await submitted_token(request)):
        raise CsrfRefused("the form's CSRF token is missing or wrong; reload the page")
    if needed:
        require_any(session.principal, needed)


async def session_of(request: Request) -> ConsoleSession | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 128:
        return None
    container: Container = request.app.state.container
    return await run_in_threadpool(current_session, container.uow(), token)


def actor(request: Request) -> Principal:
    """The signed-in user of a console route (set by ``authorize_console``)."""
    session: ConsoleSession = request.state.console_session
    return session.principal
