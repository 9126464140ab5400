"""Field validators: each takes a raw value and a field path, records problems in an
``ErrorCollector`` and returns the normalised value (or ``None`` when it is invalid).

Parsing is delegated to the libraries chosen in DESIGN.md: email-validator (RFC 5322,
no DNS), phonenumbers (E.164), python-stdnum (tax ids), pycountry (ISO 3166 / 4217).
Look-ups are cached: bulk imports validate the same codes over and over.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import lru_cache
from typing import Any, TypeVar

import phonenumbers
import pycountry
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES, EMAIL_MAX_LENGTH
from stdnum import util as stdnum_util
from stdnum.exceptions import ValidationError as StdnumError

from custmaster.domain.errors import ChangeWarning, ErrorCollector

E = TypeVar("E", bound=StrEnum)

MAX_DECIMAL = Decimal("1e15")
#: The most decimal places an amount keeps (more, beyond trailing zeros, is refused).
MAX_SCALE = 6
_SCALE = Decimal(1).scaleb(-MAX_SCALE)
#: The largest value a 64-bit integer column holds.
INT64_MAX = 2**63 - 1
_EU_VAT_PREFIXES = frozenset(
    "AT BE BG CY CZ DE DK EE EL ES FI FR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK XI".split()
)


def text(
    value: Any, path: str, errors: ErrorCollector, *, max_length: int = 255, min_length: int = 0
) -> str | None:
    """A string, stripped; empty becomes ``None``."""
    if value is None:
        return None
    if not isinstance(value, str):
        errors.add(path, "type", "must be a string")
        return None
    stripped = value.strip()
    if len(stripped) < min_length:
        errors.add(path, "too_short", f"must have at least {min_length} characters")
        return None
    if len(stripped) > max_length:
        errors.add(path, "too_long", f"must have at most {max_length} characters")
        return None
    return stripped or None


def email(value: Any, path: str, errors: ErrorCollector) -> str | None:
    """An RFC 5322 address (no DNS look-up), in its normalised form."""
    raw = text(value, path, errors, max_length=320)
    if raw is None:
        return None
    normalised = _normalise_email(raw)
    if normalised is None:
        errors.add(path, "invalid_email", f"'{raw}' is not a valid email address")
    return normalised


# The common shape of an address: a dot-atom local part of letters, digits and ``_+-``,
# and a domain of at least two LDH labels (1-63 characters, no hyphen at either end)
# ending in an alphabetic top-level domain. For these, email-validator's checks reduce to
# lengths, reserved names and case, which _plain_email applies; everything else goes to
# the library itself.
_PLAIN_EMAIL = re.compile(
    r"([A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*)"
    r"@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})"
)
_RESERVED_DOMAINS = tuple(SPECIAL_USE_DOMAIN_NAMES)
_FOLDED_MAILBOXES = frozenset(CASE_INSENSITIVE_MAILBOX_NAMES)


def _plain_email(raw: str) -> str | None:
    """email-validator's normalised form of an address of the common shape (see
    ``_PLAIN_EMAIL``), or ``None`` when the library must decide (any other shape, a
    reserved domain, Punycode, over-long)."""
    match = _PLAIN_EMAIL.fullmatch(raw)
    if match is None or len(raw) > EMAIL_MAX_LENGTH:
        return None
    local, domain = match.group(1), match.group(2).lower()
    if "--" in domain:
        return None
    if local.lower() in _FOLDED_MAILBOXES:  # RFC 2142 names: the library lower-cases them
        local = local.lower()
    for reserved in _RESERVED_DOMAINS:
        if domain == reserved or domain.endswith("." + reserved):
            return None
    return f"{local}@{domain}"


def _normalise_email(raw: str) -> str | None:
    """email-validator's normalised form (no DNS), ``None`` when it is not an address."""
    return _plain_email(raw) or _library_email(raw)


