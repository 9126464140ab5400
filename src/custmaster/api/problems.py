"""The one place that maps domain errors to RFC 9457 problem details."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match

from custmaster.api.query_params import UnknownQueryParameter
from custmaster.domain.build import SERVER_OWNED
from custmaster.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    IdempotencyKeyReused,
    NotFound,
    RequestInFlight,
    StaleVersion,
    Unauthenticated,
    ValidationFailed,
)

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
_STATUS: dict[type[DomainError], int] = {
    ValidationFailed: 422,
    NotFound: 404,
    Conflict: 409,
    StaleVersion: 412,
    IdempotencyKeyReused: 422,
    Forbidden: 403,
    Unauthenticated: 401,
}
_SLUG = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    412: "precondition-failed",
    413: "payload-too-large",
    422: "validation-failed",
    500: "internal-error",
    503: "service-unavailable",
}


def problem(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    instance: str | None = None,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"/problems/{_SLUG.get(status, str(status))}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _status_of(exc: DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in _STATUS:
            return _STATUS[cls]
    return 400


async def domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    errors = None
    if isinstance(exc, ValidationFailed | UnknownQueryParameter):
        errors = [e.as_dict() for e in exc.errors]
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthenticated) else None
    if isinstance(exc, RequestInFlight):
        headers = {"Retry-After": str(exc.retry_after_seconds)}
    return problem(
        _status_of(exc),
        exc.title,
        exc.detail,
        instance=request.url.path,
        errors=errors,
        headers=headers,
    )


def field_path(loc: tuple[int | str, ...]) -> str:
    """``("body", "addresses", 0, "add", "country")`` -> ``addresses[0].country``."""
    parts = list(loc[1:]) if loc and loc[0] in ("body", "query", "path", "header") else list(loc)
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in ("add", "update", "delete") or "[" in str(part) or "function-" in str(part):
            continue  # discriminator tags and union branch names say nothing to the user
        else:
            path += f".{part}" if path else str(part)
    return path or str(loc[0] if loc else "body")


async def request_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors: list[dict[str, str]] = []
    for error in exc.errors():
        path = field_path(tuple(error.get("loc", ())))
        kind = str(error.get("type", "invalid"))
        if kind == "extra_forbidden":
            name = path.rsplit(".", 1)[-1]
            if name in SERVER_OWNED and "." not in path:
                errors.append(
                    {
                        "field": path,
                        "code": "read_only",
                        "message": "is set by the server and cannot be given",
                    }
                )
            else:
                errors.append(
                    {
                        "field": path,
                        "code": "unknown_field",
                        "message": "is not a field of this record",
                    }
                )
            continue
        errors.append({"field": path, "code": kind, "message": str(error.get("msg", "invalid"))})
    return problem(
        422,
        "Validation failed",
        "the request is not valid",
        instance=request.url.path,
        errors=errors,
    )


def allowed_methods(request: Request) -> str:
    """Every method the routes of this path accept (Starlette names only the first)."""
    methods: set[str] = set()
    for route in request.app.routes:
        match, _ = route.matches({**request.scope, "method": "__none__"})
        if match is not Match.NONE and isinstance(route, BaseRoute):
            methods |= set(getattr(route, "methods", None) or ())
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "HTTP error")
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request)
    return problem(
        exc.status_code,
        title,
        str(exc.detail),
        instance=request.url.path,
        headers=headers or None,
    )


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    # the server's state after an unexpected error is unknown: the client reconnects
    return problem(
        500,
        "Internal error",
        "the error was logged",
        instance=request.url.path,
        headers={"Connection": "close"},
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(RequestValidationError, request_validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected_error)
