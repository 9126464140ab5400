"""Field comparisons: each maps a pair of :class:`MatchFeatures` to a comparison level.

A comparison has ordered levels, ``0`` the most dissimilar and the last one the most
similar (like a Splink comparison without its null level); it returns ``NULL_LEVEL``
(-1) when either side lacks the data, which contributes a match weight of 0.

The functions use rapidfuzz and run in a few microseconds per pair.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler, Levenshtein

from custmaster.matching.record import MatchFeatures

__all__ = [
    "COMPARISONS",
    "NULL_LEVEL",
    "Comparison",
    "compare_address",
    "compare_contact",
    "compare_country",
    "compare_family_name",
    "compare_given_name",
    "compare_name",
    "compare_phone",
    "compare_tax_id",
    "comparison_vector",
    "names_swapped",
    "person_parts",
    "street_core",
    "tax_ids_conflict",
]

NULL_LEVEL = -1

# US-style generic forms that are used interchangeably ("Acme Inc" = "Acme Corp").
_GENERIC_FORMS = frozenset({"inc", "corp", "co", "llc", "ltd"})


def _forms_conflict(a: str | None, b: str | None) -> bool:
    if a is None or b is None or a == b:
        return False
    return not (a in _GENERIC_FORMS and b in _GENERIC_FORMS)


def compare_name(a: MatchFeatures, b: MatchFeatures) -> int:
    """Compare normalised names (company core name or person ``"first last"``).

    Levels: 6 identical and compatible legal forms, 5 identical but conflicting legal
    forms (``GmbH`` vs ``AG``: often sister companies), 4 token-sort similarity >= 92
    (or >= 92 written without spaces),
    3 one name's words contained in the other (token-set >= 92), 2 token-sort >= 80 or,
    for two persons, the same family name (last word equal or a typo apart) with given
    names that may be one person's (same initial or a typo apart), 1 alike but for a
    part that tells two apart: two persons of one family name with unrelated given
    names ("Tetsuya" and "Osamu Watanabe"), or names that both hold numbers and not the
    same ones ("Store 302" and "Store 305"), 0 otherwise.

    Args:
        a: Features of the first record.
        b: Features of the second record.

    Two persons that both carry a family name as a field of its own are compared part
    by part instead (:func:`compare_given_name`, :func:`compare_family_name`): this
    comparison is null for them.

    Returns:
        The level, or -1 when either name is empty (or the names are compared by part).

    Example:
        >>> from custmaster.matching.record import MatchRecord, prepare
        >>> compare_name(prepare(MatchRecord("1", name="Acme Intl GmbH")),
        ...              prepare(MatchRecord("2", name="ACME International G.m.b.H.")))
        6
        >>> compare_name(prepare(MatchRecord("1", kind="person", name="Tetsuya Watanabe")),
        ...              prepare(MatchRecord("2", kind="person", name="Osamu Watanabe")))
        1
    """
    if not a.name or not b.name or person_parts(a, b):
        return NULL_LEVEL
    if a.name == b.name:
        return 5 if _forms_conflict(a.legal_form, b.legal_form) else 6
    sort_sim = fuzz.token_sort_ratio(a.name, b.name)
    if _numbers_differ(a.name, b.name):  # "Store 302" is not "Store 305"
        return 1 if sort_sim >= 80 else 0
    if sort_sim >= 92 or _joined_ratio(a.name, b.name) >= 92:
        return 4
    if fuzz.token_set_ratio(a.name, b.name) >= 92:
        return 3
    if sort_sim >= 80:
        return 2
    family = _same_family_name(a, b)
    if family is None:
        return 0
    return 2 if family else 1


def _joined_ratio(a: str, b: str) -> float:
    """Similarity of the names written without spaces ("mcgilc hrist" = "mcgilchrist",
    "Mc Donald" = "McDonald")."""
    return fuzz.ratio(a.replace(" ", ""), b.replace(" ", ""))


def _numbers(text: str) -> list[str]:
    return sorted("".join(ch if ch.isdigit() else " " for ch in text).split())


def _numbers_differ(a: str, b: str) -> bool:
    """Both names hold numbers and not the same ones (branch or site numbers).

    Example:
        >>> _numbers_differ("firm302 energy", "firm305 energy"), _numbers_differ("3m", "3m co")
        (True, False)
    """
    if not any(ch.isdigit() for ch in a) or not any(ch.isdigit() for ch in b):
        return False
    return _numbers(a) != _numbers(b)


def _same_family_name(a: MatchFeatures, b: MatchFeatures) -> bool | None:
    """Two persons whose last name words agree (or differ by a typo): True when their
    given names may be one person's (same initial or a typo apart: a short form, a
    middle name added or dropped), False when they share nothing (two people of one
    family), None when the family names differ (or either is no person)."""
    if a.kind != "person" or b.kind != "person":
        return None
    if len(a.name_tokens) < 2 or len(b.name_tokens) < 2:
        return None
    last_a, last_b = a.name_tokens[-1], b.name_tokens[-1]
    same = last_a == last_b or (
        min(len(last_a), len(last_b)) >= 5
        and JaroWinkler.normalized_similarity(last_a, last_b) >= 0.92
    )
    if not same:
        return None
    return _given_names_compatible(a.name_tokens[:-1], b.name_tokens[:-1])


def _given_names_compatible(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Given names that may be one person's: the same initial ("J." and "John", "Bart"
    and "Bartholomeus") or a typo apart; "Tetsuya" and "Osamu" are two people.

    Example:
        >>> _given_names_compatible(("bart",), ("bartholomeus", "j"))
        True
        >>> _given_names_compatible(("tetsuya",), ("osamu",))
        False
    """
    first_a, first_b = a[0], b[0]
    if first_a[0] == first_b[0]:
        return True
    return Levenshtein.normalized_similarity(" ".join(a), " ".join(b)) >= 0.75


