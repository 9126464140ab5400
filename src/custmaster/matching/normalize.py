"""Normalisation of customer fields into comparable match values.

Every function here is pure, deterministic and total: it never raises on odd input,
it returns ``None`` (or an empty value) when nothing usable is left. The output is what
blocking keys (:mod:`custmaster.matching.keys`) and comparisons
(:mod:`custmaster.matching.compare`) work on.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
import pycountry
from stdnum.eu import vat as eu_vat

__all__ = [
    "FREE_EMAIL_DOMAINS",
    "CompanyName",
    "Street",
    "fold",
    "normalize_company_name",
    "normalize_country",
    "normalize_email",
    "normalize_person_name",
    "normalize_phone",
    "normalize_postal_code",
    "normalize_street",
    "normalize_tax_id",
    "website_domain",
]

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_DIGITS = re.compile(r"\d+")


def fold(text: str | None) -> str:
    """Case-fold, strip accents and collapse every non-alphanumeric run to one space.

    Args:
        text: Any string, or ``None``.

    Returns:
        Lower-case ASCII letters and digits separated by single spaces.

    Example:
        >>> fold("  Tina-Hiller-Straße 50 ")
        'tina hiller strasse 50'
    """
    if not text:
        return ""
    text = text.casefold()
    if not text.isascii():  # ASCII text has no accents to strip (NFKD leaves it as it is)
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("&", " and ").replace("'", "").replace("\u2019", "")
    return _NON_ALNUM.sub(" ", text).strip()


# --- company names -------------------------------------------------------------------

# Legal forms as token tuples (after folding and dot removal) -> canonical code.
_LEGAL_FORMS: dict[tuple[str, ...], str] = {
    ("gmbh", "and", "co", "kg"): "gmbh & co kg",
    ("gmbh", "co", "kg"): "gmbh & co kg",
    ("gmbh", "u", "co", "kg"): "gmbh & co kg",
    ("gmbh", "und", "co", "kg"): "gmbh & co kg",
    ("gmbh", "and", "cie", "kg"): "gmbh & co kg",
    ("ag", "and", "co", "kg"): "ag & co kg",
    ("co", "kg"): "co kg",
    ("gmbh",): "gmbh",
    ("ggmbh",): "gmbh",
    ("mbh",): "gmbh",
    ("ag",): "ag",
    ("kg",): "kg",
    ("kgaa",): "kgaa",
    ("ohg",): "ohg",
    ("ug",): "ug",
    ("ev",): "ev",
    ("se",): "se",
    ("inc",): "inc",
    ("incorporated",): "inc",
    ("llc",): "llc",
    ("lc",): "llc",
    ("ltd",): "ltd",
    ("limited",): "ltd",
    ("pty", "ltd"): "pty ltd",
    ("plc",): "plc",
    ("llp",): "llp",
    ("lp",): "lp",
    ("corp",): "corp",
    ("corporation",): "corp",
    ("co",): "co",
    ("company",): "co",
    ("cie",): "co",
    ("sa",): "sa",
    ("sas",): "sas",
    ("sasu",): "sas",
    ("sarl",): "sarl",
    ("eurl",): "sarl",
    ("sca",): "sca",
    ("snc",): "snc",
    ("bv",): "bv",
    ("bvba",): "bv",
    ("nv",): "nv",
    ("vof",): "vof",
    ("srl",): "srl",
    ("spa",): "spa",
    ("sl",): "sl",
    ("slu",): "sl",
    ("ab",): "ab",
    ("as",): "as",
    ("asa",): "as",
    ("aps",): "aps",
    ("oy",): "oy",
    ("oyj",): "oy",
    ("kk",): "kk",
    ("sp", "z", "o", "o"): "sp z o o",
    ("spzoo",): "sp z o o",
    ("sro",): "sro",
    # national variants written out or abbreviated otherwise
    ("aktiengesellschaft",): "ag",
    ("gesellschaft", "mit", "beschrankter", "haftung"): "gmbh",
    ("naamloze", "vennootschap"): "nv",
    ("besloten", "vennootschap"): "bv",
    ("societa", "per", "azioni"): "spa",
    ("societe", "anonyme"): "sa",
    ("sociedad", "anonima"): "sa",
    ("sa", "de", "cv"): "sa",
    ("sapa",): "sapa",
    ("pte", "ltd"): "pte ltd",
    ("pvt", "ltd"): "pvt ltd",
    ("private", "limited"): "ltd",
    ("public", "limited", "company"): "plc",
    ("sdn", "bhd"): "sdn bhd",
    ("bhd",): "bhd",
    ("ltda",): "ltda",
    ("kft",): "kft",
    ("zrt",): "zrt",
    ("ou",): "ou",
    ("as", "a"): "as",
}
#: Legal forms written before the name (``AB Volvo``, ``OOO Gazprom``, ``PT Astra``);
#: dropped (and kept as the legal form) when something is left.
_LEADING_FORMS = {
    "ab": "ab",
    "ooo": "ooo",
    "oao": "oao",
    "zao": "zao",
    "pao": "pao",
    "pjsc": "pjsc",
    "pt": "pt",
    "nv": "nv",
    "bv": "bv",
}
#: Honorifics of a company name dropped wherever they stand ("Koninklijke Philips",
#: "Philips Koninklijke": the Dutch "Royal" title).
_HONORIFICS = frozenset({"koninklijke", "kon"})
_MAX_FORM_LEN = max(len(k) for k in _LEGAL_FORMS)

_ABBREVIATIONS: dict[str, str] = {
    "intl": "international",
    "int": "international",
    "internat": "international",
    "mfg": "manufacturing",
    "mfrs": "manufacturers",
    "mfr": "manufacturer",
    "bros": "brothers",
    "assoc": "associates",
    "assocs": "associates",
    "svc": "services",
    "svcs": "services",
    "serv": "services",
    "sys": "systems",
    "tech": "technology",
    "techn": "technology",
    "technol": "technology",
    "eng": "engineering",
    "engr": "engineering",
    "engg": "engineering",
    "dist": "distribution",
    "distr": "distribution",
    "distrib": "distribution",
    "elec": "electrical",
    "equip": "equipment",
    "eqpt": "equipment",
    "grp": "group",
    "hldg": "holding",
    "hldgs": "holdings",
    "inds": "industries",
    "ind": "industries",
    "labs": "laboratories",
    "lab": "laboratory",
    "mgmt": "management",
    "natl": "national",
    "prod": "products",
    "prods": "products",
    "ctr": "center",
    "centre": "center",
    "dept": "department",
    "amer": "american",
    "assn": "association",
    "auto": "automotive",
    "chem": "chemicals",
    "log": "logistics",
    "pkg": "packaging",
    "precis": "precision",
    "fab": "fabrication",
}
_STOP_WORDS = frozenset({"and", "the", "of", "und", "et", "en", "de"})


@dataclass(frozen=True, slots=True)
class CompanyName:
    """A normalised company name.

    Attributes:
        core: Name without legal form, abbreviations expanded, stop words dropped.
        legal_form: Canonical legal form code (``"gmbh & co kg"``, ``"llc"``...) or None.
        tokens: The tokens of ``core``.
    """

    core: str
    legal_form: str | None
    tokens: tuple[str, ...]


def _merge_initials(tokens: list[str]) -> list[str]:
    """Join runs of single letters: ``['i', 'b', 'm']`` -> ``['ibm']``."""
    out: list[str] = []
    run: list[str] = []
    for tok in [*tokens, ""]:
        if len(tok) == 1 and tok.isalpha():
            run.append(tok)
            continue
        if run:
            out.append("".join(run) if len(run) > 1 else run[0])
            run = []
        if tok:
            out.append(tok)
    return out


def _strip_legal_form(tokens: list[str]) -> tuple[list[str], str | None]:
    """Remove trailing legal forms (repeatedly); keep at least one token."""
    form: str | None = None
    changed = True
    while changed and len(tokens) > 1:
        changed = False
        for size in range(min(_MAX_FORM_LEN, len(tokens) - 1), 0, -1):
            code = _LEGAL_FORMS.get(tuple(tokens[-size:]))
            if code is not None:
                form = form or code
                tokens = tokens[:-size]
                while len(tokens) > 1 and tokens[-1] == "and":
                    tokens = tokens[:-1]
                changed = True
                break
    return tokens, form


#: a record's name is normalised three times on its way through an import (the
#: similar-name key and the match features at validation, the stored name key at
#: writing): the result is immutable, so the later ones are looked up (16,384 names are
#: a few MB: a job's batches stay in it from validation to writing for most jobs)
@lru_cache(maxsize=16384)
def normalize_company_name(name: str | None) -> CompanyName:
    """Normalise a company name for matching.

    Case, accents and punctuation are folded, dotted initials joined (``S.A.S.`` ->
    ``sas``), trailing legal forms removed and returned separately, common abbreviations
    expanded (``Intl`` -> ``international``, ``Mfg`` -> ``manufacturing``) and ``&``/``and``
    dropped.

    Args:
        name: The raw company name.

    Returns:
        A :class:`CompanyName`; ``core`` is empty when the name is empty.

    Example:
        >>> normalize_company_name("Harbor Packaging GmbH & Co. KG")
        CompanyName(core='harbor packaging', legal_form='gmbh & co kg', tokens=('harbor', 'packaging'))
        >>> normalize_company_name("ACME Intl. Mfg, L.L.C.").core
        'acme international manufacturing'
        >>> normalize_company_name("Koninklijke Philips N.V.").core
        'philips'
    """  # noqa: E501
    if not name:
        return CompanyName("", None, ())
    text = name.replace(".", " ").replace("+", " and ")
    tokens = _merge_initials(fold(text).split())
    # "a s" style initials were merged; "s a s" -> "sas" is caught by the legal forms.
    tokens = [t for t in tokens if t not in _HONORIFICS] or tokens
    tokens, form = _strip_legal_form(tokens)
    while len(tokens) > 1 and tokens[0] in _LEADING_FORMS:
        form = form or _LEADING_FORMS[tokens[0]]
        tokens = tokens[1:]
    if tokens and tokens[0] == "the" and len(tokens) > 1:
        tokens = tokens[1:]
    tokens = [_ABBREVIATIONS.get(t, t) for t in tokens]
    kept = [t for t in tokens if t not in _STOP_WORDS] or tokens
    return CompanyName(" ".join(kept), form, tuple(kept))


# --- person names --------------------------------------------------------------------

_TITLES = frozenset(
    {
        "mr",
        "mrs",
        "ms",
        "miss",
        "dr",
        "prof",
        "sir",
        "herr",
        "frau",
        "mme",
        "mlle",
        "m",
        "jr",
        "sr",
        "ii",
        "iii",
        "phd",
        "md",
    }
)


def normalize_person_name(first: str | None, last: str | None) -> str:
    """Normalise a person's name to ``"first last"`` without titles or accents.

    Args:
        first: Given name(s).
        last: Family name(s).

    Returns:
        Folded name, titles and suffixes removed; empty string when both are empty.

    Example:
        >>> normalize_person_name("Dr. José", "García-López")
        'jose garcia lopez'
    """
    tokens = [t for t in fold(f"{first or ''} {last or ''}").split() if t not in _TITLES]
    return " ".join(tokens)


def normalize_name_part(part: str | None) -> str | None:
    """Normalise one part of a person's name (given names or family name) like
    :func:`normalize_person_name`.

    Returns:
        The folded part without titles, or None when nothing is left.

    Example:
        >>> normalize_name_part("Dr. José"), normalize_name_part(" Mr. ")
        ('jose', None)
    """
    tokens = [t for t in fold(part).split() if t not in _TITLES]
    return " ".join(tokens) or None


# --- addresses -----------------------------------------------------------------------

_STREET_WORDS: dict[str, str] = {
    "st": "street",
    "str": "strasse",
    "rd": "road",
    "ave": "avenue",
    "av": "avenue",
    "avda": "avenida",
    "blvd": "boulevard",
    "bd": "boulevard",
    "bld": "boulevard",
    "dr": "drive",
    "ln": "lane",
    "ct": "court",
    "pl": "place",
    "sq": "square",
    "hwy": "highway",
    "pkwy": "parkway",
    "pky": "parkway",
    "ter": "terrace",
    "cres": "crescent",
    "cir": "circle",
    "trl": "trail",
    "mt": "mount",
    "apt": "apartment",
    "ste": "suite",
    "fl": "floor",
    "bldg": "building",
    "n": "north",
    "s": "south",
    "e": "east",
    "w": "west",
    "ne": "northeast",
    "nw": "northwest",
    "se": "southeast",
    "sw": "southwest",
    "chem": "chemin",
    "imp": "impasse",
    "rte": "route",
    "pl.": "place",
    "wg": "weg",
    "gr": "gracht",
}
_UNIT_WORDS = frozenset({"apartment", "suite", "floor", "unit", "flat", "studio", "building"})
#: "65th", "1st", "2nd", "3rd", "42nd": a numbered street's name, not a house number.
_ORDINAL = re.compile(r"^\d+(st|nd|rd|th)$")
_GERMAN_SUFFIX = re.compile(r"(?<=[a-z])(str|strasse)$")


@dataclass(frozen=True, slots=True)
class Street:
    """A normalised street address line.

    Attributes:
        name: Street name words (street types expanded), without numbers.
        number: The house number (first number found) or None.
    """

    name: str
    number: str | None


def normalize_street(lines: str | list[str] | tuple[str, ...] | None) -> Street:
    """Normalise street address line(s).

    Street types are expanded (``St`` -> ``street``, ``Mohauptstr.`` ->
    ``mohauptstrasse``), the first number becomes the house number, other numbers
    (suite, apartment) are dropped from the name; ordinals are street names
    (``E 65th St`` -> ``east 65th street``).

    Args:
        lines: One line or a list of lines; only the first non-empty line is the
            street, later lines (suite, floor) are ignored.

    Returns:
        A :class:`Street`.

    Example:
        >>> normalize_street(["100 Market St.", "Suite 300"])
        Street(name='market street', number='100')
        >>> normalize_street("Tina-Hiller-Str. 50")
        Street(name='tina hiller strasse', number='50')
        >>> normalize_street("301 E 65th St")
        Street(name='east 65th street', number='301')
    """
    if lines is None:
        return Street("", None)
    if isinstance(lines, str):
        lines = [lines]
    first = next((ln for ln in lines if ln and ln.strip()), "")
    tokens = fold(first).split()
    number: str | None = None
    words: list[str] = []
    for tok in tokens:
        if tok[0].isdigit() and not _ORDINAL.match(tok):
            if number is None:
                match = _DIGITS.match(tok)
                number = match.group(0).lstrip("0") or "0" if match else tok
            continue
        word = _STREET_WORDS.get(tok, tok)
        word = _GERMAN_SUFFIX.sub("strasse", word)
        if word not in _UNIT_WORDS:
            words.append(word)
    return Street(" ".join(words), number)


_POSTAL_DIGITS: dict[str, int] = {
    "US": 5,
    "DE": 5,
    "FR": 5,
    "IT": 5,
    "ES": 5,
    "FI": 5,
    "MX": 5,
    "MY": 5,
    "TR": 5,
    "AT": 4,
    "CH": 4,
    "BE": 4,
    "DK": 4,
    "NO": 4,
    "AU": 4,
    "NZ": 4,
    "HU": 4,
    "LU": 4,
    "SE": 5,
    "CZ": 5,
    "SK": 5,
    "GR": 5,
    "PL": 5,
    "PT": 7,
    "JP": 7,
    "IN": 6,
    "CN": 6,
}


def normalize_postal_code(code: str | None, country: str | None = None) -> str | None:
    """Normalise a postal code for its country.

    Spaces and dashes are removed and letters upper-cased (``3543 SX`` -> ``3543SX``,
    ``S6 3DX`` -> ``S63DX``); US ZIP+4 is cut to the ZIP5; numeric codes of fixed length
    get back the leading zeros spreadsheets drop (DE ``8246`` -> ``08246``).

    Args:
        code: The raw postal code.
        country: ISO 3166-1 alpha-2 code of the address, if known.

    Returns:
        The compact postal code, or None when empty.

    Example:
        >>> normalize_postal_code("94105-1234", "US")
        '94105'
        >>> normalize_postal_code("8246", "DE")
        '08246'
    """
    if not code:
        return None
    compact = re.sub(r"[^0-9A-Za-z]", "", code).upper()
    if not compact:
        return None
    width = _POSTAL_DIGITS.get((country or "").upper())
    if width and compact.isdigit():
        if (country or "").upper() == "US" and len(compact) == 9:
            compact = compact[:5]
        if len(compact) < width:
            compact = compact.zfill(width)
    return compact


_COUNTRY_ALIASES: dict[str, str] = {
    "usa": "US",
    "united states": "US",
    "united states of america": "US",
    "us": "US",
    "uk": "GB",
    "united kingdom": "GB",
    "great britain": "GB",
    "england": "GB",
    "deutschland": "DE",
    "germany": "DE",
    "netherlands": "NL",
    "the netherlands": "NL",
    "holland": "NL",
    "nederland": "NL",
    "france": "FR",
    "espana": "ES",
    "spain": "ES",
    "italia": "IT",
    "italy": "IT",
    "schweiz": "CH",
    "suisse": "CH",
    "switzerland": "CH",
    "osterreich": "AT",
    "austria": "AT",
    "belgium": "BE",
    "belgique": "BE",
    "canada": "CA",
}


def normalize_country(country: str | None) -> str | None:
    """Map a country name or ISO code (alpha-2 or alpha-3) to ISO 3166-1 alpha-2.

    Args:
        country: ``"NL"``, ``"NLD"``, ``"Netherlands"``...

    Returns:
        The alpha-2 code, or None when unknown.

    Example:
        >>> normalize_country("NLD"), normalize_country("United Kingdom")
        ('NL', 'GB')
    """
    if not country:
        return None
    key = fold(country)
    if key in _COUNTRY_ALIASES:
        return _COUNTRY_ALIASES[key]
    return _pycountry_alpha2(country.strip())


def _pycountry_alpha2(text: str) -> str | None:
    key = text.upper()
    if key not in _COUNTRY_CACHE:
        try:
            _COUNTRY_CACHE[key] = str(pycountry.countries.lookup(text).alpha_2)
        except LookupError:
            _COUNTRY_CACHE[key] = None
    return _COUNTRY_CACHE[key]


_COUNTRY_CACHE: dict[str, str | None] = {}

# --- phones, emails, websites, tax ids -----------------------------------------------


def normalize_phone(phone: str | None, country: str | None = None) -> str | None:
    """Format a phone number as E.164.

    Args:
        phone: The raw number, with or without ``+`` prefix.
        country: ISO alpha-2 region used when the number has no ``+`` prefix.

    Returns:
        The E.164 form (``+14155550100``) when the number is possible for its region,
        else its bare digits (at least 6), else None.

    Example:
        >>> normalize_phone("(415) 555-0100", "US")
        '+14155550100'
    """
    if not phone:
        return None
    try:
        parsed = phonenumbers.parse(phone, (country or "").upper() or None)
        if phonenumbers.is_possible_number(parsed):
            return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
    except phonenumbers.NumberParseException:
        pass
    digits = "".join(ch for ch in phone if ch.isdigit())
    return digits if len(digits) >= 6 else None


FREE_EMAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.uk",
        "yahoo.fr",
        "hotmail.com",
        "hotmail.co.uk",
        "hotmail.fr",
        "outlook.com",
        "live.com",
        "msn.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "gmx.de",
        "gmx.net",
        "gmx.com",
        "web.de",
        "t-online.de",
        "freenet.de",
        "orange.fr",
        "wanadoo.fr",
        "free.fr",
        "laposte.net",
        "protonmail.com",
        "proton.me",
        "mail.com",
        "yandex.ru",
        "mail.ru",
        "qq.com",
        "163.com",
        "ziggo.nl",
        "kpnmail.nl",
        "example.com",
    }
)


def normalize_email(email: str | None) -> tuple[str, str] | None:
    """Normalise an email address into ``(address, domain)``.

    Args:
        email: The raw address; surrounding spaces and angle brackets are dropped.

    Returns:
        The case-folded address and its domain, or None when it has no ``@``.

    Example:
        >>> normalize_email(" Dana.Lee@ACME.example ")
        ('dana.lee@acme.example', 'acme.example')
    """
    if not email:
        return None
    addr = email.strip().strip("<>").strip().casefold()
    local, at, domain = addr.rpartition("@")
    if not at or not local or "." not in domain:
        return None
    domain = domain.rstrip(".")
    if domain == "googlemail.com":
        domain = "gmail.com"
    return f"{local}@{domain}", domain


def website_domain(url: str | None) -> str | None:
    """Reduce a website URL to its host name without ``www.``.

    Args:
        url: ``https://www.acme.example/about``, ``www.acme.example``, ``acme.example``...

    Returns:
        The lower-case host (``acme.example``), or None.

    Example:
        >>> website_domain("HTTPS://www.Acme.example:443/about?x=1")
        'acme.example'
    """
    if not url:
        return None
    host = url.strip().casefold()
    host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", host)
    host = re.split(r"[/?#]", host, maxsplit=1)[0]
    host = host.rpartition("@")[2].split(":", 1)[0].rstrip(".")
    host = re.sub(r"^(www\d?|ww)\.", "", host)
    return host if "." in host else None


def normalize_tax_id(tax_id: str | None, country: str | None = None) -> str | None:
    """Compact a tax id (VAT number, EIN...) for comparison.

    Separators are removed and letters upper-cased; an EU VAT number without its
    country prefix gets the prefix of the address country, so ``DE 464 070 231`` and
    ``464070231`` (country DE) compare equal.

    Args:
        tax_id: The raw tax id.
        country: ISO alpha-2 country of the customer, if known.

    Returns:
        The compact id, or None when empty.

    Example:
        >>> normalize_tax_id("94-1234567", "US")
        '941234567'
        >>> normalize_tax_id("464070231", "DE")
        'DE464070231'
    """
    if not tax_id:
        return None
    compact = re.sub(r"[^0-9A-Za-z]", "", tax_id).upper()
    if not compact:
        return None
    cc = (country or "").upper()
    prefix = "EL" if cc == "GR" else cc
    if compact[:2].isalpha():
        try:
            return str(eu_vat.compact(compact))
        except Exception:  # stdnum raises its own ValidationError subclasses
            return compact
    if prefix and prefix.lower() in eu_vat.MEMBER_STATES:
        return prefix + compact
    return compact
