"""Schemas shared by every router: problem details, warnings, pages."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


class Strict(BaseModel):
    """Request bodies: unknown and server-owned fields are rejected, never ignored."""

    model_config = ConfigDict(extra="forbid")


class FieldErrorOut(BaseModel):
    field: str
    code: str
    message: str


class WarningOut(BaseModel):
    field: str | None
    code: str
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem detail."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldErrorOut] | None = None


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


PROBLEM_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": Problem, "content": {"application/problem+json": {}}, "description": text}
    for status, text in {
        400: "Malformed request body",
        401: "Unauthenticated",
        403: "Forbidden",
        404: "Not found",
        409: "Conflict",
        412: "Stale If-Match",
        413: "Request body too large (docs/limits.md)",
        422: "Invalid input",
        500: "Internal error",
        503: "The database cannot be used now (retry after Retry-After seconds)",
    }.items()
}


def problems(*statuses: int) -> dict[int | str, dict[str, object]]:
    """The problem responses an operation declares in the OpenAPI document."""
    return {
        status: PROBLEM_RESPONSES[status]
        for status in (*statuses, 400, 401, 403, 413, 422, 500, 503)
    }
