"""The application's routes, read from its route table and its OpenAPI document, so that
the security suite covers a new route without anyone adding it to a list."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from uuid import UUID

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from custmaster.api.app import create_app
from custmaster.bootstrap import build_container
from custmaster.config import Settings

_PARAM = re.compile(r"{([^}:]+)(?::[^}]*)?}")
#: An id no object has (a valid UUID v4, so it passes validation and reaches the check).
GHOST_UUID = "00000000-0000-4000-8000-000000000000"


@dataclass(frozen=True)
class Route:
    """One method of one path of the application, with what its OpenAPI operation says."""

    method: str
    path: str
    name: str
    operation: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    #: the path as the OpenAPI document names it (``{id}`` for ``{id:path}``)
    operation_path: str = ""

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def path_params(self) -> list[str]:
        return _PARAM.findall(self.path)

    @property
    def query_params(self) -> list[dict[str, Any]]:
        return [p for p in self.operation.get("parameters", []) if p.get("in") == "query"]

    @property
    def has_body(self) -> bool:
        return "requestBody" in self.operation

    @property
    def body_media_types(self) -> list[str]:
        return list(self.operation.get("requestBody", {}).get("content", {}))

    def param_schema(self, name: str) -> dict[str, Any]:
        for parameter in self.operation.get("parameters", []):
            if parameter.get("name") == name:
                schema: dict[str, Any] = parameter.get("schema", {})
                return schema
        return {}

    def url(self, values: dict[str, str]) -> str:
        """The path with its parameters filled from ``values``."""

        def fill(match: re.Match[str]) -> str:
            return values[match.group(1)]

        return _PARAM.sub(fill, self.path)

    def ghost_url(self) -> str:
        """The path with placeholders of the right shape that name no object."""
        return self.url({name: ghost_value(self.param_schema(name)) for name in self.path_params})

    def __str__(self) -> str:
        return self.key


def ghost_value(schema: dict[str, Any]) -> str:
    if schema.get("format") == "uuid":
        return GHOST_UUID
    if schema.get("type") == "integer":
        return "987654321"
    return "ZZNONE"


def routes_of(app: FastAPI) -> list[Route]:
    """Every HTTP route of ``app`` (one per method), with its OpenAPI operation when it
    has one. The documentation routes (``/docs``, ``/openapi.json``) are left out."""
    paths = app.openapi().get("paths", {})
    found: list[Route] = []
    for context in iter_route_contexts(app.routes):
        original = context.original_route
        if not isinstance(original, APIRoute):
            continue
        for method in sorted(original.methods or ()):
            operation = paths.get(original.path_format, {}).get(method.lower(), {})
            found.append(
                Route(method, original.path, original.name, operation, original.path_format)
            )
    return found


@cache
def offline_app() -> FastAPI:
    """The application over a database never connected to: its route table and OpenAPI
    document do not depend on the data, so tests are generated from them at collection."""
    return create_app(build_container(Settings(database_url="sqlite://"), migrate=False))


#: the steward console's routes (session cookie, HTML): tests/security/test_console.py
CONSOLE_PREFIX = "/console"


def is_console_route(path: str) -> bool:
    return path == CONSOLE_PREFIX or path.startswith(f"{CONSOLE_PREFIX}/")


@cache
def all_routes() -> tuple[Route, ...]:
    """Every route of the JSON API (the console's have their own suite)."""
    return tuple(r for r in routes_of(offline_app()) if not is_console_route(r.path))


@cache
def console_routes() -> tuple[Route, ...]:
    """Every route of the steward console."""
    return tuple(r for r in routes_of(offline_app()) if is_console_route(r.path))


def console_ghost_url(route: Route) -> str:
    """The console route's path with placeholders of the type its function declares
    (console routes are not in the OpenAPI document) that name no object."""
    found = next(
        c.original_route
        for c in iter_route_contexts(offline_app().routes)
        if isinstance(c.original_route, APIRoute) and c.original_route.path == route.path
    )
    kinds = {p.name: p.field_info.annotation for p in found.dependant.path_params}
    values = {}
    for name in route.path_params:
        kind = kinds.get(name)
        values[name] = GHOST_UUID if kind is UUID else "987654321" if kind is int else "ZZNONE"
    return route.url(values)


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    """A schema with its ``$ref`` (to the application's components) followed."""
    ref = schema.get("$ref")
    if not ref:
        return schema
    found: Any = offline_app().openapi()
    for part in ref.removeprefix("#/").split("/"):
        found = found[part]
    return resolve(found)


def openapi_enum(schema: dict[str, Any]) -> list[str]:
    """The values of an enumerated parameter (also under anyOf/$ref); [] otherwise."""
    schema = resolve(schema)
    if "enum" in schema:
        return [str(v) for v in schema["enum"]]
    for option in schema.get("anyOf", []):
        values = openapi_enum(option)
        if values:
            return values
    return []


def route_ids(routes: tuple[Route, ...] | list[Route]) -> list[str]:
    return [r.key for r in routes]


#: Routes of the API's documentation (public by design)
#: (``/docs-static``: the Swagger UI and ReDoc scripts, api.docs_pages)
DOCUMENTATION = frozenset(
    {"/openapi.json", "/asyncapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/docs-static"}
)


@cache
def other_routes() -> tuple[tuple[str, str], ...]:
    """(method, path) of every route that is not an API route nor documentation (e.g. an
    ASGI endpoint such as the MCP server's), which the permission table does not cover."""
    found: list[tuple[str, str]] = []
    for context in iter_route_contexts(offline_app().routes):
        original = context.original_route
        path = getattr(original, "path", None)
        if isinstance(original, APIRoute) or path is None or path in DOCUMENTATION:
            continue
        methods = sorted(getattr(original, "methods", None) or {"GET", "POST"})
        found += [(m, path) for m in methods if m != "HEAD"]
    return tuple(found)
