"""Unique, valid identifiers drawn from counters: tax ids and phone numbers.

Every identifier is built from a per-country counter passed through a seeded bijection
(:class:`AffinePermutation`), so values look scattered but never repeat within a run (up
to the stated capacity), and no validation runs per value: check digits are computed
with python-stdnum's own helpers, and phone numbers are a validated "head" (national
significant number minus its last four digits) plus four free digits.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from functools import lru_cache

import phonenumbers
from stdnum import luhn
from stdnum.at import uid as at_uid
from stdnum.es import cif as es_cif
from stdnum.gb import vat as gb_vat
from stdnum.iso7064 import mod_11_10, mod_97_10
from stdnum.nl import bsn as nl_bsn
from stdnum.us import ein as us_ein


class AffinePermutation:
    """A seeded bijection of ``range(size)``: ``x -> (a * x + b) mod size``."""

    __slots__ = ("_a", "_b", "size")

    def __init__(self, size: int, rng: random.Random) -> None:
        self.size = size
        a = rng.randrange(max(1, size // 3), size) if size > 2 else 1
        while math.gcd(a, size) != 1:
            a += 1
        self._a = a % size or 1
        self._b = rng.randrange(size)

    def __call__(self, x: int) -> int:
        return (self._a * x + self._b) % self.size


# --------------------------------------------------------------------------- tax ids

#: EIN prefixes that python-stdnum knows (assigned to an IRS campus).
EIN_PREFIXES: tuple[str, ...] = tuple(
    f"{i:02d}" for i in range(100) if us_ein.is_valid(f"{i:02d}-0000001")
)

#: Spanish CIF entity letter per legal form (A: S.A., B: S.L., G: association,
#: P: local public body).
ES_CIF_LETTER: dict[str, str] = {"S.A.": "A", "S.L.": "B", "": "G", "gov": "P"}

_E7 = 10**7


class TaxIdFactory:
    """Unique valid tax ids per country, in the form stored on the customer.

    Formats (all pass ``stdnum.util.get_cc_module(cc, "vat").is_valid`` or, for the US,
    ``stdnum.us.ein.is_valid``; EU ones also pass ``stdnum.eu.vat.is_valid``):

    - US: EIN ``NN-NNNNNNN`` (the DESIGN.md example format).
    - DE ``DE#########``, AT ``ATU########``, FR ``FRKK#########``, NL ``NL#########B01``,
      IT ``IT###########``, ES ``ESA#######C`` (CIF), GB ``GB#########``: the compact
      VAT number with its country prefix.
    - CA: 9-digit Business Number (``stdnum.ca.bn``).
    """

    def __init__(self, rng: random.Random) -> None:
        self._counters: dict[str, int] = {}
        self._perms: dict[str, AffinePermutation] = {
            "US": AffinePermutation(len(EIN_PREFIXES) * _E7, rng),
            "DE": AffinePermutation(9 * _E7, rng),
            "GB": AffinePermutation(9 * 10**6, rng),
            "FR": AffinePermutation(9 * _E7, rng),
            "NL": AffinePermutation(9 * _E7, rng),
            "AT": AffinePermutation(9 * 10**6, rng),
            "IT": AffinePermutation(9 * 10**6 * 100, rng),
            "ES": AffinePermutation(_E7, rng),
            "CA": AffinePermutation(9 * _E7, rng),
        }

    def capacity(self, country: str) -> int:
        """How many distinct ids :meth:`next` yields for ``country`` before repeating."""
        return self._perms[country].size

    def next(self, country: str, es_letter: str = "B") -> str:
        """The next unique tax id for ``country`` (``es_letter``: the CIF entity letter)."""
        k = self._counters.get(country, 0)
        self._counters[country] = k + 1
        perm = self._perms[country]
        return _build_tax_id(country, perm(k % perm.size), es_letter)


def _build_tax_id(country: str, p: int, es_letter: str) -> str:
    if country == "US":
        prefix, serial = divmod(p, _E7)
        return f"{EIN_PREFIXES[prefix]}-{serial:07d}"
    if country == "DE":
        body = str(_E7 + p)
        return f"DE{body}{mod_11_10.calc_check_digit(body)}"
    if country == "GB":
        body = str(10**6 + p)
        check = -gb_vat.checksum(body + "00") % 97
        return f"GB{body}{check:02d}"
    if country == "FR":
        body = str(_E7 + p)
        siren = body + luhn.calc_check_digit(body)
        return f"FR{int(siren + '12') % 97:02d}{siren}"
    if country == "NL":
        body = str(_E7 + p)
        check = nl_bsn.checksum(body + "0") % 11  # weighted sum of the first 8 digits
        if check < 10:  # an RSIN-style number with the "11-test" check digit
            return f"NL{body}{check}B01"
        # no 11-test digit exists for this body: use the ISO 7064 mod 97-10 form
        return f"NL{body}0B{mod_97_10.calc_check_digits('NL' + body + '0B')}"
    if country == "AT":
        body = "U" + str(10**6 + p)
        return f"AT{body}{at_uid.calc_check_digit(body)}"
    if country == "IT":
        serial, office = divmod(p, 100)
        body = f"{10**6 + serial}{office + 1:03d}"
        return f"IT{body}{luhn.calc_check_digit(body)}"
    if country == "ES":
        body = f"{es_letter}{p:07d}"
        checks = es_cif.calc_check_digits(body)
        return f"ES{body}{checks[1] if es_letter in 'KPQRSNW' else checks[0]}"
    if country == "CA":
        body = str(_E7 + p)
        return body + luhn.calc_check_digit(body)
    raise ValueError(f"no tax id scheme for country {country!r}")


# --------------------------------------------------------------------------- phones

_PHONE_HEADS_SEED = 20_261_101  # fixed: the head pools never depend on the caller's seed
_SUFFIX_SPACE = 10_000
_PROBE_SUFFIXES = ("0000", "0199", "4567", "8080", "9999")


def _valid_for(e164: str, region: str) -> bool:
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number_for_region(number, region))


@lru_cache(maxsize=512)
def phone_heads(region: str, prefix: str, nsn_length: int, count: int) -> tuple[str, ...]:
    """``count`` validated heads: ``+<calling code><prefix><digits>`` missing 4 digits.

    A head is kept only when every probe suffix makes a number valid for ``region``
    (e.g. +44 7524 is the Isle of Man, not GB); the pools were also checked exhaustively
    for all 10,000 suffixes with the phonenumbers release in use. The pool depends only on
    the arguments, never on a caller's seed.
    """
    calling_code = phonenumbers.country_code_for_region(region)
    rng = random.Random(f"{_PHONE_HEADS_SEED}:{region}:{prefix}:{nsn_length}")
    free = nsn_length - 4 - len(prefix)
    heads: list[str] = []
    seen: set[str] = set()
    attempts = 0
    while len(heads) < count and attempts < count * 200:
        attempts += 1
        digits = "".join(
            str(rng.randrange(2, 10) if i == 0 else rng.randrange(10)) for i in range(free)
        )
        head = f"+{calling_code}{prefix}{digits}"
        if head in seen:
            continue
        seen.add(head)
        if all(_valid_for(head + s, region) for s in _PROBE_SUFFIXES):
            heads.append(head)
    if len(heads) < count:
        raise ValueError(f"too few valid phone heads for {region} {prefix} ({nsn_length})")
    return tuple(heads)


class PhoneSequence:
    """Unique valid E.164 numbers: a seeded permutation of (head, four digits).

    Capacity: ``len(heads) * 10,000`` distinct numbers, then the sequence repeats.
    """

    __slots__ = ("_count", "_heads", "_perm")

    def __init__(self, heads: Sequence[str], rng: random.Random) -> None:
        self._heads = tuple(heads)
        self._perm = AffinePermutation(len(self._heads) * _SUFFIX_SPACE, rng)
        self._count = 0

    @property
    def capacity(self) -> int:
        return self._perm.size

    def next(self) -> str:
        k = self._count
        self._count = k + 1
        head, suffix = divmod(self._perm(k % self._perm.size), _SUFFIX_SPACE)
        return f"{self._heads[head]}{suffix:04d}"