def person_parts(a: MatchFeatures, b: MatchFeatures) -> bool:
    """Whether two records are compared name part by name part: both are persons with a
    family name of its own (a given name may be missing on either side).

    Example:
        >>> from custmaster.matching.record import MatchRecord, prepare
        >>> p = prepare(MatchRecord("1", kind="person", first_name="Ann", last_name="Lee"))
        >>> q = prepare(MatchRecord("2", kind="person", name="Ann Lee"))
        >>> person_parts(p, p), person_parts(p, q)
        (True, False)
    """
    return a.family is not None and b.family is not None


#: Jaro-Winkler similarity of name parts that are one name with a typo (Splink's
#: NameComparison uses 0.92 and 0.88).
_PART_CLOSE = 0.92
_PART_NEAR = 0.88


def _part_sim(x: str, y: str) -> float:
    return 1.0 if x == y else JaroWinkler.normalized_similarity(x, y)


def names_swapped(a: MatchFeatures, b: MatchFeatures) -> bool:
    """Given name and family name entered the other way round on one side: each part
    is (almost) the other record's other part, and the crossing fits better than the
    parts as entered ("Smith | John" and "John | Smyth").

    Example:
        >>> from custmaster.matching.record import MatchRecord, prepare
        >>> def p(g: str, f: str) -> MatchFeatures:
        ...     return prepare(MatchRecord(g, kind="person", first_name=g, last_name=f))
        >>> names_swapped(p("smith", "john"), p("john", "smiht"))
        True
        >>> names_swapped(p("john", "smith"), p("john", "smith"))
        False
    """
    if not (a.given and a.family and b.given and b.family):
        return False
    cross_1, cross_2 = _part_sim(a.given, b.family), _part_sim(a.family, b.given)
    if min(cross_1, cross_2) < _PART_CLOSE:
        return False
    return cross_1 + cross_2 > _part_sim(a.given, b.given) + _part_sim(a.family, b.family)


