"""The syntax of the expression language: a small, side-effect-free subset of CEL.

Grammar (lowest precedence first)::

    expr    := or ("?" expr ":" expr)?
    or      := and ("||" and)*
    and     := rel ("&&" rel)*
    rel     := add (("==" | "!=" | "<" | "<=" | ">" | ">=" | "in") add)?
    add     := mul (("+" | "-") mul)*
    mul     := unary (("*" | "/") unary)*
    unary   := ("!" | "-") unary | member
    member  := primary ("." IDENT "(" args ")")*
    primary := INT | DOUBLE | STRING | "true" | "false" | IDENT | IDENT "(" args ")"
             | "(" expr ")" | "[" args "]"

Every node records the offset of its first character, so the checker can point at it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from custmaster.domain.expressions.errors import ExpressionError
from custmaster.domain.expressions.types import Type

#: the longest expression accepted (characters)
MAX_LENGTH = 4000
#: the deepest nesting accepted
MAX_DEPTH = 64


@dataclass(frozen=True, slots=True)
class Node:
    pos: int
    type: Type | None = field(default=None, kw_only=True, compare=False)


@dataclass(frozen=True, slots=True)
class Literal(Node):
    value: Any  # int, float, bool, str or datetime.date (after checking ``date("...")``)


@dataclass(frozen=True, slots=True)
class Ident(Node):
    name: str


@dataclass(frozen=True, slots=True)
class Unary(Node):
    op: str  # "!" or "-"
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary(Node):
    op: str  # || && == != < <= > >= in + - * /
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class ListLit(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Call(Node):
    name: str
    target: Node | None  # ``target.name(args)``; None for ``name(args)``
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Cond(Node):
    test: Node
    then: Node
    other: Node


_TOKEN = re.compile(
    r"""(?P<ws>\s+)
      | (?P<double>\d+\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+)
      | (?P<int>\d+)
      | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
      | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op>\|\||&&|==|!=|<=|>=|[<>!+\-*/?:()\[\],.])
    """,
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'"}
_RELATIONS = ("==", "!=", "<", "<=", ">", ">=", "in")
_KEYWORDS = {"true": True, "false": False}
_RESERVED = frozenset(
    {
        "null",
        "in",
        "as",
        "break",
        "const",
        "continue",
        "else",
        "for",
        "function",
        "if",
        "import",
        "let",
        "loop",
        "package",
        "namespace",
        "return",
        "var",
        "void",
        "while",
    }
)


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # double, int, string, ident, op, end
    text: str
    pos: int


def _unescape(text: str, pos: int, source: str) -> str:
    out: list[str] = []
    i = 1
    while i < len(text) - 1:
        char = text[i]
        if char == "\\":
            nxt = text[i + 1]
            if nxt not in _ESCAPES:
                raise ExpressionError(source, pos + i, f"unknown escape \\{nxt}")
            out.append(_ESCAPES[nxt])
            i += 2
        else:
            out.append(char)
            i += 1
    return "".join(out)


def tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(source):
        found = _TOKEN.match(source, pos)
        if found is None:
            char = source[pos]
            what = "unterminated string" if char in "\"'" else f"unexpected character {char!r}"
            raise ExpressionError(source, pos, what)
        kind = found.lastgroup or ""
        if kind != "ws":
            tokens.append(_Token(kind, found.group(), pos))
        pos = found.end()
    tokens.append(_Token("end", "", len(source)))
    return tokens


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def fail(self, message: str, pos: int | None = None) -> ExpressionError:
        return ExpressionError(self.source, self.tok.pos if pos is None else pos, message)

    def take(self, text: str) -> bool:
        if self.tok.kind in ("op", "ident") and self.tok.text == text:
            self.i += 1
            return True
        return False

    def expect(self, text: str) -> _Token:
        tok = self.tok
        if not self.take(text):
            got = "the end" if tok.kind == "end" else repr(tok.text)
            raise self.fail(f"expected {text!r}, found {got}")
        return tok

    def parse(self) -> Node:
        node = self.expr()
        if self.tok.kind != "end":
            raise self.fail(f"unexpected {self.tok.text!r}")
        return node

    def expr(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"nested deeper than {MAX_DEPTH}")
        test = self.or_()
        if self.take("?"):
            then = self.expr()
            self.expect(":")
            other = self.expr()
            test = Cond(test.pos, test, then, other)
        self.depth -= 1
        return test

    def or_(self) -> Node:
        node = self.and_()
        while self.tok.text == "||" and self.tok.kind == "op":
            self.i += 1
            node = Binary(node.pos, "||", node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.rel()
        while self.tok.text == "&&" and self.tok.kind == "op":
            self.i += 1
            node = Binary(node.pos, "&&", node, self.rel())
        return node

    def rel(self) -> Node:
        node = self.add()
        if self.tok.text in _RELATIONS and self.tok.kind in ("op", "ident"):
            op = self.tok.text
            self.i += 1
            node = Binary(node.pos, op, node, self.add())
            if self.tok.text in _RELATIONS and self.tok.kind in ("op", "ident"):
                raise self.fail("comparisons do not chain: add parentheses")
        return node

    def add(self) -> Node:
        node = self.mul()
        while self.tok.kind == "op" and self.tok.text in ("+", "-"):
            op = self.tok.text
            self.i += 1
            node = Binary(node.pos, op, node, self.mul())
        return node

    def mul(self) -> Node:
        node = self.unary()
        while self.tok.kind == "op" and self.tok.text in ("*", "/"):
            op = self.tok.text
            self.i += 1
            node = Binary(node.pos, op, node, self.unary())
        return node

    def unary(self) -> Node:
        tok = self.tok
        if tok.kind == "op" and tok.text in ("!", "-"):
            self.i += 1
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.fail(f"nested deeper than {MAX_DEPTH}")
            operand = self.unary()
            self.depth -= 1
            number = isinstance(operand, Literal) and type(operand.value) in (int, float)
            if tok.text == "-" and number and isinstance(operand, Literal):
                return Literal(tok.pos, -operand.value)
            return Unary(tok.pos, tok.text, operand)
        return self.member()

    def member(self) -> Node:
        node = self.primary()
        while self.tok.kind == "op" and self.tok.text == ".":
            self.i += 1
            name = self.tok
            if name.kind != "ident":
                raise self.fail("expected a method name after '.'")
            self.i += 1
            self.expect("(")
            node = Call(name.pos, name.text, node, self.args(")"))
        return node

    def args(self, close: str) -> tuple[Node, ...]:
        items: list[Node] = []
        if self.take(close):
            return ()
        while True:
            items.append(self.expr())
            if self.take(close):
                return tuple(items)
            self.expect(",")

    def primary(self) -> Node:
        tok = self.tok
        self.i += 1
        if tok.kind == "int":
            value = int(tok.text)
            if value > 2**63 - 1:
                raise self.fail("integer out of range", tok.pos)
            return Literal(tok.pos, value)
        if tok.kind == "double":
            return Literal(tok.pos, float(tok.text))
        if tok.kind == "string":
            return Literal(tok.pos, _unescape(tok.text, tok.pos, self.source))
        if tok.kind == "ident":
            if tok.text in _KEYWORDS:
                return Literal(tok.pos, _KEYWORDS[tok.text])
            if tok.text in _RESERVED:
                raise self.fail(f"{tok.text!r} is reserved", tok.pos)
            if self.take("("):
                return Call(tok.pos, tok.text, None, self.args(")"))
            return Ident(tok.pos, tok.text)
        if tok.kind == "op" and tok.text == "(":
            node = self.expr()
            self.expect(")")
            return node
        if tok.kind == "op" and tok.text == "[":
            return ListLit(tok.pos, self.args("]"))
        self.i -= 1
        raise self.fail(
            "unexpected end of expression" if tok.kind == "end" else f"unexpected {tok.text!r}"
        )


def parse(source: str) -> Node:
    """The syntax tree of ``source`` (raises :class:`ExpressionError` with the position)."""
    if len(source) > MAX_LENGTH:
        raise ExpressionError(source, MAX_LENGTH, f"longer than {MAX_LENGTH} characters")
    if not source.strip():
        raise ExpressionError(source, 0, "empty expression")
    return _Parser(source).parse()
