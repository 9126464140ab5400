"""The typed, side-effect-free expression language of profile rules and segment queries
(a subset of CEL; ``docs/profile-rules.md``): :func:`check` parses and type-checks an
expression against a schema (an error names its position), :func:`compile_tree` makes it
evaluable on a mapping of values. The SQL translation of the same trees lives in
``persistence/expression_sql.py``.
"""

from custmaster.domain.expressions.checker import check
from custmaster.domain.expressions.errors import ExpressionError, PositionedError
from custmaster.domain.expressions.evaluate import Compiled, compile_tree, holds
from custmaster.domain.expressions.syntax import (
    Binary,
    Call,
    Cond,
    Ident,
    ListLit,
    Literal,
    Node,
    Unary,
    parse,
)
from custmaster.domain.expressions.types import Schema, Type

__all__ = [
    "Binary",
    "Call",
    "Compiled",
    "Cond",
    "ExpressionError",
    "Ident",
    "ListLit",
    "Literal",
    "Node",
    "PositionedError",
    "Schema",
    "Type",
    "Unary",
    "check",
    "compile_tree",
    "holds",
    "parse",
]
