"""The types of the expression language and the schema an expression is checked against."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class Type(StrEnum):
    INT = "int"
    DOUBLE = "double"
    BOOL = "bool"
    STRING = "string"
    DATE = "date"
    LIST_STRING = "list<string>"
    LIST_INT = "list<int>"
    LIST_DOUBLE = "list<double>"

    @property
    def is_numeric(self) -> bool:
        return self in (Type.INT, Type.DOUBLE)

    @property
    def is_list(self) -> bool:
        return self.value.startswith("list<")

    @property
    def element(self) -> Type:
        """The type of a list's elements."""
        return Type(self.value[5:-1])

    @staticmethod
    def list_of(element: Type) -> Type:
        return Type(f"list<{element.value}>")


#: identifier -> type: what an expression may name
Schema = Mapping[str, Type]
