"""The record shape the matcher works on, and its normalised features.

:class:`MatchRecord` is the flat, raw view of a customer that callers build (from a
customer dict with :func:`from_customer_dict`, or directly). :func:`prepare` turns it
into :class:`MatchFeatures`, the normalised values that keys and comparisons use. Batch
and online callers should prepare each record once and keep the features.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from custmaster.matching.normalize import (
    FREE_EMAIL_DOMAINS,
    fold,
    normalize_company_name,
    normalize_country,
    normalize_email,
    normalize_name_part,
    normalize_person_name,
    normalize_phone,
    normalize_postal_code,
    normalize_street,
    normalize_tax_id,
    website_domain,
)

__all__ = ["MatchFeatures", "MatchRecord", "from_customer_dict", "prepare"]


@dataclass(frozen=True, slots=True)
class MatchRecord:
    """A customer as the matcher sees it: raw identity fields, one address.

    Attributes:
        id: The customer id (any string; a UUID for stored customers).
        kind: ``"organization"`` or ``"person"``.
        name: Display or legal name (organisations); for persons the full name when
            ``first_name``/``last_name`` are absent.
        first_name: Person's given name.
        last_name: Person's family name.
        email: Main email address.
        phone: Phone number in any format.
        website: Website URL or domain.
        tax_id: VAT number / tax id in any format.
        street: Street line(s) joined with a newline; the first line is the street.
        postal_code: Postal code.
        city: City.
        country: ISO 3166-1 alpha-2 (alpha-3 and English names are accepted too).
        phone_e164: ``phone`` is known to be what :func:`normalize_phone` makes of it
            (a possible number's E.164 form that was parsed as it is: a record parsed
            by the domain from that very text), so :func:`prepare` takes it as it is
            instead of parsing it again.
    """

    id: str
    kind: str = "organization"
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    website: str | None = None
    tax_id: str | None = None
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str | None = None
    phone_e164: bool = False


def _str(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _primary_address(addresses: Any) -> Mapping[str, Any]:
    if not isinstance(addresses, Sequence) or not addresses:
        return {}
    maps = [a for a in addresses if isinstance(a, Mapping)]
    if not maps:
        return {}

    def rank(addr: Mapping[str, Any]) -> int:
        billing = addr.get("type") == "billing"
        primary = bool(addr.get("is_primary"))
        return 0 if billing and primary else 1 if billing else 2 if primary else 3

    return min(maps, key=rank)


def from_customer_dict(customer: Mapping[str, Any]) -> MatchRecord:
    """Build a :class:`MatchRecord` from a customer dict of the API contract.

    The primary billing address is used (else any billing, any primary, the first);
    ``legal_name`` is preferred over ``name`` when present.

    Args:
        customer: A dict shaped like the customer resource (``id``, ``kind``, ``name``,
            ``legal_name``, ``first_name``, ``last_name``, ``email``, ``phone``,
            ``website``, ``tax_id``, ``addresses``...). Missing keys are fine.

    Returns:
        The record; ``id`` is ``""`` for an unsaved candidate without id.

    Example:
        >>> rec = from_customer_dict({"name": "Acme Corporation", "email": "ap@acme.example",
        ...     "addresses": [{"type": "billing", "lines": ["100 Market St"],
        ...                    "city": "San Francisco", "postal_code": "94105",
        ...                    "country": "US", "is_primary": True}]})
        >>> rec.street, rec.country
        ('100 Market St', 'US')
    """
    addr = _primary_address(customer.get("addresses"))
    lines = addr.get("lines")
    if isinstance(lines, str):
        street = _str(lines)
    elif isinstance(lines, Sequence):
        street = _str("\n".join(str(x) for x in lines if x))
    else:
        street = _str(addr.get("street"))
    return MatchRecord(
        id=str(customer.get("id") or ""),
        kind=str(customer.get("kind") or "organization"),
        name=_str(customer.get("legal_name")) or _str(customer.get("name")),
        first_name=_str(customer.get("first_name")),
        last_name=_str(customer.get("last_name")),
        email=_str(customer.get("email")),
        phone=_str(customer.get("phone")),
        website=_str(customer.get("website")),
        tax_id=_str(customer.get("tax_id")),
        street=street,
        postal_code=_str(addr.get("postal_code")),
        city=_str(addr.get("city")),
        country=_str(addr.get("country")) or _str(customer.get("country")),
    )


@dataclass(frozen=True, slots=True)
class MatchFeatures:
    """Normalised match values of one record (see :func:`prepare`).

    ``name`` is the company core name (legal form removed) or the person's
    ``"first last"``; ``domains`` holds the website domain and the email domain when it is
    not a free-mail provider. ``given`` and ``family`` are a person's given names and
    family name when the record carries them as separate fields (``first_name`` /
    ``last_name``); a person compared with another that has a family name too is
    compared part by part (see :func:`~custmaster.matching.compare.compare_given_name`).
    """

    id: str
    kind: str
    name: str
    name_tokens: tuple[str, ...]
    legal_form: str | None
    email: str | None
    domains: frozenset[str]
    phone: str | None
    tax_id: str | None
    street: str
    house_number: str | None
    postal_code: str | None
    city: str
    country: str | None
    given: str | None = None
    family: str | None = None


def prepare(record: MatchRecord) -> MatchFeatures:
    """Normalise a record once for keys and comparisons.

    Args:
        record: The raw record.

    Returns:
        Its :class:`MatchFeatures`.

    Example:
        >>> f = prepare(MatchRecord(id="1", name="ACME Intl, Inc.", website="www.acme.example",
        ...                         email="AP@acme.example", country="usa"))
        >>> f.name, f.legal_form, sorted(f.domains), f.country
        ('acme international', 'inc', ['acme.example'], 'US')
    """
    country = normalize_country(record.country)
    kind = "person" if record.kind == "person" else "organization"
    legal_form: str | None = None
    given = family = None
    if kind == "person":
        given = normalize_name_part(record.first_name)
        family = normalize_name_part(record.last_name)
        pname = normalize_person_name(record.first_name, record.last_name)
        name = pname or normalize_person_name(record.name, None)
        tokens = tuple(name.split())
    else:
        cname = normalize_company_name(record.name)
        name, tokens, legal_form = cname.core, cname.tokens, cname.legal_form
    email_pair = normalize_email(record.email)
    domains: set[str] = set()
    site = website_domain(record.website)
    if site:
        domains.add(site)
    if email_pair and email_pair[1] not in FREE_EMAIL_DOMAINS:
        domains.add(email_pair[1])
    street = normalize_street(record.street.splitlines() if record.street else None)
    return MatchFeatures(
        id=record.id,
        kind=kind,
        name=name,
        name_tokens=tokens,
        legal_form=legal_form,
        email=email_pair[0] if email_pair else None,
        domains=frozenset(domains),
        phone=record.phone if record.phone_e164 else normalize_phone(record.phone, country),
        tax_id=normalize_tax_id(record.tax_id, country),
        street=street.name,
        house_number=street.number,
        postal_code=normalize_postal_code(record.postal_code, country),
        city=fold(record.city),
        country=country,
        given=given,
        family=family,
    )
