"""The seeded customer generator behind ``custmaster demo`` and the benchmarks."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from typing import Any, Literal

from .enrichment import (
    EXEMPT_KIND,
    ORG_TERMS,
    contacts,
    overrides,
    pricing_tiers,
    tax_profile,
    weighted_table,
)
from .identifiers import (
    ES_CIF_LETTER,
    AffinePermutation,
    PhoneSequence,
    TaxIdFactory,
    phone_heads,
)
from .lexicon import (
    COUNTRIES,
    DISTINGUISHERS,
    LEGAL_FORMS,
    NAMES_BY_LANGUAGE,
    NONPROFIT_FORMS,
    NOTES,
    PERSON_MAIL_DOMAINS,
    STEMS,
    WORDS,
    City,
    CountrySpec,
    slug,
)
from .reference import ENTITY_CURRENCY

Profile = Literal["demo", "lean"]
Customer = dict[str, Any]

#: The keys of every generated customer, in order (the create-request fields).
CUSTOMER_FIELDS: tuple[str, ...] = (
    "kind",
    "name",
    "legal_name",
    "first_name",
    "last_name",
    "email",
    "billing_email",
    "phone",
    "website",
    "tax_id",
    "customer_type",
    "industry",
    "customer_group",
    "account_tier",
    "relationship_status",
    "owning_entity",
    "credit_limit",
    "payment_terms",
    "payment_method",
    "currency",
    "tax_code",
    "notes",
    "metadata",
    "dimensions",
    "addresses",
    "contacts",
    "pricing_tiers",
    "tax_profiles",
    "overrides",
)

EMAIL_TLD = "example"
PERSON_SHARE = 0.2
OVERRIDE_SHARE = 0.3

_N_WORDS = len(WORDS)
_N_ORG_NAMES = len(STEMS) * _N_WORDS
_STEM_SLUGS = tuple(slug(s) for s in STEMS)
_WORD_SLUGS = tuple(slug(w) for w, _, _ in WORDS)
_DIST_SLUGS = tuple(slug(d) for d in DISTINGUISHERS)


_CUSTOMER_TYPES: dict[str, tuple[str, ...]] = {
    "commercial": weighted_table(
        [("enterprise", 45), ("wholesale", 20), ("distributor", 15), ("retail", 10), ("other", 10)]
    ),
    "wholesale": weighted_table([("wholesale", 50), ("distributor", 50)]),
    "retail": weighted_table([("retail", 70), ("enterprise", 30)]),
    "nonprofit": ("nonprofit",),
    "government": ("government",),
}
_GROUPS: dict[str, tuple[str, ...]] = {
    "retail": ("RETAIL",),
    "wholesale": ("WHOLESALE",),
    "distributor": ("DISTRIB",),
    "enterprise": weighted_table([("KEYACCT", 4), ("WHOLESALE", 6)]),
    "government": ("PUBLIC",),
    "nonprofit": ("PUBLIC",),
    "other": ("RETAIL",),
}
_PERSON_TERMS = weighted_table([("DUE_ON_RECEIPT", 5), ("NET15", 3), ("NET30", 2)])
_METHODS: dict[str, tuple[str, ...]] = {
    "US01": weighted_table([("ACH", 45), ("WIRE", 20), ("CHECK", 20), ("CARD", 15)]),
    "DE01": weighted_table([("SEPA", 70), ("WIRE", 20), ("CARD", 10)]),
    "GB01": weighted_table([("BACS", 60), ("WIRE", 25), ("CARD", 15)]),
}
_TIERS = weighted_table([("platinum", 5), ("gold", 20), ("silver", 35), ("bronze", 40)])
_PERSON_TIERS = weighted_table([("silver", 2), ("bronze", 8)])
_STATUSES = weighted_table([("active", 80), ("prospect", 8), ("at_risk", 7), ("churned", 5)])
_DEPARTMENTS = weighted_table([("SALES", 6), ("SERVICE", 2), ("MARKETING", 1), ("FINANCE", 1)])
_ORG_LOCALS = ("ap", "accounts", "info", "finance", "billing", "office")
_LOG_LO, _LOG_HI = math.log(5_000), math.log(500_000)
_LOG_BIG_LO, _LOG_BIG_HI = math.log(1_050_000), math.log(5_000_000)
_BIG_CREDIT_SHARE = 0.015


class _Place:
    """A city with its postal-code pool and its run's phone sequence."""

    __slots__ = ("city", "phones", "postal_codes")

    def __init__(self, city: City, postal_codes: tuple[str, ...], phones: PhoneSequence):
        self.city = city
        self.postal_codes = postal_codes
        self.phones = phones


