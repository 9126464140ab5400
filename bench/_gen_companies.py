"""Seeded generator of realistic company records with duplicates and hard negatives.

Each entity (a real company) yields one or more source records. Duplicates differ by
legal-form variants, abbreviations, case, typos, missing fields, phone/postal/street
formats and moved addresses. Hard negatives are distinct entities that look alike:
sister companies (same brand word, other business, often the same address) and the same
name in another city (other domain, phone, tax id).

Usage: ``generate(n_records, seed) -> (records, truth)`` where records are dicts with the
MatchRecord fields and truth maps record id -> entity id.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass

SYL_A = [
    "stone",
    "river",
    "north",
    "south",
    "east",
    "west",
    "green",
    "silver",
    "gold",
    "iron",
    "oak",
    "pine",
    "maple",
    "cedar",
    "harbor",
    "bay",
    "lake",
    "hill",
    "moor",
    "bright",
    "clear",
    "blue",
    "red",
    "black",
    "white",
    "high",
    "low",
    "fair",
    "deep",
    "star",
    "sun",
    "moon",
    "ever",
    "key",
    "bridge",
    "crest",
    "summit",
    "pioneer",
    "atlas",
    "titan",
    "apex",
    "vertex",
    "nova",
    "delta",
    "sigma",
    "orion",
    "zen",
    "falcon",
    "eagle",
    "hawk",
    "wolf",
    "bear",
    "fox",
    "lion",
    "crown",
    "royal",
    "prime",
    "core",
    "true",
    "bold",
    "swift",
    "rapid",
    "grand",
    "metro",
    "urban",
]
SYL_B = [
    "field",
    "water",
    "gate",
    "wood",
    "line",
    "stone",
    "ridge",
    "view",
    "point",
    "port",
    "side",
    "bend",
    "brook",
    "haven",
    "land",
    "dale",
    "ford",
    "worth",
    "mont",
    "wave",
    "light",
    "path",
    "way",
    "well",
    "wick",
    "ton",
    "by",
    "holm",
    "stead",
    "more",
    "mark",
    "crest",
    "peak",
    "rock",
    "forge",
    "mill",
    "vale",
    "shore",
    "cliff",
]
INDUSTRY = [
    "Packaging",
    "Hydraulics",
    "Fasteners",
    "Coatings",
    "Logistics",
    "Plastics",
    "Bearings",
    "Tooling",
    "Electrical Distributors",
    "Machine Works",
    "Metal Fabrication",
    "Automotive Parts",
    "Precision Components",
    "Chemicals",
    "Textiles",
    "Software",
    "Foods",
    "Beverages",
    "Pharmaceuticals",
    "Optics",
    "Robotics",
    "Furniture",
    "Printing",
    "Paper",
    "Glass",
    "Ceramics",
    "Cables",
    "Pumps",
    "Valves",
    "Filters",
    "Sensors",
    "Motors",
    "Steel",
    "Aluminium",
    "Timber",
    "Construction",
    "Engineering",
    "Consulting",
    "Security",
    "Energy",
    "Solar",
    "Medical Devices",
    "Laboratories",
    "Instruments",
    "Semiconductors",
    "Batteries",
    "Lighting",
    "Flooring",
    "Paints",
    "Adhesives",
    "Rubber",
    "Seals",
]
SUFFIX = [
    "",
    "",
    "",
    "",
    "International",
    "Manufacturing",
    "Group",
    "Systems",
    "Services",
    "Technologies",
    "Holdings",
    "Industries",
    "Trading",
    "Supply",
]
ABBREV = {
    "International": ["Intl", "Intl.", "Int'l"],
    "Manufacturing": ["Mfg", "Mfg."],
    "Technologies": ["Tech"],
    "Industries": ["Inds", "Ind."],
    "Services": ["Svcs"],
    "Engineering": ["Eng"],
    "Laboratories": ["Labs"],
    "Holdings": ["Hldgs"],
    "Electrical Distributors": ["Electrical Dist", "Elec. Distributors"],
}
FIRST = [
    "anna",
    "ben",
    "clara",
    "david",
    "emma",
    "felix",
    "greta",
    "hugo",
    "ines",
    "jan",
    "kai",
    "lena",
    "max",
    "nina",
    "omar",
    "paula",
    "quinn",
    "rosa",
    "sam",
    "tara",
    "ugo",
    "vera",
    "will",
    "xena",
    "yara",
    "zoe",
    "mario",
    "dana",
    "lucie",
    "pierre",
]
LAST = [
    "meyer",
    "smith",
    "dubois",
    "jansen",
    "miller",
    "schulz",
    "martin",
    "devries",
    "brown",
    "wagner",
    "bernard",
    "bakker",
    "taylor",
    "becker",
    "petit",
    "visser",
    "wilson",
    "hoffmann",
    "durand",
    "smit",
    "moore",
    "koch",
    "leroy",
    "mulder",
]


@dataclass(frozen=True)
class Country:
    code: str
    forms: tuple[tuple[str, ...], ...]  # legal form with its spelling variants
    tld: str
    phone_cc: str
    street_types: tuple[tuple[str, str], ...]  # (long, short)


COUNTRIES = [
    Country(
        "US",
        (
            ("Inc.", "Inc", "Incorporated", "INC"),
            ("LLC", "L.L.C.", "Llc"),
            ("Corp.", "Corporation", "Corp"),
        ),
        "com",
        "1",
        (
            ("Street", "St"),
            ("Avenue", "Ave"),
            ("Road", "Rd"),
            ("Boulevard", "Blvd"),
            ("Drive", "Dr"),
        ),
    ),
    Country(
        "GB",
        (("Ltd", "Limited", "Ltd."), ("PLC", "plc", "P.L.C.")),
        "co.uk",
        "44",
        (("Road", "Rd"), ("Street", "St"), ("Lane", "Ln"), ("Avenue", "Ave")),
    ),
    Country(
        "DE",
        (
            ("GmbH", "G.m.b.H.", "Gmbh"),
            ("AG",),
            ("GmbH & Co. KG", "GmbH & Co KG", "GmbH u. Co. KG"),
        ),
        "de",
        "49",
        (("straße", "str."), ("weg", "weg"), ("allee", "allee")),
    ),
    Country(
        "FR",
        (("SAS", "S.A.S.", "S.A.S"), ("SARL", "S.A.R.L."), ("SA", "S.A.")),
        "fr",
        "33",
        (("rue", "rue"), ("avenue", "av."), ("boulevard", "bd")),
    ),
    Country(
        "NL",
        (("B.V.", "BV", "B.V"), ("N.V.", "NV")),
        "nl",
        "31",
        (("weg", "weg"), ("straat", "straat"), ("laan", "laan")),
    ),
]


_USED_DOMAINS: dict[str, int] = {}


def _word(rng: random.Random) -> str:
    return rng.choice(SYL_A) + rng.choice(SYL_B)


def _city(rng: random.Random) -> str:
    base = _word(rng).capitalize()
    return rng.choice([base, base, f"New {base}", f"{base}ton", f"Saint {base}"])


def _postal(rng: random.Random, cc: str) -> str:
    if cc in ("US", "DE", "FR"):
        return f"{rng.randrange(1000, 99999):05d}"
    if cc == "NL":
        return (
            f"{rng.randrange(1000, 9999)}{rng.choice(string.ascii_uppercase)}"
            f"{rng.choice(string.ascii_uppercase)}"
        )
    return (
        f"{rng.choice('BDEGLMNS')}{rng.randrange(1, 99)} {rng.randrange(1, 9)}"
        f"{rng.choice(string.ascii_uppercase)}{rng.choice(string.ascii_uppercase)}"
    )


def _tax(rng: random.Random, cc: str) -> str:
    if cc == "US":
        return f"{rng.randrange(10, 99)}-{rng.randrange(1000000, 9999999)}"
    if cc == "NL":
        return f"NL{rng.randrange(10**8, 10**9)}B01"
    if cc == "FR":
        return f"FR{rng.randrange(10**10, 10**11)}"
    return f"{cc}{rng.randrange(10**8, 10**9)}"


def _address(rng: random.Random, c: Country) -> dict[str, str]:
    name = _word(rng).capitalize()
    long_t, _ = rng.choice(c.street_types)
    num = str(rng.randrange(1, 999))
    if c.code in ("DE", "NL"):
        street = f"{name}{long_t} {num}"
    elif c.code == "FR":
        street = f"{num}, {long_t} {name}"
    else:
        street = f"{num} {name} {long_t}"
    return {"street": street, "city": _city(rng), "postal_code": _postal(rng, c.code)}


def _entity(rng: random.Random, brand: str | None = None, c: Country | None = None) -> dict:
    c = c or rng.choice(COUNTRIES)
    brand = brand or _word(rng).capitalize()
    industry = rng.choice(INDUSTRY)
    suffix = rng.choice(SUFFIX)
    base = " ".join(p for p in (brand, industry, suffix) if p)
    form = rng.choice(c.forms)
    dom = (brand + industry.split()[0]).lower()
    # a domain belongs to one company: later namesakes get a distinct one
    n = _USED_DOMAINS.get(dom, 0)
    _USED_DOMAINS[dom] = n + 1
    if n:
        dom = f"{dom}{rng.choice(['-', ''])}{rng.choice(['group', 'co', 'hq', 'online'])}{n}"
    phone = f"+{c.phone_cc}{rng.randrange(10**9, 10**10)}"
    return {
        "base": base,
        "form": form,
        "country": c,
        "domain": f"{dom}.{c.tld}",
        "phone": phone,
        "tax": _tax(rng, c.code),
        **_address(rng, c),
    }


def _typo(rng: random.Random, s: str) -> str:
    if len(s) < 4:
        return s
    i = rng.randrange(1, len(s) - 1)
    op = rng.randrange(3)
    if op == 0:
        return s[:i] + s[i + 1 :]
    if op == 1:
        return s[:i] + s[i + 1] + s[i] + s[i + 2 :]
    return s[:i] + rng.choice(string.ascii_lowercase) + s[i + 1 :]


def _render(rng: random.Random, e: dict, rid: str, dup: bool) -> dict[str, str | None]:
    c: Country = e["country"]
    name = e["base"]
    if dup:
        for long, shorts in ABBREV.items():
            if long in name and rng.random() < 0.5:
                name = name.replace(long, rng.choice(shorts))
        if rng.random() < 0.15:
            name = _typo(rng, name)
        if rng.random() < 0.1:
            name = name.replace(" and ", " & ")
    form_choice = rng.random()
    form = e["form"][0] if not dup else (rng.choice(e["form"]) if form_choice < 0.75 else "")
    full = f"{name} {form}".strip() if form else name
    if dup and rng.random() < 0.15:
        full = full.upper()
    street, city, postal = e["street"], e["city"], e["postal_code"]
    if dup:
        if rng.random() < 0.12:  # moved
            moved = _address(rng, c)
            street, city, postal = moved["street"], moved["city"], moved["postal_code"]
        else:
            for long, short in c.street_types:
                if long in street and rng.random() < 0.4:
                    street = street.replace(long, short)
            if rng.random() < 0.08:
                street = _typo(rng, street)
            if c.code == "NL" and rng.random() < 0.5:
                postal = postal[:4] + " " + postal[4:]
            if c.code == "DE" and postal.startswith("0") and rng.random() < 0.5:
                postal = postal.lstrip("0")
            if c.code == "US" and rng.random() < 0.2:
                postal = f"{postal}-{rng.randrange(1000, 9999)}"
    phone = e["phone"]
    if dup and rng.random() < 0.4:
        nat = phone[1 + len(c.phone_cc) :]
        phone = rng.choice(
            [
                f"+{c.phone_cc} {nat[:3]} {nat[3:6]} {nat[6:]}",
                f"00{c.phone_cc}{nat}",
                f"({nat[:3]}) {nat[3:6]}-{nat[6:]}",
            ]
        )
    local = rng.choice(
        ["ap", "info", "billing", "accounts", "sales", f"{rng.choice(FIRST)}.{rng.choice(LAST)}"]
    )
    email = f"{local}@{e['domain']}"
    if dup and rng.random() < 0.05:
        email = f"{e['base'].split()[0].lower()}{rng.randrange(99)}@gmail.com"
    website = rng.choice(
        [f"https://www.{e['domain']}", f"www.{e['domain']}", e["domain"], f"http://{e['domain']}/"]
    )
    tax = e["tax"]
    if dup and rng.random() < 0.3:
        tax = tax.replace("-", "") if c.code == "US" else f"{tax[:2]} {tax[2:]}"
    rec: dict[str, str | None] = {
        "id": rid,
        "kind": "organization",
        "name": full,
        "email": email,
        "phone": phone,
        "website": website,
        "tax_id": tax,
        "street": street,
        "postal_code": postal,
        "city": city,
        "country": rng.choice([c.code, c.code, c.code, _long_country(c)]),
    }
    drop = {
        "email": 0.25,
        "phone": 0.3,
        "website": 0.35,
        "tax_id": 0.5,
        "street": 0.1,
        "postal_code": 0.1,
    }
    for fld, p in drop.items():
        if rng.random() < p:
            rec[fld] = None
    return rec


def _long_country(c: Country) -> str:
    return {
        "US": "United States",
        "GB": "United Kingdom",
        "DE": "Germany",
        "FR": "France",
        "NL": "Netherlands",
    }[c.code]


def generate(n_records: int, seed: int = 42) -> tuple[list[dict[str, str | None]], dict[str, str]]:
    """Generate about ``n_records`` records; returns (records, record id -> entity id)."""
    rng = random.Random(seed)
    _USED_DOMAINS.clear()
    records: list[dict[str, str | None]] = []
    truth: dict[str, str] = {}
    n_ent = 0
    last_ent: dict = {}
    while len(records) < n_records:
        n_ent += 1
        r = rng.random()
        if r < 0.06 and n_ent > 1:  # sister company: same brand, often same address
            prev = records[-1]
            parent = _entity(rng, brand=str(prev["name"]).split()[0].capitalize())
            if rng.random() < 0.5:
                for k in ("street", "city", "postal_code"):
                    parent[k] = prev[k] or parent[k]
            ent = parent
        elif r < 0.10 and last_ent:  # same name, other city, other contacts
            ent = dict(last_ent)
            ent.update(_address(rng, ent["country"]))
            ent["domain"] = ent["domain"].replace(".", "-group.", 1)
            ent["phone"] = f"+{ent['country'].phone_cc}{rng.randrange(10**9, 10**10)}"
            ent["tax"] = _tax(rng, ent["country"].code)
        else:
            ent = _entity(rng)
        last_ent = ent
        k = rng.choices([1, 2, 3, 4, 5], weights=[55, 27, 11, 5, 2])[0]
        eid = f"E{n_ent:07d}"
        for d in range(k):
            rid = f"R{len(records):07d}"
            records.append(_render(rng, ent, rid, dup=d > 0))
            truth[rid] = eid
    return records[:n_records], {r["id"]: truth[str(r["id"])] for r in records[:n_records]}