@lru_cache(maxsize=65536)
def _library_email(raw: str) -> str | None:
    try:
        return validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def phone(
    value: Any,
    path: str,
    errors: ErrorCollector,
    *,
    region: str | None,
    warnings: list[ChangeWarning] | None = None,
) -> str | None:
    """A phone number in E.164. ``region`` (the customer's country) reads national numbers."""
    raw = text(value, path, errors, max_length=64)
    if raw is None:
        return None
    problem, e164, valid = _parse_phone(raw, region)
    if problem == "unparsable":
        hint = "" if region else " (give it with its +country code)"
        errors.add(path, "invalid_phone", f"'{raw}' is not a phone number{hint}")
        return None
    if problem == "impossible":
        errors.add(path, "invalid_phone", f"'{raw}' is not a possible phone number")
        return None
    if warnings is not None and not valid:
        warnings.append(
            ChangeWarning(path, "phone_unassigned", f"'{raw}' is not in an assigned number range")
        )
    return e164


#: phone numbers rarely repeat across customers (a bulk import's hit rate is about nil):
#: a small cache keeps the repeats within a customer and a source group without growing
#: the process by tens of MB over a large import
@lru_cache(maxsize=4096)
def _parse_phone(raw: str, region: str | None) -> tuple[str | None, str | None, bool]:
    """(problem: ``unparsable``/``impossible``/None, E.164 form, in an assigned range)."""
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return "unparsable", None, False
    if not phonenumbers.is_possible_number(parsed):
        return "impossible", None, False
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return None, e164, bool(phonenumbers.is_valid_number(parsed))


def tax_id(
    value: Any,
    path: str,
    errors: ErrorCollector,
    *,
    country: str | None,
    warnings: list[ChangeWarning] | None = None,
) -> str | None:
    """A tax id checked and compacted for its country.

    An EU VAT number is recognised by its prefix; otherwise the customer's country picks
    the python-stdnum module (VAT number first, then the national tax/business number).
    """
    raw = text(value, path, errors, max_length=64)
    if raw is None:
        return None
    prefix = raw[:2].upper()
    module = None
    if prefix.isalpha() and (prefix in _EU_VAT_PREFIXES or prefix in {"GB", "CH", "NO"}):
        module = _tax_module("eu" if prefix in _EU_VAT_PREFIXES else prefix.lower())
    elif country:
        module = _tax_module(country.lower())
    if module is None:
        compacted = re.sub(r"[\s\-./]", "", raw).upper()
        if warnings is not None:
            warnings.append(
                ChangeWarning(path, "tax_id_unchecked", "no check is known for this tax id")
            )
        return compacted
    try:
        compacted = str(module.validate(raw))
    except StdnumError as exc:
        errors.add(path, "invalid_tax_id", f"'{raw}' is not a valid tax id: {exc}")
        return None
    # VAT numbers keep their country prefix (stdnum drops it for some countries, e.g. GB).
    if prefix.isalpha() and not compacted.startswith(prefix) and _has_vat_prefix(prefix):
        compacted = prefix + compacted
    return compacted


def _has_vat_prefix(prefix: str) -> bool:
    return prefix in _EU_VAT_PREFIXES or prefix in {"GB", "CH", "NO"}


@lru_cache(maxsize=512)
def _tax_module(cc: str) -> Any:
    if cc == "eu":
        return stdnum_util.get_cc_module("eu", "vat")
    for kind in ("vat", "ein", "tin", "bn"):
        module = stdnum_util.get_cc_module(cc, kind)
        if module is not None:
            return module
    return None


def country(value: Any, path: str, errors: ErrorCollector) -> str | None:
    """An ISO 3166-1 alpha-2 code."""
    raw = text(value, path, errors, max_length=64)
    if raw is None:
        return None
    code = raw.upper()
    if not _is_country(code):
        errors.add(path, "invalid_country", f"'{raw}' is not an ISO 3166-1 alpha-2 country code")
        return None
    return code


@lru_cache(maxsize=512)
def _is_country(code: str) -> bool:
    return pycountry.countries.get(alpha_2=code) is not None


