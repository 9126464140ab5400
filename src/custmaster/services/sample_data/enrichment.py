"""Child records of the "demo" profile: contacts, pricing tiers, tax profiles, overrides."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any, TypeVar

from .identifiers import PhoneSequence
from .lexicon import ITEMS, JOB_ROLES
from .reference import ENTITY_CURRENCY

T = TypeVar("T")
JsonDict = dict[str, Any]

#: "Today" of the sample data: validity periods are placed around it.
BASE_DATE = date(2026, 1, 1)


def weighted_table(pairs: Sequence[tuple[T, int]]) -> tuple[T, ...]:
    """A lookup table for weighted picks: ``table[int(random() * len(table))]``."""
    return tuple(value for value, weight in pairs for _ in range(weight))


ORG_TERMS = weighted_table(
    [("NET30", 50), ("NET45", 15), ("NET60", 15), ("NET15", 10), ("DUE_ON_RECEIPT", 10)]
)
ENTITY_METHOD = {"US01": "ACH", "DE01": "SEPA", "GB01": "BACS"}
ENTITY_LOCATION = {"US01": "EAST", "DE01": "EMEA", "GB01": "UK"}
EXEMPT_KIND = {"EXEMPT-RESALE": "RS", "EXEMPT-GOV": "GV", "EXEMPT-NONPROFIT": "NP"}
_PERIODS = ((date(2025, 1, 1), date(2025, 12, 31)), (date(2026, 1, 1), date(2026, 12, 31)))
_BANDS = ((1, 99), (100, 999), (1000, 9999), (10000, 99999))


def tax_profile(rng: random.Random, tax_code: str, issuer: str) -> JsonDict:
    """An exemption certificate for ``tax_code``, issued up to two years before
    :data:`BASE_DATE`, valid 1-3 years (so some are expired, some expire soon)."""
    start = BASE_DATE - timedelta(days=int(rng.random() * 730))
    end = start + timedelta(days=365 * (1 + int(rng.random() * 3)) - 1)
    serial = rng.randrange(100_000, 1_000_000)
    return {
        "tax_code": tax_code,
        "certificate_number": f"{issuer}-{EXEMPT_KIND[tax_code]}-{serial}",
        "effective_from": start.isoformat(),
        "effective_to": end.isoformat(),
    }


def overrides(rng: random.Random, owning_entity: str, credit: float) -> dict[str, JsonDict]:
    """Overrides for one or both of the legal entities other than the owning one."""
    rnd = rng.random
    others = [e for e in ENTITY_METHOD if e != owning_entity]
    if rnd() < 0.7:
        others = [others[int(rnd() * len(others))]]
    result: dict[str, JsonDict] = {}
    for entity in others:
        override: JsonDict = {
            "credit_limit": str(max(1_000, int(round(credit * (0.25 + 0.75 * rnd()), -3)))),
            "currency": ENTITY_CURRENCY[entity],
        }
        if rnd() < 0.5:
            override["payment_terms"] = ORG_TERMS[int(rnd() * len(ORG_TERMS))]
        if rnd() < 0.5:
            override["payment_method"] = ENTITY_METHOD[entity]
        if rnd() < 0.2:
            override["dimensions"] = {"location": ENTITY_LOCATION[entity]}
        if rnd() < 0.1:
            override["customer_group"] = "KEYACCT"
        result[entity] = override
    return result


def contacts(
    rng: random.Random,
    names: tuple[Sequence[str], Sequence[str], Sequence[str], Sequence[str]],
    mobiles: PhoneSequence,
    domain: str,
    count: int,
) -> list[JsonDict]:
    """``count`` contacts with distinct names (so distinct e-mails) on ``domain``.

    ``names`` is (first names, last names, their slugs, their slugs).
    """
    firsts, lasts, first_slugs, last_slugs = names
    pairs: dict[tuple[int, int], None] = {}
    while len(pairs) < count:
        pairs[(rng.randrange(len(firsts)), rng.randrange(len(lasts)))] = None
    result = []
    for i, (fi, li) in enumerate(pairs):
        job_title, role = JOB_ROLES[rng.randrange(len(JOB_ROLES))]
        result.append(
            {
                "first_name": firsts[fi],
                "last_name": lasts[li],
                "email": f"{first_slugs[fi]}.{last_slugs[li]}@{domain}",
                "phone": mobiles.next(),
                "job_title": job_title,
                "role": role,
                "is_primary": i == 0,
            }
        )
    return result


def pricing_tiers(rng: random.Random, currency: str, count: int) -> list[JsonDict]:
    """``count`` tiers that never overlap: tiers of one item share a period with disjoint
    quantity bands, or share a band over consecutive periods (a price change)."""
    tiers: list[JsonDict] = []
    if count <= 0:
        return tiers
    items = rng.sample(ITEMS, k=1 + rng.randrange(count))
    per_item = [1] * len(items)
    for _ in range(count - len(items)):
        per_item[rng.randrange(len(items))] += 1
    for (item, base_price), n_tiers in zip(items, per_item, strict=True):
        price = base_price * (0.8 + 0.4 * rng.random())
        if n_tiers == 2 and rng.random() < 0.3:  # price change at the year boundary
            low, high = _BANDS[rng.randrange(2)]
            for i, (start, end) in enumerate(_PERIODS):
                tiers.append(_tier(item, price * (1 + 0.05 * i), currency, low, high, start, end))
            continue
        start, end = _PERIODS[rng.randrange(len(_PERIODS))]
        for band in range(n_tiers):
            low, high = _BANDS[band]
            tiers.append(_tier(item, price * (0.9**band), currency, low, high, start, end))
    return tiers


def _tier(
    item: str, price: float, currency: str, low: int, high: int, start: date, end: date
) -> JsonDict:
    return {
        "item": item,
        "unit_price": f"{price:.2f}",
        "currency": currency,
        "min_quantity": low,
        "max_quantity": high,
        "effective_from": start.isoformat(),
        "effective_to": end.isoformat(),
    }