def _part_level(x: str, y: str, top: int) -> int:
    """Levels of one name part: ``top`` identical, ``top - 1`` a typo apart
    (Jaro-Winkler >= 0.92, or one edit in names of 4 letters or more), ``top - 2``
    Jaro-Winkler >= 0.88, 1 one part an initial, a prefix or a word of the other ("J" /
    "John", "Bart" / "Bartholomeus", "Garcia" / "Garcia Lopez"), 0 different."""
    if x == y:
        return top
    sim = JaroWinkler.normalized_similarity(x, y)
    one_edit = min(len(x), len(y)) >= 4 and Levenshtein.distance(x, y, score_cutoff=1) <= 1
    if sim >= _PART_CLOSE or one_edit:
        return top - 1
    if sim >= _PART_NEAR:
        return top - 2
    words_x, words_y = x.split(), y.split()
    if words_x[0].startswith(words_y[0]) or words_y[0].startswith(words_x[0]):
        return 1
    # a shared word that is more than an initial ("Anna Maria" / "Maria"; not the "J."
    # of "Tetsuya J." and "Omar J.")
    if any(len(w) > 1 for w in set(words_x) & set(words_y)):
        return 1
    return 0


def compare_given_name(a: MatchFeatures, b: MatchFeatures) -> int:
    """Compare two persons' given names (when :func:`person_parts` applies).

    Levels: 6 identical, 5 given and family name swapped on one side
    (:func:`names_swapped`), 4 a typo apart (Jaro-Winkler >= 0.92, or one edit in
    names of 4 letters or more), 3 the given names differ but one record's given name
    is the other's family name ("Maclennan | Jack" and "Jack | Juric"), 2 Jaro-Winkler
    >= 0.88, 1 an initial, prefix or one word of the other ("J." / "John", "Bart" /
    "Bartholomeus", "Anna" / "Anna Maria"), 0 different. Term frequencies weaken a
    common given name.

    Args:
        a: Features of the first record.
        b: Features of the second record.

    Returns:
        The level, or -1 when either has no given name or the pair is not compared
        by part.

    Example:
        >>> from custmaster.matching.record import MatchRecord, prepare
        >>> def p(g: str, f: str) -> MatchFeatures:
        ...     return prepare(MatchRecord(g, kind="person", first_name=g, last_name=f))
        >>> compare_given_name(p("Emily", "George"), p("Emiily", "George"))
        4
        >>> compare_given_name(p("George", "Emily"), p("Emily", "George"))
        5
    """
    if not person_parts(a, b) or not a.given or not b.given:
        return NULL_LEVEL
    if names_swapped(a, b):
        return 5
    level = _part_level(a.given, b.given, 4)
    if level == 0 and _one_part_crossed(a, b):
        return 3
    return {3: 4, 4: 6}.get(level, level)  # a typo apart, identical


def _one_part_crossed(a: MatchFeatures, b: MatchFeatures) -> bool:
    """One record's given name is (almost) the other's family name, or the other way
    round ("Maclennan | Jack" and "Jack | Juric": a name entered in the wrong field,
    the other part lost)."""
    assert a.given is not None and b.given is not None
    assert a.family is not None and b.family is not None
    return max(_part_sim(a.family, b.given), _part_sim(a.given, b.family)) >= _PART_CLOSE


def compare_family_name(a: MatchFeatures, b: MatchFeatures) -> int:
    """Compare two persons' family names (when :func:`person_parts` applies); with the
    names swapped on one side (:func:`names_swapped`), the family name of one with the
    given name of the other.

    Levels: 4 identical, 3 a typo apart (Jaro-Winkler >= 0.92 or one edit),
    2 Jaro-Winkler >= 0.88, 1 a prefix or one word of the other ("Garcia" / "Garcia
    Lopez"), 0 different. Term frequencies weaken a common family name.

    Args:
        a: Features of the first record.
        b: Features of the second record.

    Returns:
        The level, or -1 when the pair is not compared by part.

    Example:
        >>> from custmaster.matching.record import MatchRecord, prepare
        >>> def p(g: str, f: str) -> MatchFeatures:
        ...     return prepare(MatchRecord(g, kind="person", first_name=g, last_name=f))
        >>> compare_family_name(p("April", "Harrington"), p("April", "Herbert"))
        0
        >>> compare_family_name(p("Zimmermann", "Erin"), p("Erin", "Zimmerrmnn"))
        3
    """
    if not person_parts(a, b):
        return NULL_LEVEL
    assert a.family is not None and b.family is not None
    if names_swapped(a, b):
        assert a.given is not None and b.given is not None
        return min(_part_level(a.family, b.given, 4), _part_level(a.given, b.family, 4))
    return _part_level(a.family, b.family, 4)


