"""Blocking keys: the values a database table indexes to find match candidates.

Each record yields a handful of ``(key_type, key_value)`` pairs. Two records become
candidates when they share at least one key. Keys are chosen to be selective (a shared
key should mean a real chance of a match) yet robust to the usual variations: legal
forms and abbreviations are already normalised away, typos late in a word keep the
prefix keys, and a moved address keeps the name/contact keys.

Selectivity guard: a key value shared by very many records (a generic domain, a
name like "Acme" in a big city) says little; lookups skip keys whose posting list is
longer than a cap (see :data:`DEFAULT_MAX_POSTINGS` and
:class:`~custmaster.matching.index.InMemoryIndex`).
"""

from __future__ import annotations

from custmaster.matching.record import MatchFeatures, MatchRecord, prepare

__all__ = ["DEFAULT_MAX_POSTINGS", "KEY_TYPES", "match_keys"]

#: Skip a key at lookup time when more records than this share it.
DEFAULT_MAX_POSTINGS = 200

#: All key types, in priority order (the most specific first).
KEY_TYPES: tuple[str, ...] = (
    "tax",  # compact tax id
    "email",  # full email address
    "domain",  # website / company email domain
    "phone",  # E.164 phone
    "name",  # country | full normalised name
    "name_sorted",  # country | first 10 chars of the alphabetically sorted name words
    "postal_name",  # postal code | first 4 chars of a name word (2 longest words)
    "city_name",  # country | city | first 5 chars of a name word (2 longest words)
    "street",  # postal code or city | street name prefix | house number
)


def match_keys(record: MatchRecord | MatchFeatures) -> list[tuple[str, str]]:
    """Blocking keys of a record, for an indexed ``(key_type, key_value)`` table.

    Args:
        record: A raw :class:`MatchRecord` or its prepared :class:`MatchFeatures`.

    Returns:
        Distinct ``(key_type, key_value)`` pairs, most specific first; empty for a
        record without usable data. Values are at most ~80 characters.

    Example:
        >>> keys = match_keys(MatchRecord("1", name="Keystone Packaging GmbH",
        ...     email="ap@keystonepackaging.de", postal_code="61318", city="Brand",
        ...     country="DE", street="Claudius-Reising-Gasse 99/40"))
        >>> [k for k in keys if k[0] in ("domain", "name", "postal_name")]
        [('domain', 'keystonepackaging.de'), ('name', 'DE|keystone packaging'), ('postal_name', '61318|pack'), ('postal_name', '61318|keys')]
    """  # noqa: E501
    f = record if isinstance(record, MatchFeatures) else prepare(record)
    keys: list[tuple[str, str]] = []
    if f.tax_id:
        keys.append(("tax", f.tax_id))
    if f.email:
        keys.append(("email", f.email))
    keys.extend(("domain", d) for d in sorted(f.domains))
    if f.phone:
        keys.append(("phone", f.phone))
    country = f.country or "-"
    if f.name:
        keys.append(("name", f"{country}|{f.name[:80]}"))
        sorted_name = "".join(sorted(f.name_tokens))
        keys.append(("name_sorted", f"{country}|{sorted_name[:10]}"))
        longest = sorted(
            {t for t in f.name_tokens if len(t) >= 3}, key=lambda t: (-len(t), t)
        )[:2]
        if f.postal_code:
            keys.extend(("postal_name", f"{f.postal_code}|{t[:4]}") for t in longest)
        if f.city:
            keys.extend(("city_name", f"{country}|{f.city[:40]}|{t[:5]}") for t in longest)
    area = f.postal_code or (f"{country}|{f.city[:40]}" if f.city else None)
    if f.street and area:
        keys.append(("street", f"{area}|{f.street[:8]}|{f.house_number or ''}"))
    return list(dict.fromkeys(keys))
