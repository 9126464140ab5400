"""Value transforms a template applies to source cells, in the order it lists them.

Every transform takes the current value (text, or a list of lines after ``lines``) and a
:class:`TransformContext`, and returns the new value; an empty result means "the source
has no value" and the field is left out of the command. A value that cannot be converted
raises :class:`TransformError` with a machine-readable code; the mapper turns it into a
``{field, code, message}`` error of the record, never into an invented value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

import pycountry

from custmaster.services.imports.formula import unneutralise_cell


class TransformError(Exception):
    """A cell value cannot be converted; ``code`` is machine readable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class ValueMap:
    """A code translation table (``"Net30" -> "NET30"``), looked up exactly, then ignoring
    case and repeated whitespace.

    ``on_unknown``: ``error`` (default: the record gets an ``unknown_code`` error),
    ``keep`` (the source value passes through) or ``drop`` (treated as empty).
    """

    name: str
    values: Mapping[str, Any]
    on_unknown: str = "error"

    def lookup(self, value: str) -> Any:
        if value in self.values:
            return self.values[value]
        folded = _fold(value)
        for key, target in self.values.items():
            if _fold(key) == folded:
                return target
        if self.on_unknown == "keep":
            return value
        if self.on_unknown == "drop":
            return None
        raise TransformError("unknown_code", f"{value!r} is not in value map {self.name!r}")


@dataclass(frozen=True, slots=True)
class TransformContext:
    """What transforms need besides the value: the file's number/date conventions."""

    decimal_separator: str = "."
    thousands_separator: str = ""
    date_formats: tuple[str, ...] = ("%Y-%m-%d",)
    datetime_formats: tuple[str, ...] = ()
    value_maps: Mapping[str, ValueMap] | None = None
    native: bool = False  # the cell is a typed spreadsheet value in canonical form


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def _text(value: Any, name: str) -> str:
    if isinstance(value, list):
        raise TransformError("invalid_value", f"{name} expects a single value, not lines")
    return str(value)


def t_strip(value: Any, ctx: TransformContext) -> Any:
    if isinstance(value, list):
        return [str(item).strip() for item in value if str(item).strip()]
    return str(value).strip()


def t_collapse(value: Any, ctx: TransformContext) -> Any:
    return " ".join(_text(value, "collapse").split())


def t_upper(value: Any, ctx: TransformContext) -> Any:
    return _text(value, "upper").upper()


def t_lower(value: Any, ctx: TransformContext) -> Any:
    return _text(value, "lower").lower()


def t_lines(value: Any, ctx: TransformContext) -> Any:
    """Split a multi-line cell (street) into its non-empty lines."""
    if isinstance(value, list):
        return [line for item in value for line in t_lines(item, ctx)]
    return [line.strip() for line in str(value).splitlines() if line.strip()]


def t_unneutralise(value: Any, ctx: TransformContext) -> Any:
    """Undo :func:`~custmaster.services.imports.formula.neutralise_cell` (own exports)."""
    return unneutralise_cell(_text(value, "unneutralise"))


_COUNTRY_ALIASES = {
    "uk": "GB",
    "u.k.": "GB",
    "great britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "usa": "US",
    "u.s.": "US",
    "u.s.a.": "US",
    "united states of america": "US",
    "deutschland": "DE",
    "österreich": "AT",
    "schweiz": "CH",
    "niederlande": "NL",
    "holland": "NL",
    "frankreich": "FR",
    "vereinigtes königreich": "GB",
    "vereinigte staaten": "US",
}


def t_country(value: Any, ctx: TransformContext) -> Any:
    """ISO 3166-1 alpha-2 from an alpha-2/alpha-3/numeric code or an English name."""
    text = _text(value, "country").strip()
    if not text:
        return ""
    alias = _COUNTRY_ALIASES.get(_fold(text))
    if alias:
        return alias
    try:
        return str(pycountry.countries.lookup(text).alpha_2)
    except LookupError:
        raise TransformError("unknown_country", f"{text!r} is not a known country") from None


def t_currency(value: Any, ctx: TransformContext) -> Any:
    """ISO 4217 alphabetic currency code."""
    text = _text(value, "currency").strip().upper()
    if not text:
        return ""
    if pycountry.currencies.get(alpha_3=text) is None:
        raise TransformError("unknown_currency", f"{text!r} is not an ISO 4217 currency code")
    return text


_NUMBER_CACHE: dict[tuple[str, str], re.Pattern[str]] = {}


def _number_pattern(decimal_sep: str, thousands_sep: str) -> re.Pattern[str]:
    key = (decimal_sep, thousands_sep)
    if key not in _NUMBER_CACHE:
        dec = re.escape(decimal_sep)
        if thousands_sep:
            ths = re.escape(thousands_sep)
            integer = rf"(?:\d{{1,3}}(?:{ths}\d{{3}})+|\d+)"
        else:
            integer = r"\d+"
        _NUMBER_CACHE[key] = re.compile(rf"[+-]?(?:{integer}(?:{dec}\d*)?|{dec}\d+)")
    return _NUMBER_CACHE[key]