def compare_tax_id(a: MatchFeatures, b: MatchFeatures) -> int:
    """Compare compacted tax ids.

    Levels: 2 equal, 1 at most two edits apart (a typo), 0 different.

    Args:
        a: Features of the first record.
        b: Features of the second record.

    Returns:
        The level, or -1 when either is missing.

    Example:
        >>> from custmaster.matching.record import MatchRecord, prepare
        >>> compare_tax_id(prepare(MatchRecord("1", tax_id="DE 464 070 231")),
        ...                prepare(MatchRecord("2", tax_id="464070231", country="DE")))
        2
    """
    if a.tax_id is None or b.tax_id is None:
        return NULL_LEVEL
    if a.tax_id == b.tax_id:
        return 2
    return 1 if tax_ids_conflict(a.tax_id, b.tax_id) is False else 0


def tax_ids_conflict(a: str, b: str) -> bool:
    """True when two compact tax ids differ by more than a typo (over two edits).

    Example:
        >>> tax_ids_conflict("DE464070231", "DE464070213"), tax_ids_conflict("DE1", "FR9")
        (False, True)
    """
    return Levenshtein.distance(a, b, score_cutoff=2) > 2


def compare_contact(a: MatchFeatures, b: MatchFeatures) -> int:
    """Compare email addresses and web/email domains together (they are correlated).

    Levels: 3 same email address, 2 a shared company domain (website or non-free-mail
    email domain), 1 both only have (different) free-mail addresses, 0 different
    company domains.

    Args:
        a: Features of the first record.
        b: Features of the second record.

    Returns:
        The level, or -1 when there is nothing to compare.

    Example:
        >>> from custmaster.matching.record import MatchRecord, prepare
        >>> compare_contact(prepare(MatchRecord("1", email="ap@acme.example")),
        ...                 prepare(MatchRecord("2", website="https://www.acme.example")))
        2
    """
    if a.email is not None and a.email == b.email:
        return 3
    if a.domains and b.domains:
        return 2 if a.domains & b.domains else 0
    if a.email is not None and b.email is not None and not a.domains and not b.domains:
        return 1
    return NULL_LEVEL


def compare_phone(a: MatchFeatures, b: MatchFeatures) -> int:
    """Compare E.164 phone numbers.

    Levels: 2 equal, 1 same last 8 digits (country-code or trunk-prefix slips),
    0 different.

    Args:
        a: Features of the first record.
        b: Features of the second record.

    Returns:
        The level, or -1 when either is missing.

    Example:
        >>> from custmaster.matching.record import MatchRecord, prepare
        >>> compare_phone(prepare(MatchRecord("1", phone="+1 415-555-0100")),
        ...               prepare(MatchRecord("2", phone="(415) 555 0100", country="US")))
        2
    """
    if a.phone is None or b.phone is None:
        return NULL_LEVEL
    if a.phone == b.phone:
        return 2
    return 1 if a.phone[-8:] == b.phone[-8:] else 0


#: Street types and directionals (as :func:`~custmaster.matching.normalize.normalize_street`
#: expands them): optional in a comparison ("S Main" = "South Main Boulevard").
_STREET_TYPES = frozenset(
    {
        "street",
        "strasse",
        "road",
        "avenue",
        "avenida",
        "boulevard",
        "drive",
        "lane",
        "court",
        "place",
        "square",
        "highway",
        "parkway",
        "terrace",
        "crescent",
        "circle",
        "trail",
        "way",
        "weg",
        "gasse",
        "platz",
        "allee",
        "chemin",
        "route",
        "impasse",
        "rue",
        "via",
        "calle",
        "north",
        "south",
        "east",
        "west",
        "northeast",
        "northwest",
        "southeast",
        "southwest",
    }
)


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


