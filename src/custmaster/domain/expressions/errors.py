"""The expression language's error: what went wrong and where (offset, line, column)."""

from __future__ import annotations

from dataclasses import dataclass

from custmaster.domain.errors import FieldError, ValidationFailed


@dataclass(frozen=True, slots=True)
class PositionedError(FieldError):
    """A field error that points into an expression's text (0-based ``offset``;
    1-based ``line`` and ``column``)."""

    offset: int = 0
    line: int = 1
    column: int = 1

    def as_dict(self) -> dict[str, str]:  # the API's problem lists these keys too
        where = {"offset": self.offset, "line": self.line, "column": self.column}
        return {**FieldError.as_dict(self), **where}  # type: ignore[dict-item]


def locate(text: str, offset: int) -> tuple[int, int]:
    """The 1-based (line, column) of ``offset`` in ``text``."""
    before = text[:offset]
    line = before.count("\n") + 1
    return line, offset - (before.rfind("\n") + 1) + 1


class ExpressionError(ValidationFailed):
    """An expression does not parse or does not type-check (422 with the position)."""

    title = "Invalid expression"

    def __init__(self, text: str, offset: int, message: str, field: str = "expression") -> None:
        line, column = locate(text, offset)
        self.offset, self.line, self.column = offset, line, column
        self.message = message
        error = PositionedError(field, "invalid_expression", message, offset, line, column)
        super().__init__([error], f"{field}: {message} at line {line}, column {column}")

    def for_field(self, text: str, field: str) -> ExpressionError:
        """The same error reported against another request field (e.g. ``rules[2].when``)."""
        return ExpressionError(text, self.offset, self.message, field)
