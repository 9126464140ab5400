"""The SQL translation of type-checked expressions (``domain/expressions``).

:func:`to_sql` turns a typed tree into a SQLAlchemy Core expression over the columns a
resolver names. NULL in SQL and a missing value in ``domain.expressions.evaluate`` mean
the same thing by construction (three-valued ``AND``/``OR``/``NOT``, ``CASE WHEN`` for
``?:``), and every function is written with what both databases compute alike:

- ``size(s)``: ``length``; ``s.startsWith(x)``: ``substr(s, 1, length(x)) = x``;
  ``s.endsWith(x)``: a length test and ``substr`` from the end; ``s.contains(x)``:
  ``instr`` (SQLite) / ``strpos`` (PostgreSQL) -- never ``LIKE``, which is
  case-insensitive on SQLite and treats ``%`` and ``_`` specially;
- ``days_since(d)``: the day difference to the evaluation day (a bound parameter);
- ``/``: both sides cast to double precision (the divisor is a non-zero literal);
- ``x in list_field``: ``list_field`` is stored as ``|a|b|``; a value containing ``|``
  is never a member.

``tests/persistence/test_expression_sql_property.py`` checks the agreement on random
profiles and random well-typed expressions, on both databases.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Date,
    Float,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    not_,
    or_,
    type_coerce,
)
from sqlalchemy.types import TypeEngine

from custmaster.domain.expressions import (
    Binary,
    Call,
    Cond,
    Ident,
    ListLit,
    Literal,
    Node,
    Type,
    Unary,
)

Resolver = Callable[[str], ColumnElement[Any]]
_DOUBLE = Float(precision=53)
SQL_TYPES: dict[Type, TypeEngine[Any]] = {
    Type.INT: BigInteger(),
    Type.DOUBLE: _DOUBLE,
    Type.BOOL: Boolean(),
    Type.STRING: String(),
    Type.DATE: Date(),
}


class _Translator:
    def __init__(self, resolve: Resolver, dialect: str, today: date) -> None:
        self.resolve = resolve
        self.dialect = dialect
        self.today = today

    def find(self, text: ColumnElement[Any], part: ColumnElement[Any]) -> ColumnElement[Any]:
        """The 1-based position of ``part`` in ``text`` (0: absent)."""
        name = "strpos" if self.dialect == "postgresql" else "instr"
        return getattr(func, name)(text, part)  # type: ignore[no-any-return]

    def sql(self, node: Node) -> ColumnElement[Any]:
        if isinstance(node, Literal):
            assert node.type is not None
            value = float(node.value) if node.type is Type.DOUBLE else node.value
            return literal(value, SQL_TYPES[node.type])
        if isinstance(node, Ident):
            return self.resolve(node.name)
        if isinstance(node, Unary):
            operand = self.sql(node.operand)
            return not_(operand) if node.op == "!" else -operand
        if isinstance(node, Binary):
            return self.binary(node)
        if isinstance(node, Call):
            return self.call(node)
        if isinstance(node, Cond):
            return case((self.sql(node.test), self.sql(node.then)), else_=self.sql(node.other))
        raise TypeError(f"cannot translate {type(node).__name__}")  # pragma: no cover

    def binary(self, node: Binary) -> ColumnElement[Any]:
        op = node.op
        left = self.sql(node.left)
        if op == "in":
            if isinstance(node.right, ListLit):
                return left.in_([self.sql(item) for item in node.right.items])
            stored = func.coalesce(self.sql(node.right), literal("|"))
            needle = literal("|") + left + literal("|")
            return and_(self.find(left, literal("|")) == 0, self.find(stored, needle) > 0)
        right = self.sql(node.right)
        if op == "&&":
            return and_(left, right)
        if op == "||":
            return or_(left, right)
        if op == "/":
            return cast(left, _DOUBLE) / cast(right, _DOUBLE)
        operators: dict[str, Callable[[Any, Any], ColumnElement[Any]]] = {
            "==": lambda a, b: a == b,
            "!=": lambda a, b: a != b,
            "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b,
            ">": lambda a, b: a > b,
            ">=": lambda a, b: a >= b,
            "+": lambda a, b: a + b,
            "-": lambda a, b: a - b,
            "*": lambda a, b: a * b,
        }
        return operators[op](left, right)

    def call(self, node: Call) -> ColumnElement[Any]:
        arg = self.sql(node.args[0])
        if node.target is not None:
            target = self.sql(node.target)
            if node.name == "startsWith":
                return func.substr(target, 1, func.length(arg)) == arg
            if node.name == "endsWith":
                start = func.length(target) - func.length(arg) + 1
                return and_(
                    func.length(arg) <= func.length(target), func.substr(target, start) == arg
                )
            return self.find(target, arg) > 0
        if node.name == "size":
            return type_coerce(func.length(arg), BigInteger())
        # days_since
        today = literal(self.today, Date())
        if self.dialect == "postgresql":
            return type_coerce(cast(today, Date()) - arg, BigInteger())
        return cast(func.julianday(today) - func.julianday(arg), BigInteger())


def to_sql(node: Node, resolve: Resolver, dialect: str, today: date) -> ColumnElement[Any]:
    """The SQL expression of a type-checked tree; ``resolve`` maps a name to its column,
    ``dialect`` is ``"sqlite"`` or ``"postgresql"``, ``today`` the day of ``days_since``."""
    return _Translator(resolve, dialect, today).sql(node)


# -- which expressions can hold on a customer without a profile row ----------------------

_T, _F, _N, _V = "true", "false", "null", "value"
_ANY_BOOL = frozenset({_T, _F, _N})
_ANY_VALUE = frozenset({_N, _V})


def _and(a: str, b: str) -> str:
    if _F in (a, b):
        return _F
    return _N if _N in (a, b) else _T


def _or(a: str, b: str) -> str:
    if _T in (a, b):
        return _T
    return _N if _N in (a, b) else _F


class _Possible:
    """The outcomes an expression may have when the names in ``known`` have any value and
    every other name is missing (SQL NULL): ``true``/``false``/``null`` for a bool,
    ``value``/``null`` for the others. An over-approximation: it may list an outcome that
    cannot happen, never leave out one that can."""

    def __init__(self, known: frozenset[str]) -> None:
        self.known = known

    def of(self, node: Node) -> frozenset[str]:
        if isinstance(node, Literal):
            if node.type is Type.BOOL:
                return frozenset({_T if node.value else _F})
            return frozenset({_V})
        if isinstance(node, Ident):
            if node.name not in self.known:
                return frozenset({_N})
            return _ANY_BOOL if node.type is Type.BOOL else _ANY_VALUE
        if isinstance(node, Unary):
            inner = self.of(node.operand)
            if node.op == "!":
                flip = {_T: _F, _F: _T, _N: _N}
                return frozenset(flip[o] for o in inner)
            return inner
        if isinstance(node, Cond):
            test = self.of(node.test)
            out: set[str] = set()
            if _T in test:
                out |= self.of(node.then)
            if test & {_F, _N}:
                out |= self.of(node.other)
            return frozenset(out)
        if isinstance(node, Binary) and node.op in ("&&", "||"):
            combine = _and if node.op == "&&" else _or
            left, right = self.of(node.left), self.of(node.right)
            return frozenset(combine(a, b) for a in left for b in right)
        if isinstance(node, Binary) and node.op == "in" and not isinstance(node.right, ListLit):
            # membership of a stored list: a missing list is empty (never a member)
            if self.of(node.right) == {_N}:
                return frozenset({_F, _N})
            return _ANY_BOOL
        operands: list[Node] = []
        if isinstance(node, Binary):
            operands = [node.left] if isinstance(node.right, ListLit) else [node.left, node.right]
        elif isinstance(node, Call):
            operands = [*([node.target] if node.target is not None else []), *node.args]
        if any(self.of(o) == {_N} for o in operands):
            return frozenset({_N})  # strict: a missing operand gives a missing result
        return _ANY_BOOL if node.type is Type.BOOL else _ANY_VALUE


def can_hold(node: Node, known: frozenset[str]) -> bool:
    """Whether the bool expression ``node`` may be true when only the names in ``known``
    have values and every other name is missing. ``False`` is a proof (the SQL need not
    look for such rows); ``True`` only says it was not ruled out."""
    return _T in _Possible(known).of(node)