@lru_cache(maxsize=65_536)
def street_core(street: str) -> str:
    """The street name without street types and directionals (kept when nothing else is
    left).

    Example:
        >>> street_core("south main boulevard"), street_core("east 65th street")
        ('main', '65th')
        >>> street_core("north street")
        'north street'
    """
    words = [w for w in street.split() if w not in _STREET_TYPES]
    return " ".join(words) if words else street


def compare_address(a: MatchFeatures, b: MatchFeatures) -> int:
    """Compare house number, street name, postal code and city as parts of one address.

    The street name is compared without street type and directional ("S Main" =
    "South Main Boulevard"); the house numbers must agree when both are given. The area
    agrees on the postal code when both have one, else on the city when both have one,
    else it is unknown (no penalty): a record with a postal code and one without can
    still be at the same address. Postal codes a typo apart, or other codes in the same
    city, are a nearby area: the same street and number there is level 3, not 4.

    Levels: 4 same street name and number in a compatible area, 3 similar street name
    (>= 85) and same number, or the same street name where a number is missing on one
    side, 2 same postal code, 1 same or very similar city (Jaro-Winkler >= 0.92),
    0 otherwise.

    Args:
        a: Features of the first record.
        b: Features of the second record.

    Returns:
        The level, or -1 when either side has no street, postal code and city.

    Example:
        >>> from custmaster.matching.record import MatchRecord, prepare
        >>> compare_address(
        ...     prepare(MatchRecord("1", street="100 Market St", postal_code="94105")),
        ...     prepare(MatchRecord("2", street="100 Market Street", postal_code="94105-1234",
        ...                         country="US")))
        4
        >>> compare_address(prepare(MatchRecord("1", street="12 S. Main", city="Dayton")),
        ...                 prepare(MatchRecord("2", street="12 S Main Blvd", city="Dayton",
        ...                                     postal_code="45402")))
        4
    """
    if not (a.street or a.postal_code or a.city) or not (b.street or b.postal_code or b.city):
        return NULL_LEVEL
    same_postal = a.postal_code is not None and a.postal_code == b.postal_code
    similar_city = bool(a.city and b.city) and (
        a.city == b.city or JaroWinkler.normalized_similarity(a.city, b.city) >= 0.92
    )
    if a.postal_code is not None and b.postal_code is not None:
        same_area = same_postal
        # a postal code typo ("2250"/"2205") or one city under two codes
        near_area = same_postal or similar_city or _one_slip(a.postal_code, b.postal_code)
    elif a.city and b.city:
        same_area = near_area = similar_city
    else:  # no comparable area on one side: the street and number decide
        same_area = near_area = True
    if a.street and b.street and near_area:
        core_a, core_b = street_core(a.street), street_core(b.street)
        numbers_known = a.house_number is not None and b.house_number is not None
        if numbers_known and a.house_number == b.house_number:
            if core_a == core_b:
                return 4 if same_area else 3
            similar = fuzz.ratio(core_a, core_b) >= 85 or fuzz.ratio(a.street, b.street) >= 90
            if similar and _digits(core_a) == _digits(core_b):  # 65th is not 66th
                return 3
        elif not numbers_known and core_a == core_b and (a.house_number or b.house_number):
            return 3
    if same_postal:
        return 2
    return 1 if similar_city else 0


def _one_slip(a: str, b: str) -> bool:
    """Two codes of one length a typo apart: one character, or two neighbours swapped.

    Example:
        >>> _one_slip("2250", "2205"), _one_slip("2250", "2251"), _one_slip("2250", "3161")
        (True, True, False)
    """
    if len(a) != len(b):
        return False
    diff = [k for k in range(len(a)) if a[k] != b[k]]
    if len(diff) == 1:
        return True
    return (
        len(diff) == 2
        and diff[1] == diff[0] + 1
        and a[diff[0]] == b[diff[1]]
        and (a[diff[1]] == b[diff[0]])
    )


