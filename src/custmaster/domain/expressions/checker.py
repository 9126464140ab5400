"""The type checker: every node gets its type, or the expression is refused with the
position of the first node that does not type-check.

The rules (a deliberate subset of CEL's, chosen so that every well-typed expression has
a SQL translation with the same meaning, see ``docs/profile-rules.md``):

- ``int`` and ``double`` mix: arithmetic on an ``int`` and a ``double`` is ``double``,
  and they compare with each other (CEL's cross-type numeric comparisons).
- ``< <= > >=`` order numbers and dates only (string order depends on the database's
  collation); ``== !=`` compare two values of one type (or two numbers).
- ``/`` divides by a non-zero number literal only and is always ``double``.
- ``x in [..]``: a non-empty list of literals of ``x``'s type; ``s in segments``: a
  string in a list-valued field.
- functions: ``size(string)``, ``date("YYYY-MM-DD")``, ``days_since(date)``; methods on
  strings: ``startsWith``, ``endsWith``, ``contains``.
"""

from __future__ import annotations

import difflib
from dataclasses import replace
from datetime import date

from custmaster.domain.expressions.errors import ExpressionError
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

_ORDER = ("<", "<=", ">", ">=")
_STRING_METHODS = ("startsWith", "endsWith", "contains")
_FUNCTIONS = ("size", "date", "days_since")


def _numeric(a: Type, b: Type) -> Type:
    return Type.INT if a is Type.INT and b is Type.INT else Type.DOUBLE


def _comparable(a: Type, b: Type) -> bool:
    return a == b or (a.is_numeric and b.is_numeric)