def parse_decimal(text: str, decimal_sep: str = ".", thousands_sep: str = "") -> Decimal:
    """Parse a localised number ("100.000,00" with ``,``/``.``) exactly, or raise."""
    cleaned = text.strip().replace("\u00a0", " ")
    if thousands_sep != " ":
        cleaned = cleaned.replace(" ", "")
    if not _number_pattern(decimal_sep, thousands_sep).fullmatch(cleaned):
        raise TransformError("invalid_number", f"{text!r} is not a number")
    if thousands_sep:
        cleaned = cleaned.replace(thousands_sep, "")
    cleaned = cleaned.replace(decimal_sep, ".")
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        raise TransformError("invalid_number", f"{text!r} is not a number") from None


def t_decimal(value: Any, ctx: TransformContext) -> Any:
    """A decimal as a string with ``.`` and no grouping: ``"100.000,00"`` -> ``"100000.00"``."""
    text = _text(value, "decimal").strip()
    if not text:
        return ""
    if ctx.native:
        return format(parse_decimal(text), "f")
    return format(parse_decimal(text, ctx.decimal_separator, ctx.thousands_separator), "f")


def t_integer(value: Any, ctx: TransformContext) -> Any:
    text = _text(value, "integer").strip()
    if not text:
        return ""
    number = t_decimal(text, ctx)
    parsed = Decimal(number)
    if parsed != parsed.to_integral_value():
        raise TransformError("invalid_integer", f"{text!r} is not a whole number")
    return int(parsed)


def t_date(value: Any, ctx: TransformContext) -> Any:
    """An ISO date from the template's date formats: ``"30.06.2023"`` -> ``"2023-06-30"``."""
    text = _text(value, "date").strip()
    if not text:
        return ""
    if ctx.native:
        try:
            return datetime.fromisoformat(text).date().isoformat()
        except ValueError:
            pass
    for fmt in ctx.date_formats:
        try:
            return datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    expected = ", ".join(ctx.date_formats)
    raise TransformError("invalid_date", f"{text!r} is not a date ({expected})")


def t_datetime(value: Any, ctx: TransformContext) -> Any:
    """An ISO 8601 timestamp from the template's datetime formats (ISO 8601 is always read)."""
    text = _text(value, "datetime").strip()
    if not text:
        return ""
    for fmt in ctx.datetime_formats:
        try:
            return datetime.strptime(text, fmt).isoformat()
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(text).isoformat()
    except ValueError:
        raise TransformError("invalid_datetime", f"{text!r} is not a date and time") from None


_TRUE = {"true", "yes", "y", "1", "x", "ja", "j", "wahr"}
_FALSE = {"false", "no", "n", "0", "nein", "falsch"}


def t_bool(value: Any, ctx: TransformContext) -> Any:
    text = _fold(_text(value, "bool"))
    if not text:
        return ""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise TransformError("invalid_boolean", f"{text!r} is not yes/no")


_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def t_url(value: Any, ctx: TransformContext) -> Any:
    """Prefix ``https://`` to a bare host name (``www.acme.example``)."""
    text = _text(value, "url").strip()
    if not text or _SCHEME.match(text):
        return text
    return f"https://{text}"


def map_value(value: Any, ctx: TransformContext, name: str) -> Any:
    """Translate a code through the template's value map ``name``."""
    maps = ctx.value_maps or {}
    if name not in maps:
        raise TransformError("unknown_value_map", f"no value map {name!r}")
    text = _text(value, f"map:{name}").strip()
    if not text:
        return ""
    return maps[name].lookup(text)


Transform = Callable[[Any, TransformContext], Any]

TRANSFORMS: dict[str, Transform] = {
    "strip": t_strip,
    "collapse": t_collapse,
    "upper": t_upper,
    "lower": t_lower,
    "lines": t_lines,
    "unneutralise": t_unneutralise,
    "country": t_country,
    "currency": t_currency,
    "decimal": t_decimal,
    "integer": t_integer,
    "date": t_date,
    "datetime": t_datetime,
    "bool": t_bool,
    "url": t_url,
}


def _map_step(name: str) -> Transform:
    def step(value: Any, ctx: TransformContext) -> Any:
        return map_value(value, ctx, name)

    return step


@lru_cache(maxsize=1024)
def compile_steps(steps: tuple[str, ...]) -> tuple[Transform, ...]:
    """The functions of ``steps`` (transform names or ``map:NAME``, all known: a loaded
    template's), looked up once for :func:`run_steps`."""
    return tuple(_map_step(s[4:]) if s.startswith("map:") else TRANSFORMS[s] for s in steps)


def run_steps(value: Any, functions: tuple[Transform, ...], ctx: TransformContext) -> Any:
    """Run the steps' functions (:func:`compile_steps`) over ``value``; stops when it is
    empty (:func:`apply_transforms` by name)."""
    for function in functions:
        if value is None or value == "" or value == []:
            return None
        value = function(value, ctx)
    if value == "" or value == []:
        return None
    return value


def apply_transforms(value: Any, steps: tuple[str, ...], ctx: TransformContext) -> Any:
    """Run ``steps`` (transform names or ``map:NAME``) over ``value``; stops when it is empty."""
    return run_steps(value, compile_steps(steps), ctx)