class _Country:
    """Per-run state of one country: places, mobile numbers, weighted tables."""

    __slots__ = (
        "currency",
        "entity",
        "first_slugs",
        "firsts",
        "forms",
        "lang",
        "last_slugs",
        "lasts",
        "methods",
        "mobiles",
        "person_perm",
        "persons_made",
        "places",
        "spec",
    )

    def __init__(self, spec: CountrySpec, places: tuple[_Place, ...], mobiles: PhoneSequence):
        self.spec = spec
        self.places = places
        self.mobiles = mobiles
        self.entity = spec.entity
        self.currency = ENTITY_CURRENCY[spec.entity]
        self.lang = spec.language
        self.forms = weighted_table(LEGAL_FORMS[spec.code])
        self.methods = _METHODS[spec.entity]
        self.firsts, self.lasts = NAMES_BY_LANGUAGE[spec.language]
        self.first_slugs = tuple(slug(f) for f in self.firsts)
        self.last_slugs = tuple(slug(n) for n in self.lasts)


def _postal_pool(patterns: Sequence[str], letters: str, rng: random.Random) -> tuple[str, ...]:
    pool: dict[str, None] = {}
    for _ in range(200):
        pattern = patterns[rng.randrange(len(patterns))]
        code = "".join(
            str(rng.randrange(10))
            if ch == "#"
            else letters[rng.randrange(len(letters))]
            if ch == "@"
            else ch
            for ch in pattern
        )
        pool[code] = None
    return tuple(pool)


