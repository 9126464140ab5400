"""Domain errors.

They carry no HTTP status: ``custmaster.api.problems`` maps each class to a problem
detail (RFC 9457). Validation failures collect every problem found, each naming the
field path it concerns (``email``, ``addresses[0].country``, ``overrides.DE01.currency``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field of a request or record."""

    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


@dataclass(frozen=True, slots=True)
class ChangeWarning:
    """A non-blocking remark about an otherwise valid change."""

    field: str | None
    code: str
    message: str

    def as_dict(self) -> dict[str, str | None]:
        return {"field": self.field, "code": self.code, "message": self.message}


class DomainError(Exception):
    """Base class of every error the domain and the services raise on purpose."""

    title = "Domain error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ValidationFailed(DomainError):
    """The input breaks one or more field or business rules."""

    title = "Validation failed"

    def __init__(self, errors: Iterable[FieldError], detail: str | None = None) -> None:
        self.errors: list[FieldError] = list(errors)
        super().__init__(detail or "; ".join(f"{e.field}: {e.message}" for e in self.errors))


class NotFound(DomainError):
    title = "Not found"


class Conflict(DomainError):
    title = "Conflict"


class StaleVersion(DomainError):
    """The caller's expected version (If-Match) is not the current one."""

    title = "Precondition failed"

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"expected version {expected}, the current version is {actual}")
        self.expected = expected
        self.actual = actual


class IdempotencyKeyReused(DomainError):
    """The same Idempotency-Key came back with another request body."""

    title = "Idempotency key reused"


class RequestInFlight(Conflict):
    """A request with the same Idempotency-Key is still running; retry after a while."""

    title = "Request in flight"

    def __init__(self, detail: str, retry_after_seconds: int) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds


class Forbidden(DomainError):
    title = "Forbidden"


class Unauthenticated(DomainError):
    title = "Unauthenticated"


@dataclass
class ErrorCollector:
    """Collects field errors so a request reports all its problems at once."""

    errors: list[FieldError] = field(default_factory=list)

    def add(self, field_path: str, code: str, message: str) -> None:
        self.errors.append(FieldError(field_path, code, message))

    def extend(self, errors: Iterable[FieldError]) -> None:
        self.errors.extend(errors)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)

    def __bool__(self) -> bool:
        return bool(self.errors)
