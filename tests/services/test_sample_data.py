"""Tests of the seeded sample-data generator (custmaster.services.sample_data)."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date
from decimal import Decimal
from typing import Any

import phonenumbers
import pycountry
import pytest
from email_validator import validate_email
from stdnum.ca import bn as ca_bn
from stdnum.eu import vat as eu_vat
from stdnum.gb import vat as gb_vat
from stdnum.us import ein as us_ein
from stdnum.util import get_cc_module

from custmaster.services.sample_data import (
    CUSTOMER_FIELDS,
    generate_customers,
    reference_data,
)
from custmaster.services.sample_data.generator import _N_ORG_NAMES, CustomerGenerator
from custmaster.services.sample_data.identifiers import (
    ES_CIF_LETTER,
    TaxIdFactory,
    _build_tax_id,
)
from custmaster.services.sample_data.lexicon import (
    COUNTRIES,
    DISTINGUISHERS,
    NAMES_BY_LANGUAGE,
    POSTAL_CODE_RE,
    STEMS,
    WORDS,
    slug,
)

Customer = dict[str, Any]
REF = reference_data()
ENTITY_CURRENCY = {e["code"]: e["currency"] for e in REF.legal_entities}
OVERRIDE_FIELDS = {
    "credit_limit",
    "payment_terms",
    "payment_method",
    "currency",
    "tax_code",
    "revenue_account",
    "customer_group",
    "dimensions",
    "addresses",
}
EU_VAT_COUNTRIES = {"DE", "FR", "NL", "AT", "IT", "ES"}


@pytest.fixture(scope="module")
def demo() -> list[Customer]:
    return list(generate_customers(2_000, seed=42, profile="demo"))


@pytest.fixture(scope="module")
def lean() -> list[Customer]:
    return list(generate_customers(2_000, seed=7, profile="lean"))


@pytest.fixture(scope="module", params=["demo", "lean"])
def customers(
    request: pytest.FixtureRequest, demo: list[Customer], lean: list[Customer]
) -> list[Customer]:
    return demo if request.param == "demo" else lean


# ------------------------------------------------------------------ determinism and shape


def test_same_seed_same_output_and_prefix_stable() -> None:
    a = list(generate_customers(200, seed=5))
    assert a == list(generate_customers(200, seed=5))
    assert a[:50] == list(generate_customers(50, seed=5))
    assert a != list(generate_customers(200, seed=6))
    assert list(generate_customers(50, seed=5, profile="lean")) == list(
        generate_customers(50, seed=5, profile="lean")
    )


def test_rejects_unknown_profile_and_negative_n() -> None:
    with pytest.raises(ValueError):
        generate_customers(1, profile="rich")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        generate_customers(-1)


def test_shape_is_the_create_request(customers: list[Customer]) -> None:
    for c in customers:
        assert tuple(c) == CUSTOMER_FIELDS
        for address in c["addresses"]:
            assert set(address) == {
                "type",
                "lines",
                "city",
                "region",
                "postal_code",
                "country",
                "is_primary",
            }
        for contact in c["contacts"]:
            assert set(contact) == {
                "first_name",
                "last_name",
                "email",
                "phone",
                "job_title",
                "role",
                "is_primary",
            }
        for tier in c["pricing_tiers"]:
            assert set(tier) == {
                "item",
                "unit_price",
                "currency",
                "min_quantity",
                "max_quantity",
                "effective_from",
                "effective_to",
            }
        for profile in c["tax_profiles"]:
            assert set(profile) == {
                "tax_code",
                "certificate_number",
                "effective_from",
                "effective_to",
            }
    assert json.loads(json.dumps(customers)) == customers  # JSON-compatible as is


def test_lean_has_master_fields_and_one_billing_address(lean: list[Customer]) -> None:
    for c in lean:
        assert [a["type"] for a in c["addresses"]] == ["billing"]
        assert c["contacts"] == c["pricing_tiers"] == c["tax_profiles"] == []
        assert c["overrides"] == {}


def test_reference_data_shapes() -> None:
    assert {e["code"]: (e["country"], e["currency"]) for e in REF.legal_entities} == {
        "US01": ("US", "USD"),
        "DE01": ("DE", "EUR"),
        "GB01": ("GB", "GBP"),
    }
    assert all(set(e) == {"code", "name", "country", "currency"} for e in REF.legal_entities)
    assert all(set(t) == {"code", "name", "net_days"} for t in REF.payment_terms)
    assert {"NET30", "NET45", "NET60"} <= REF.codes("payment_terms")
    assert {"ACH", "WIRE", "SEPA", "CHECK", "CARD"} <= REF.codes("payment_methods")
    for kind in ("payment_methods", "customer_groups", "tax_codes", "industries"):
        assert all(set(item) == {"code", "name"} for item in getattr(REF, kind)), kind
    assert {d["code"] for d in REF.dimension_types} == {"department", "location"}
    for d in REF.dimension_types:
        assert set(d) == {"code", "name", "values"}
        assert all(set(v) == {"code", "name"} for v in d["values"])
    assert all(re.fullmatch(r"\d{6}", i["code"]) for i in REF.industries)
    for e in REF.legal_entities:
        assert pycountry.currencies.get(alpha_3=e["currency"]) is not None


# ------------------------------------------------------------------ validity


def _assert_email(value: str) -> None:
    validate_email(value, check_deliverability=False)


def test_emails_pass_email_validator(customers: list[Customer]) -> None:
    for c in customers:
        _assert_email(c["email"])
        if c["billing_email"] is not None:
            _assert_email(c["billing_email"])
        for contact in c["contacts"]:
            _assert_email(contact["email"])
        if c["website"] is not None:
            assert c["website"] == "https://www." + c["email"].split("@")[1]


def _assert_phone(value: str, country: str) -> None:
    number = phonenumbers.parse(value)
    assert phonenumbers.is_valid_number(number), value
    assert phonenumbers.region_code_for_number(number) == country, value
    assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == value


def test_phones_are_valid_e164_for_the_country(customers: list[Customer]) -> None:
    for c in customers:
        country = c["addresses"][0]["country"]
        _assert_phone(c["phone"], country)
        for contact in c["contacts"]:
            _assert_phone(contact["phone"], country)


def _assert_tax_id(tax_id: str, country: str) -> None:
    if country == "US":
        assert re.fullmatch(r"\d{2}-\d{7}", tax_id) and us_ein.is_valid(tax_id), tax_id
    elif country == "GB":
        assert tax_id.startswith("GB") and gb_vat.is_valid(tax_id), tax_id
        assert gb_vat.compact(tax_id) == tax_id[2:]
    elif country == "CA":
        assert re.fullmatch(r"\d{9}", tax_id) and ca_bn.is_valid(tax_id), tax_id
    else:
        assert country in EU_VAT_COUNTRIES
        assert tax_id.startswith(country) and eu_vat.is_valid(tax_id), tax_id
        assert eu_vat.compact(tax_id) == tax_id  # already compact
    if country != "US":
        module = get_cc_module(country.lower(), "vat")
        assert module is not None and module.is_valid(tax_id), tax_id


def test_tax_ids_are_valid_for_the_country(customers: list[Customer]) -> None:
    seen: Counter[str] = Counter()
    for c in customers:
        if c["kind"] == "person":
            assert c["tax_id"] is None
            continue
        country = c["addresses"][0]["country"]
        _assert_tax_id(c["tax_id"], country)
        seen[country] += 1
    assert set(seen) == {spec.code for spec in COUNTRIES}


@pytest.mark.parametrize("spec", COUNTRIES, ids=lambda s: s.code)
def test_tax_id_factory_is_unique_and_valid_beyond_demo_sizes(spec: Any) -> None:
    import random

    factory = TaxIdFactory(random.Random(1))
    ids = [factory.next(spec.code) for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    for tax_id in ids[::20]:
        _assert_tax_id(tax_id, spec.code)
    assert factory.capacity(spec.code) >= 9_000_000


def test_tax_id_special_forms() -> None:
    for letter in set(ES_CIF_LETTER.values()):
        for p in (0, 1234567, 9_999_999):
            _assert_tax_id(_build_tax_id("ES", p, letter), "ES")
    nl = [_build_tax_id("NL", p, "") for p in range(300)]
    assert any(t.endswith("B01") for t in nl) and any(not t.endswith("B01") for t in nl)
    for tax_id in nl:
        _assert_tax_id(tax_id, "NL")


def test_addresses_use_iso_codes_and_postal_formats(customers: list[Customer]) -> None:
    for c in customers:
        assert [a["is_primary"] for a in c["addresses"]].count(True) == 1
        assert c["addresses"][0]["type"] == "billing"
        for a in c["addresses"]:
            country = a["country"]
            assert pycountry.countries.get(alpha_2=country) is not None
            subdivision = pycountry.subdivisions.get(code=a["region"])  # type: ignore[no-untyped-call]
            assert subdivision is not None and subdivision.country_code == country, a
            assert re.fullmatch(POSTAL_CODE_RE[country], a["postal_code"]), a
            assert a["lines"] and all(a["lines"]) and a["city"]


def test_codes_exist_in_reference_data(customers: list[Customer]) -> None:
    dims = {d["code"]: REF.dimension_values(d["code"]) for d in REF.dimension_types}
    for c in customers:
        assert c["owning_entity"] in REF.codes("legal_entities")
        assert c["currency"] == ENTITY_CURRENCY[c["owning_entity"]]
        assert pycountry.currencies.get(alpha_3=c["currency"]) is not None
        assert c["payment_terms"] in REF.codes("payment_terms")
        assert c["payment_method"] in REF.codes("payment_methods")
        assert c["customer_group"] in REF.codes("customer_groups")
        assert c["tax_code"] in REF.codes("tax_codes")
        assert c["industry"] is None or c["industry"] in REF.codes("industries")
        assert c["customer_type"] in {
            "retail",
            "wholesale",
            "distributor",
            "enterprise",
            "government",
            "nonprofit",
            "other",
        }
        assert c["relationship_status"] in {"prospect", "active", "at_risk", "churned"}
        for key, value in c["dimensions"].items():
            assert value in dims[key]
        for p in c["tax_profiles"]:
            assert p["tax_code"] in REF.codes("tax_codes") and p["tax_code"].startswith("EXEMPT")
        for entity, override in c["overrides"].items():
            assert entity in REF.codes("legal_entities") and entity != c["owning_entity"]
            assert set(override) <= OVERRIDE_FIELDS
            assert override["currency"] == ENTITY_CURRENCY[entity]
            assert Decimal(override["credit_limit"]) > 0
            assert override.get("payment_terms", "NET30") in REF.codes("payment_terms")
            assert override.get("payment_method", "ACH") in REF.codes("payment_methods")
            assert override.get("customer_group", "RETAIL") in REF.codes("customer_groups")
            for key, value in override.get("dimensions", {}).items():
                assert value in dims[key]


def test_kinds_and_names(customers: list[Customer]) -> None:
    for c in customers:
        assert 1 <= len(c["name"]) <= 255
        if c["kind"] == "person":
            assert c["name"] == f"{c['first_name']} {c['last_name']}"
            assert c["legal_name"] is None
        else:
            assert c["kind"] == "organization"
            assert c["first_name"] is None and c["last_name"] is None
            assert c["legal_name"].startswith(c["name"])


def test_credit_limits(customers: list[Customer]) -> None:
    limits = [Decimal(c["credit_limit"]) for c in customers]
    assert all(limit >= 0 for limit in limits)
    assert sum(5_000 <= v <= 500_000 for v in limits) / len(limits) > 0.95
    assert any(v > 1_000_000 for v in limits)


def test_pricing_tiers_never_overlap_and_profiles_are_ordered(demo: list[Customer]) -> None:
    n_tiers = 0
    for c in demo:
        tiers = c["pricing_tiers"]
        n_tiers += len(tiers)
        for i, t in enumerate(tiers):
            assert t["currency"] == c["currency"] and Decimal(t["unit_price"]) > 0
            assert 0 < t["min_quantity"] <= t["max_quantity"]
            start, end = (
                date.fromisoformat(t["effective_from"]),
                date.fromisoformat(t["effective_to"]),
            )
            assert start <= end
            for u in tiers[i + 1 :]:
                if u["item"] != t["item"]:
                    continue
                qty_overlap = (
                    t["min_quantity"] <= u["max_quantity"]
                    and u["min_quantity"] <= t["max_quantity"]
                )
                period_overlap = (
                    t["effective_from"] <= u["effective_to"]
                    and u["effective_from"] <= t["effective_to"]
                )
                assert not (qty_overlap and period_overlap), (t, u)
        for p in c["tax_profiles"]:
            assert p["effective_from"] <= p["effective_to"] and p["certificate_number"]
    assert n_tiers > 1_000


# ------------------------------------------------------------------ mix and uniqueness


def test_mix_proportions(demo: list[Customer]) -> None:
    n = len(demo)
    kinds = Counter(c["kind"] for c in demo)
    assert 0.16 <= kinds["person"] / n <= 0.24
    countries = Counter(c["addresses"][0]["country"] for c in demo)
    assert 0.35 <= countries["US"] / n <= 0.45
    assert 0.17 <= countries["DE"] / n <= 0.27
    assert 0.14 <= countries["GB"] / n <= 0.22
    assert set(countries) == {"US", "DE", "GB", "FR", "NL", "AT", "IT", "ES", "CA"}
    orgs = [c for c in demo if c["kind"] == "organization"]
    assert 0.24 <= sum(bool(c["overrides"]) for c in orgs) / len(orgs) <= 0.36
    contacts = Counter(len(c["contacts"]) for c in orgs)
    assert set(contacts) == {1, 2, 3}
    assert {len(c["addresses"]) for c in orgs} == {1, 2}
    assert {len(c["pricing_tiers"]) for c in orgs} == {0, 1, 2, 3}
    assert {len(c["tax_profiles"]) for c in orgs} == {0, 1}


def test_uniqueness_within_a_run(customers: list[Customer]) -> None:
    for field in ("name", "email", "phone"):
        values = [c[field] for c in customers]
        assert len(set(values)) == len(values), field
    tax_ids = [c["tax_id"] for c in customers if c["tax_id"] is not None]
    assert len(set(tax_ids)) == len(tax_ids)
    legal = [c["legal_name"] for c in customers if c["legal_name"] is not None]
    assert len(set(legal)) == len(legal)


def test_names_stay_unique_at_benchmark_scale() -> None:
    customers = list(generate_customers(15_000, seed=3, profile="lean"))
    for field in ("name", "email", "tax_id", "phone"):
        values = [c[field] for c in customers if c[field] is not None]
        assert len(set(values)) == len(values), field


def test_org_names_stay_unique_after_all_combinations_are_used() -> None:
    gen = CustomerGenerator(1, "lean")
    gen._orgs_made = _N_ORG_NAMES - 3  # jump to the end of the stem x word space
    germany = next(c for c in gen._countries if c.spec.code == "DE")
    orgs = [gen._organization(germany) for _ in range(6)]
    names = [o["legal_name"] for o in orgs]
    assert len(set(names)) == 6
    assert sum(DISTINGUISHERS[0] in n for n in names) == 3
    assert len({o["email"].split("@")[1] for o in orgs}) == 6


def test_lexicon_invariants_behind_the_uniqueness_guarantee() -> None:
    assert len({slug(s) for s in STEMS}) == len(STEMS)
    assert all(re.fullmatch(r"[A-Za-z]+", s) for s in STEMS)
    word_slugs = [slug(w) for w, _, _ in WORDS]
    assert len(set(word_slugs)) == len(word_slugs)
    dist_slugs = {slug(d) for d in DISTINGUISHERS}
    for word, word_slug in zip((w for w, _, _ in WORDS), word_slugs, strict=True):
        assert word.split()[-1] not in DISTINGUISHERS and not word[-1].isdigit()
        assert word_slug.rsplit("-", 1)[-1] not in dist_slugs
    firsts = [f for fs, _ in NAMES_BY_LANGUAGE.values() for f in fs]
    assert len(set(firsts)) == len(firsts)
    assert not set(firsts) & set(STEMS)
    assert _N_ORG_NAMES >= 200_000
    for language_firsts, lasts in NAMES_BY_LANGUAGE.values():
        assert len(language_firsts) * len(lasts) >= 1_600
    for spec in COUNTRIES:
        assert phonenumbers.country_code_for_region(spec.code) == spec.calling_code