def region(
    value: Any, path: str, errors: ErrorCollector, *, country_code: str | None
) -> str | None:
    """An ISO 3166-2 subdivision code where the country has them (``CA`` in US -> ``US-CA``)."""
    raw = text(value, path, errors, max_length=64)
    if raw is None:
        return None
    code = raw.upper()
    if "-" not in code and country_code:
        code = f"{country_code}-{code}"
    if country_code and not code.startswith(f"{country_code}-"):
        errors.add(path, "region_country_mismatch", f"'{raw}' is not a region of {country_code}")
        return None
    if _is_subdivision(code):
        return code
    if country_code and not _has_subdivisions(country_code):
        return raw
    errors.add(path, "invalid_region", f"'{raw}' is not an ISO 3166-2 subdivision code")
    return None


@lru_cache(maxsize=8192)
def _is_subdivision(code: str) -> bool:
    return pycountry.subdivisions.get(code=code) is not None  # type: ignore[no-untyped-call]


@lru_cache(maxsize=512)
def _has_subdivisions(country_code: str) -> bool:
    return bool(pycountry.subdivisions.get(country_code=country_code))  # type: ignore[no-untyped-call]


def currency(value: Any, path: str, errors: ErrorCollector) -> str | None:
    """An ISO 4217 alphabetic code."""
    raw = text(value, path, errors, max_length=64)
    if raw is None:
        return None
    code = raw.upper()
    if not _is_currency(code):
        errors.add(path, "invalid_currency", f"'{raw}' is not an ISO 4217 currency code")
        return None
    return code


@lru_cache(maxsize=512)
def _is_currency(code: str) -> bool:
    return pycountry.currencies.get(alpha_3=code) is not None


def decimal(
    value: Any, path: str, errors: ErrorCollector, *, non_negative: bool = True
) -> Decimal | None:
    """A decimal given as a string (preferred) or an integer; never a float."""
    if value is None:
        return None
    if isinstance(value, bool | float):
        errors.add(path, "type", 'must be a decimal string such as "1250.00"')
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        errors.add(path, "invalid_decimal", f"'{value}' is not a decimal number")
        return None
    if not number.is_finite() or abs(number) >= MAX_DECIMAL:
        errors.add(path, "out_of_range", "must be a finite number below 10^15")
        return None
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_SCALE:
        if number != number.quantize(_SCALE):
            errors.add(path, "out_of_range", f"may have at most {MAX_SCALE} decimal places")
            return None
        number = number.quantize(_SCALE)  # "1.50000000" keeps what a column can hold
    if non_negative and number < 0:
        errors.add(path, "negative", "must not be negative")
        return None
    return number


def integer(
    value: Any, path: str, errors: ErrorCollector, *, minimum: int = 0, maximum: int = INT64_MAX
) -> int | None:
    """An integer within ``minimum``..``maximum`` (by default what a 64-bit column holds)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add(path, "type", "must be an integer")
        return None
    if value < minimum:
        errors.add(path, "out_of_range", f"must be at least {minimum}")
        return None
    if value > maximum:
        errors.add(path, "out_of_range", f"must be at most {maximum}")
        return None
    return value


def iso_date(value: Any, path: str, errors: ErrorCollector) -> date | None:
    if value is None or isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    errors.add(path, "invalid_date", f"'{value}' is not an ISO 8601 date (YYYY-MM-DD)")
    return None


def boolean(value: Any, path: str, errors: ErrorCollector) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    errors.add(path, "type", "must be true or false")
    return None


def choice(value: Any, path: str, errors: ErrorCollector, enum: type[E]) -> E | None:
    if value is None:
        return None
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        errors.add(path, "invalid_choice", f"'{value}' is not one of: {allowed}")
        return None


def code(value: Any, path: str, errors: ErrorCollector) -> str | None:
    """A reference-data code: 1-64 characters; existence is checked separately."""
    return text(value, path, errors, max_length=64)


def json_object(value: Any, path: str, errors: ErrorCollector) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        errors.add(path, "type", "must be a JSON object")
        return None
    return value