class _Checker:
    def __init__(self, source: str, schema: Schema) -> None:
        self.source = source
        self.schema = schema

    def fail(self, node: Node, message: str) -> ExpressionError:
        return ExpressionError(self.source, node.pos, message)

    def check(self, node: Node) -> Node:
        if isinstance(node, Literal):
            return self.literal(node)
        if isinstance(node, Ident):
            return self.ident(node)
        if isinstance(node, Unary):
            return self.unary(node)
        if isinstance(node, Binary):
            return self.binary(node)
        if isinstance(node, ListLit):
            return self.list(node)
        if isinstance(node, Call):
            return self.call(node)
        if isinstance(node, Cond):
            return self.cond(node)
        raise self.fail(node, "unsupported expression")  # pragma: no cover

    def literal(self, node: Literal) -> Node:
        value = node.value
        kind = (
            Type.BOOL
            if isinstance(value, bool)
            else Type.INT
            if isinstance(value, int)
            else Type.DOUBLE
            if isinstance(value, float)
            else Type.STRING
        )
        return replace(node, type=kind)

    def ident(self, node: Ident) -> Node:
        kind = self.schema.get(node.name)
        if kind is None:
            close = difflib.get_close_matches(node.name, list(self.schema), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise self.fail(node, f"unknown name {node.name!r}{hint}")
        return replace(node, type=kind)

    def unary(self, node: Unary) -> Node:
        operand = self.check(node.operand)
        assert operand.type is not None
        if node.op == "!":
            if operand.type is not Type.BOOL:
                raise self.fail(node, f"'!' needs a bool, not {operand.type}")
        elif not operand.type.is_numeric:
            raise self.fail(node, f"'-' needs a number, not {operand.type}")
        return replace(node, operand=operand, type=operand.type)

    def binary(self, node: Binary) -> Node:
        left, right = self.check(node.left), self.check(node.right)
        a, b = left.type, right.type
        assert a is not None and b is not None
        op = node.op
        result: Type
        if op in ("&&", "||"):
            for side in (left, right):
                if side.type is not Type.BOOL:
                    raise self.fail(side, f"'{op}' needs bool operands, not {side.type}")
            result = Type.BOOL
        elif op in ("==", "!="):
            if a.is_list or b.is_list or not _comparable(a, b):
                raise self.fail(right, f"cannot compare {a} with {b} using '{op}'")
            result = Type.BOOL
        elif op in _ORDER:
            if not (_comparable(a, b) and (a.is_numeric or a is Type.DATE)):
                raise self.fail(
                    right if a.is_numeric or a is Type.DATE else left,
                    f"'{op}' orders numbers or dates, not {a} and {b}",
                )
            result = Type.BOOL
        elif op == "in":
            if not b.is_list:
                raise self.fail(right, f"'in' needs a list on its right, not {b}")
            if not _comparable(a, b.element) or a.is_list:
                raise self.fail(left, f"a {a} is never in a {b}")
            if not isinstance(right, ListLit) and a is not Type.STRING:  # pragma: no cover
                raise self.fail(left, "only strings are looked up in list fields")
            result = Type.BOOL
        else:  # + - * /
            for side in (left, right):
                if side.type is None or not side.type.is_numeric:
                    raise self.fail(side, f"'{op}' needs numbers, not {side.type}")
            if op == "/":
                if not (isinstance(right, Literal) and right.value != 0):
                    raise self.fail(right, "'/' divides by a non-zero number literal only")
                result = Type.DOUBLE
            else:
                result = _numeric(a, b)
        return replace(node, left=left, right=right, type=result)

    def list(self, node: ListLit) -> Node:
        if not node.items:
            raise self.fail(node, "an empty list matches nothing: leave the test out")
        items = tuple(self.check(item) for item in node.items)
        kinds = {item.type for item in items}
        for item in items:
            if not isinstance(item, Literal):
                raise self.fail(item, "list elements are literals")
        if kinds <= {Type.INT, Type.DOUBLE}:
            element = Type.INT if kinds == {Type.INT} else Type.DOUBLE
            if element is Type.DOUBLE:
                items = tuple(
                    replace(i, value=float(i.value), type=Type.DOUBLE)
                    for i in items
                    if isinstance(i, Literal)
                )
        elif len(kinds) == 1 and (kinds <= {Type.STRING, Type.DATE}):
            element = items[0].type or Type.STRING
        else:
            raise self.fail(node, "list elements are numbers, strings or dates of one type")
        return replace(node, items=items, type=Type.list_of(element))

    def call(self, node: Call) -> Node:
        args = tuple(self.check(arg) for arg in node.args)
        if node.target is not None:
            target = self.check(node.target)
            if node.name not in _STRING_METHODS:
                raise self.fail(
                    node, f"unknown method {node.name!r} (known: {', '.join(_STRING_METHODS)})"
                )
            if target.type is not Type.STRING:
                raise self.fail(target, f"{node.name} is a method of strings, not {target.type}")
            self.arity(node, args, Type.STRING)
            return replace(node, target=target, args=args, type=Type.BOOL)
        if node.name == "size":
            self.arity(node, args, Type.STRING)
            return replace(node, args=args, type=Type.INT)
        if node.name == "days_since":
            self.arity(node, args, Type.DATE)
            return replace(node, args=args, type=Type.INT)
        if node.name == "date":
            self.arity(node, args, Type.STRING)
            text = args[0]
            if not isinstance(text, Literal):
                raise self.fail(text, 'date() takes a literal "YYYY-MM-DD"')
            try:
                day = date.fromisoformat(text.value)
            except ValueError:
                raise self.fail(text, f"not a date (YYYY-MM-DD): {text.value!r}") from None
            return Literal(node.pos, day, type=Type.DATE)
        raise self.fail(node, f"unknown function {node.name!r} (known: {', '.join(_FUNCTIONS)})")

    def arity(self, node: Call, args: tuple[Node, ...], kind: Type) -> None:
        if len(args) != 1:
            raise self.fail(node, f"{node.name} takes one {kind} argument, not {len(args)}")
        if args[0].type is not kind:
            raise self.fail(args[0], f"{node.name} takes a {kind}, not {args[0].type}")

    def cond(self, node: Cond) -> Node:
        test, then, other = self.check(node.test), self.check(node.then), self.check(node.other)
        if test.type is not Type.BOOL:
            raise self.fail(test, f"the condition of '?' is a bool, not {test.type}")
        a, b = then.type, other.type
        assert a is not None and b is not None
        if not _comparable(a, b) or a.is_list:
            raise self.fail(other, f"both branches of '?' have one type, not {a} and {b}")
        kind = _numeric(a, b) if a.is_numeric else a
        return replace(node, test=test, then=then, other=other, type=kind)


def check(source: str, schema: Schema, expect: Type | tuple[Type, ...] | None = None) -> Node:
    """Parse and type-check ``source`` against ``schema``; the typed tree. With
    ``expect``, the whole expression must be of that type (or one of those types)."""
    tree = _Checker(source, schema).check(parse(source))
    if expect is not None:
        wanted = expect if isinstance(expect, tuple) else (expect,)
        if tree.type not in wanted:
            names = " or ".join(w.value for w in wanted)
            raise ExpressionError(
                source, tree.pos, f"the expression is a {tree.type}, it must be a {names}"
            )
    return tree