class CustomerGenerator:
    """Stateful generator of one run; :func:`generate_customers` is the public entry.

    Uniqueness within a run (any ``n``): organisation names (the legal name and the
    trade name), organisation e-mail domains, and therefore every customer e-mail;
    tax ids up to ``TaxIdFactory.capacity`` per country (at least 9 million); company
    phone numbers up to 80,000 per city. Person names are unique up to
    ``len(firsts) * len(lasts)`` persons per language (1,600 to 3,600), then repeat
    (the e-mail still differs).
    """

    def __init__(self, seed: int, profile: Profile) -> None:
        if profile not in ("demo", "lean"):
            raise ValueError(f"unknown profile {profile!r}: expected 'demo' or 'lean'")
        rng = random.Random(seed)
        self._rng = rng
        self._rich = profile == "demo"
        self._tax = TaxIdFactory(rng)
        self._org_perm = AffinePermutation(_N_ORG_NAMES, rng)
        self._orgs_made = 0
        person_perms: dict[str, AffinePermutation] = {}
        person_counts: dict[str, int] = {}
        countries: list[_Country] = []
        for spec in COUNTRIES:
            places = tuple(
                _Place(
                    city,
                    _postal_pool(city.postal_patterns, spec.postal_letters, rng),
                    PhoneSequence(
                        phone_heads(spec.code, city.phone_prefix, spec.nsn_length, 8), rng
                    ),
                )
                for city in spec.cities
            )
            if spec.mobile_prefixes:
                heads = [
                    h
                    for p in spec.mobile_prefixes
                    for h in phone_heads(spec.code, p, spec.mobile_length, 16)
                ]
            else:  # NANP: no mobile ranges; use other exchanges of the same area codes
                heads = [
                    h
                    for c in spec.cities
                    for h in phone_heads(spec.code, c.phone_prefix, spec.nsn_length, 16)[8:]
                ]
            country = _Country(spec, places, PhoneSequence(heads, rng))
            if spec.language not in person_perms:
                person_perms[spec.language] = AffinePermutation(
                    len(country.firsts) * len(country.lasts), rng
                )
                person_counts[spec.language] = 0
            countries.append(country)
        self._person_perms = person_perms
        self._persons_made = person_counts
        self._countries = weighted_table([(c, c.spec.weight) for c in countries])

    # ------------------------------------------------------------------ entry

    def generate(self, n: int) -> Iterator[Customer]:
        rnd = self._rng.random
        countries = self._countries
        n_countries = len(countries)
        for _ in range(n):
            country = countries[int(rnd() * n_countries)]
            if rnd() < PERSON_SHARE:
                yield self._person(country)
            else:
                yield self._organization(country)

    # ------------------------------------------------------------------ organisation

    def _organization(self, c: _Country) -> Customer:
        rnd = self._rng.random
        k = self._orgs_made
        self._orgs_made = k + 1
        cycle, index = divmod(k, _N_ORG_NAMES)
        stem_i, word_i = divmod(self._org_perm(index), _N_WORDS)
        word, naics, segment = WORDS[word_i]
        base = f"{STEMS[stem_i]} {word}"
        domain = f"{_STEM_SLUGS[stem_i]}-{_WORD_SLUGS[word_i]}"
        if cycle:
            round_, d = divmod(cycle - 1, len(DISTINGUISHERS))
            base = f"{base} {DISTINGUISHERS[d]}" + (f" {round_ + 1}" if round_ else "")
            domain = f"{domain}-{_DIST_SLUGS[d]}" + (f"-{round_ + 1}" if round_ else "")
        domain = f"{domain}.{EMAIL_TLD}"
        cc = c.spec.code
        if segment == "government":
            form, letter = "", ES_CIF_LETTER["gov"]
        elif segment == "nonprofit":
            form = NONPROFIT_FORMS.get(cc, "")
            letter = ES_CIF_LETTER[""]
        else:
            form = c.forms[int(rnd() * len(c.forms))]
            letter = ES_CIF_LETTER.get(form, "B")
        legal_name = f"{base} {form}" if form else base
        types = _CUSTOMER_TYPES[segment]
        customer_type = types[int(rnd() * len(types))]
        groups = _GROUPS[customer_type]
        entity = c.entity
        if rnd() < _BIG_CREDIT_SHARE:
            credit = round(math.exp(_LOG_BIG_LO + rnd() * (_LOG_BIG_HI - _LOG_BIG_LO)), -4)
        else:
            credit = round(math.exp(_LOG_LO + rnd() * (_LOG_HI - _LOG_LO)), -3)
        tax_code = self._tax_code(cc, entity, customer_type)
        place = c.places[int(rnd() * len(c.places))]
        customer: Customer = {
            "kind": "organization",
            "name": legal_name if rnd() < 0.75 else base,
            "legal_name": legal_name,
            "first_name": None,
            "last_name": None,
            "email": f"{_ORG_LOCALS[int(rnd() * 6)]}@{domain}",
            "billing_email": f"invoices@{domain}" if rnd() < 0.6 else None,
            "phone": place.phones.next(),
            "website": f"https://www.{domain}",
            "tax_id": self._tax.next(cc, letter),
            "customer_type": customer_type,
            "industry": naics,
            "customer_group": groups[int(rnd() * len(groups))],
            "account_tier": _TIERS[int(rnd() * len(_TIERS))],
            "relationship_status": _STATUSES[int(rnd() * len(_STATUSES))],
            "owning_entity": entity,
            "credit_limit": str(int(credit)),
            "payment_terms": ORG_TERMS[int(rnd() * len(ORG_TERMS))],
            "payment_method": c.methods[int(rnd() * len(c.methods))],
            "currency": c.currency,
            "tax_code": tax_code,
            "notes": None,
            "metadata": {
                "crm_segment": "A" if credit >= 250_000 else "B" if credit >= 50_000 else "C"
            },
            "dimensions": {
                "department": _DEPARTMENTS[int(rnd() * len(_DEPARTMENTS))],
                "location": place.city.location,
            },
            "addresses": [self._address(c, place, "billing")],
            "contacts": [],
            "pricing_tiers": [],
            "tax_profiles": [],
            "overrides": {},
        }
        if self._rich:
            self._enrich_organization(customer, c, domain, credit, place)
        return customer

    @staticmethod
    def _tax_code(cc: str, entity: str, customer_type: str) -> str:
        if entity == "US01":
            if customer_type == "government":
                return "EXEMPT-GOV"
            if customer_type == "nonprofit":
                return "EXEMPT-NONPROFIT"
            if customer_type in ("wholesale", "distributor") and cc == "US":
                return "EXEMPT-RESALE"
        elif entity == "DE01" and cc != "DE" and customer_type != "government":
            return "REVERSE-CHARGE"  # intra-community B2B supply from Germany
        return "STANDARD"

    def _enrich_organization(
        self, customer: Customer, c: _Country, domain: str, credit: float, place: _Place
    ) -> None:
        rng = self._rng
        rnd = rng.random
        if rnd() < 0.5:
            other = place if rnd() < 0.4 else c.places[int(rnd() * len(c.places))]
            customer["addresses"].append(self._address(c, other, "shipping"))
        if rnd() < 0.1:
            customer["notes"] = NOTES[int(rnd() * len(NOTES))]
        customer["metadata"]["source"] = "demo"
        names = (c.firsts, c.lasts, c.first_slugs, c.last_slugs)
        customer["contacts"] = contacts(rng, names, c.mobiles, domain, 1 + int(rnd() * 3))
        customer["pricing_tiers"] = pricing_tiers(rng, customer["currency"], int(rnd() * 4))
        tax_code = customer["tax_code"]
        if tax_code in EXEMPT_KIND:
            issuer = place.city.region[3:] if c.spec.code == "US" else c.spec.code
            customer["tax_profiles"] = [tax_profile(rng, tax_code, issuer)]
        if rnd() < OVERRIDE_SHARE:
            customer["overrides"] = overrides(rng, c.entity, credit)

    # ------------------------------------------------------------------ person

    def _person(self, c: _Country) -> Customer:
        rnd = self._rng.random
        lang = c.lang
        k = self._persons_made[lang]
        self._persons_made[lang] = k + 1
        perm = self._person_perms[lang]
        cycle, index = divmod(k, perm.size)
        fi, li = divmod(perm(index), len(c.lasts))
        first, last = c.firsts[fi], c.lasts[li]
        local = f"{c.first_slugs[fi]}.{c.last_slugs[li]}" + (str(cycle + 1) if cycle else "")
        place = c.places[int(rnd() * len(c.places))]
        credit = 500 * (10 + int(rnd() * 31))  # 5,000 .. 20,000
        methods = ("CARD", c.methods[0])
        customer: Customer = {
            "kind": "person",
            "name": f"{first} {last}",
            "legal_name": None,
            "first_name": first,
            "last_name": last,
            "email": f"{local}@{PERSON_MAIL_DOMAINS[lang]}",
            "billing_email": None,
            "phone": c.mobiles.next(),
            "website": None,
            "tax_id": None,
            "customer_type": "retail",
            "industry": None,
            "customer_group": "RETAIL",
            "account_tier": _PERSON_TIERS[int(rnd() * len(_PERSON_TIERS))],
            "relationship_status": _STATUSES[int(rnd() * len(_STATUSES))],
            "owning_entity": c.entity,
            "credit_limit": str(credit),
            "payment_terms": _PERSON_TERMS[int(rnd() * len(_PERSON_TERMS))],
            "payment_method": methods[int(rnd() * 1.6)],
            "currency": c.currency,
            "tax_code": "STANDARD",
            "notes": None,
            "metadata": {"crm_segment": "C"},
            "dimensions": {"department": "SALES", "location": place.city.location},
            "addresses": [self._address(c, place, "billing")],
            "contacts": [],
            "pricing_tiers": [],
            "tax_profiles": [],
            "overrides": {},
        }
        if self._rich:
            customer["metadata"]["source"] = "demo"
            if rnd() < 0.25:
                customer["addresses"].append(
                    self._address(c, c.places[int(rnd() * len(c.places))], "shipping")
                )
        return customer

    # ------------------------------------------------------------------ address

    def _address(self, c: _Country, place: _Place, kind: str) -> dict[str, Any]:
        rnd = self._rng.random
        spec = c.spec
        street = spec.streets[int(rnd() * len(spec.streets))]
        number = 1 + int(rnd() * rnd() * 400)
        style = spec.street_style
        if style == "num_first":
            line = f"{number} {street}"
        elif style == "num_last":
            line = f"{street} {number}"
        else:
            line = f"{street}, {number}"
        lines = [line]
        if rnd() < 0.3:
            lines.append(spec.line2[int(rnd() * len(spec.line2))].format(n=1 + int(rnd() * 9)))
        city = place.city
        return {
            "type": kind,
            "lines": lines,
            "city": city.name,
            "region": city.region,
            "postal_code": place.postal_codes[int(rnd() * len(place.postal_codes))],
            "country": spec.code,
            "is_primary": kind == "billing",
        }


def generate_customers(n: int, *, seed: int = 42, profile: Profile = "demo") -> Iterator[Customer]:
    """Yield ``n`` valid customer create requests (DESIGN.md §4), deterministically.

    Args:
        n: how many customers.
        seed: the same seed (and profile) gives the same sequence; a shorter run is a
            prefix of a longer one.
        profile: ``"demo"`` is rich (1-2 addresses, contacts, pricing tiers, tax
            profiles, legal-entity overrides); ``"lean"`` has the master fields and one
            billing address only, for million-row benchmarks.

    Every dict has exactly the keys of :data:`CUSTOMER_FIELDS`; absent optional values
    are ``None`` and absent child lists are empty. Only codes of
    :func:`~custmaster.services.sample_data.reference_data` are used.

    Example:
        >>> from custmaster.services.sample_data import CUSTOMER_FIELDS, generate_customers
        >>> first = next(generate_customers(1, seed=7))
        >>> sorted(first) == sorted(CUSTOMER_FIELDS)
        True
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    return CustomerGenerator(seed, profile).generate(n)