def compare_country(a: MatchFeatures, b: MatchFeatures) -> int:
    """Compare ISO countries. Levels: 1 equal, 0 different.

    Args:
        a: Features of the first record.
        b: Features of the second record.

    Returns:
        The level, or -1 when either is unknown.

    Example:
        >>> from custmaster.matching.record import MatchRecord, prepare
        >>> compare_country(prepare(MatchRecord("1", country="NLD")),
        ...                 prepare(MatchRecord("2", country="Netherlands")))
        1
    """
    if a.country is None or b.country is None:
        return NULL_LEVEL
    return 1 if a.country == b.country else 0


def _name_value(f: MatchFeatures) -> str | None:
    if not f.name:
        return None
    return f"{f.name} ({f.legal_form})" if f.legal_form else f.name


def _contact_value(f: MatchFeatures) -> str | None:
    parts = [f.email] if f.email else []
    parts.extend(sorted(f.domains))
    return ", ".join(parts) or None


def _address_value(f: MatchFeatures) -> str | None:
    street = f"{f.street} {f.house_number or ''}".strip()
    text = ", ".join(p for p in (street, f.postal_code or "", f.city) if p)
    return text or None


@dataclass(frozen=True, slots=True)
class Comparison:
    """One comparison of the model.

    Attributes:
        name: Comparison name, also the key of its parameters in the model.
        labels: Human label per level, index = level (0 = most dissimilar).
        compare: The level function.
        value: The normalised value shown in explanations.
    """

    name: str
    labels: tuple[str, ...]
    compare: Callable[[MatchFeatures, MatchFeatures], int]
    value: Callable[[MatchFeatures], str | None]

    @property
    def num_levels(self) -> int:
        """Number of non-null levels."""
        return len(self.labels)


COMPARISONS: tuple[Comparison, ...] = (
    Comparison(
        "name",
        (
            "different",
            "same family name, other given names; or other numbers",
            "token-sort >= 80 or same family name",
            "words contained (token-set >= 92)",
            "token-sort >= 92",
            "identical, conflicting legal forms",
            "identical",
        ),
        compare_name,
        _name_value,
    ),
    Comparison(
        "given_name",
        (
            "different",
            "initial, prefix or one word of the other",
            "Jaro-Winkler >= 0.88",
            "given name is the other's family name",
            "a typo apart",
            "given and family name swapped",
            "identical",
        ),
        compare_given_name,
        lambda f: f.given,
    ),
    Comparison(
        "family_name",
        (
            "different",
            "prefix or one word of the other",
            "Jaro-Winkler >= 0.88",
            "a typo apart",
            "identical",
        ),
        compare_family_name,
        lambda f: f.family,
    ),
    Comparison(
        "tax_id", ("different", "within two edits", "identical"), compare_tax_id, lambda f: f.tax_id
    ),
    Comparison(
        "contact",
        (
            "different company domains",
            "different free-mail addresses",
            "shared domain",
            "same email",
        ),
        compare_contact,
        _contact_value,
    ),
    Comparison(
        "phone", ("different", "same last 8 digits", "identical"), compare_phone, lambda f: f.phone
    ),
    Comparison(
        "address",
        (
            "different",
            "same city",
            "same postal code",
            "similar street and same number, or a number missing",
            "same street name and number",
        ),
        compare_address,
        _address_value,
    ),
    Comparison("country", ("different", "identical"), compare_country, lambda f: f.country),
)


def comparison_vector(a: MatchFeatures, b: MatchFeatures) -> tuple[int, ...]:
    """The level of every comparison in :data:`COMPARISONS` order (-1 = null).

    Args:
        a: Features of the first record.
        b: Features of the second record.

    Returns:
        One level per comparison.

    Example:
        >>> from custmaster.matching.record import MatchRecord, prepare
        >>> comparison_vector(prepare(MatchRecord("1", name="Acme GmbH", country="DE")),
        ...                   prepare(MatchRecord("2", name="Acme", country="DE")))
        (6, -1, -1, -1, -1, -1, -1, 1)
    """
    return tuple(c.compare(a, b) for c in COMPARISONS)
