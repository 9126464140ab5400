"""Blocking keys: the values a database table indexes to find match candidates.

Each record yields a handful of ``(key_type, key_value)`` pairs. Two records become
candidates when they share at least one key. Keys are chosen to be selective (a shared
key should mean a real chance of a match) yet robust to the usual variations: legal
forms and abbreviations are already normalised away, typos late in a word keep the
prefix keys, and a moved address keeps the name/contact keys.

No key needs a country, a postal code or a city to be present: a record with only a
name shares the ``name`` and ``token`` keys with its variants, and a street key does
not depend on whether the postal code is filled in.

Selectivity guard: a key value shared by very many records (a generic domain, a common
name word) says little; online lookups skip keys whose posting list is longer than a
cap (see :data:`DEFAULT_MAX_POSTINGS` and :class:`~custmaster.matching.index.InMemoryIndex`),
batch runs sub-block them (sorted neighbourhood, see
:class:`~custmaster.matching.batch.Blocking`), never skip them.
"""

from __future__ import annotations

from custmaster.matching.compare import street_core
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
    "name",  # full normalised name
    "name_sorted",  # first 10 chars of the alphabetically sorted name words
    "token",  # one name word (the 3 longest of 3+ characters)
    "postal_name",  # postal code | first 4 chars of a name word (2 longest words)
    "city_name",  # country | city | first 5 chars of a name word (2 longest words)
    "street",  # country | street name without type and directional | house number
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
        >>> [k for k in keys if k[0] in ("domain", "name", "postal_name", "street")]
        [('domain', 'keystonepackaging.de'), ('name', 'keystone packaging'), ('postal_name', '61318|pack'), ('postal_name', '61318|keys'), ('street', 'DE|claudius reising|99')]
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
        keys.append(("name", f.name[:80]))
        sorted_name = "".join(sorted(f.name_tokens))
        keys.append(("name_sorted", sorted_name[:10]))
        by_length = sorted({t for t in f.name_tokens if len(t) >= 3}, key=lambda t: (-len(t), t))
        keys.extend(("token", t[:40]) for t in by_length[:3])
        longest = by_length[:2]
        if f.postal_code:
            keys.extend(("postal_name", f"{f.postal_code}|{t[:4]}") for t in longest)
        if f.city:
            keys.extend(("city_name", f"{country}|{f.city[:40]}|{t[:5]}") for t in longest)
    if f.street and f.house_number:
        keys.append(("street", f"{country}|{street_core(f.street)[:40]}|{f.house_number}"))
    return list(dict.fromkeys(keys))
