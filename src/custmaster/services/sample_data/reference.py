"""Reference data the sample customers point to (DESIGN.md §3, §4).

Every code that :func:`custmaster.services.sample_data.generate_customers` emits is
defined here, in the exact shapes of the reference-data create requests of DESIGN.md §4.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]


@dataclass(frozen=True)
class ReferenceData:
    """All reference data of the sample data set, as create-request bodies.

    Attributes:
        legal_entities: ``{code, name, country, currency}`` (POST /legal-entities).
        payment_terms: ``{code, name, net_days}`` (POST /payment-terms).
        payment_methods: ``{code, name}`` (POST /payment-methods).
        customer_groups: ``{code, name}`` (POST /customer-groups).
        tax_codes: ``{code, name}`` (POST /tax-codes).
        dimension_types: ``{code, name, values: [{code, name}]}`` (POST /dimension-types).
        industries: ``{code, name}``, NAICS 2022 codes.
        account_tiers: ``{code, name}`` (POST /account-tiers).
    """

    legal_entities: list[JsonDict] = field(default_factory=list)
    payment_terms: list[JsonDict] = field(default_factory=list)
    payment_methods: list[JsonDict] = field(default_factory=list)
    customer_groups: list[JsonDict] = field(default_factory=list)
    tax_codes: list[JsonDict] = field(default_factory=list)
    dimension_types: list[JsonDict] = field(default_factory=list)
    industries: list[JsonDict] = field(default_factory=list)
    account_tiers: list[JsonDict] = field(default_factory=list)

    def codes(self, kind: str) -> frozenset[str]:
        """The codes of one kind of reference data, e.g. ``codes("payment_terms")``."""
        items: list[JsonDict] = getattr(self, kind)
        return frozenset(str(item["code"]) for item in items)

    def dimension_values(self, dimension_type: str) -> frozenset[str]:
        """The value codes of one dimension type, e.g. ``dimension_values("location")``."""
        for dim in self.dimension_types:
            if dim["code"] == dimension_type:
                return frozenset(str(v["code"]) for v in dim["values"])
        return frozenset()


LEGAL_ENTITIES: tuple[tuple[str, str, str, str], ...] = (
    ("US01", "Acme US Inc.", "US", "USD"),
    ("DE01", "Acme Deutschland GmbH", "DE", "EUR"),
    ("GB01", "Acme UK Ltd", "GB", "GBP"),
)
ENTITY_CURRENCY: dict[str, str] = {code: cur for code, _, _, cur in LEGAL_ENTITIES}

PAYMENT_TERMS: tuple[tuple[str, str, int], ...] = (
    ("DUE_ON_RECEIPT", "Due on receipt", 0),
    ("NET15", "Net 15 days", 15),
    ("NET30", "Net 30 days", 30),
    ("NET45", "Net 45 days", 45),
    ("NET60", "Net 60 days", 60),
)

PAYMENT_METHODS: tuple[tuple[str, str], ...] = (
    ("ACH", "ACH transfer"),
    ("WIRE", "Wire transfer"),
    ("SEPA", "SEPA credit transfer"),
    ("BACS", "Bacs Direct Credit"),
    ("CHECK", "Check"),
    ("CARD", "Credit card"),
)

CUSTOMER_GROUPS: tuple[tuple[str, str], ...] = (
    ("RETAIL", "Retail customers"),
    ("WHOLESALE", "Wholesale customers"),
    ("DISTRIB", "Distributors"),
    ("KEYACCT", "Key accounts"),
    ("PUBLIC", "Public sector and non-profit"),
)

TAX_CODES: tuple[tuple[str, str], ...] = (
    ("STANDARD", "Standard rate"),
    ("REVERSE-CHARGE", "EU reverse charge"),
    ("EXEMPT-RESALE", "Resale exemption"),
    ("EXEMPT-GOV", "Government exemption"),
    ("EXEMPT-NONPROFIT", "Non-profit exemption"),
)

DIMENSION_TYPES: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    (
        "department",
        "Department",
        (
            ("SALES", "Sales"),
            ("SERVICE", "Service"),
            ("MARKETING", "Marketing"),
            ("FINANCE", "Finance"),
        ),
    ),
    (
        "location",
        "Location",
        (
            ("EAST", "US East"),
            ("WEST", "US West"),
            ("CENTRAL", "US Central"),
            ("EMEA", "Europe, Middle East and Africa"),
            ("UK", "United Kingdom"),
        ),
    ),
)

# NAICS 2022 codes and titles.
INDUSTRIES: tuple[tuple[str, str], ...] = (
    ("111998", "All Other Miscellaneous Crop Farming"),
    ("221118", "Other Electric Power Generation"),
    ("236220", "Commercial and Institutional Building Construction"),
    ("238220", "Plumbing, Heating, and Air-Conditioning Contractors"),
    ("311811", "Retail Bakeries"),
    ("312120", "Breweries"),
    ("325412", "Pharmaceutical Preparation Manufacturing"),
    ("332710", "Machine Shops"),
    ("333249", "Other Industrial Machinery Manufacturing"),
    ("334111", "Electronic Computer Manufacturing"),
    ("336390", "Other Motor Vehicle Parts Manufacturing"),
    ("337214", "Office Furniture (except Wood) Manufacturing"),
    ("423430", "Computer and Computer Peripheral Equipment and Software Merchant Wholesalers"),
    ("423830", "Industrial Machinery and Equipment Merchant Wholesalers"),
    ("424410", "General Line Grocery Merchant Wholesalers"),
    ("424690", "Other Chemical and Allied Products Merchant Wholesalers"),
    ("441110", "New Car Dealers"),
    ("444110", "Home Centers"),
    ("445110", "Supermarkets and Other Grocery Retailers (except Convenience Retailers)"),
    ("449110", "Furniture Retailers"),
    ("455110", "Department Stores"),
    ("484121", "General Freight Trucking, Long-Distance, Truckload"),
    ("488510", "Freight Transportation Arrangement"),
    ("493110", "General Warehousing and Storage"),
    ("513210", "Software Publishers"),
    ("518210", "Computing Infrastructure Providers, Data Processing, Web Hosting"),
    ("522110", "Commercial Banking"),
    ("524126", "Direct Property and Casualty Insurance Carriers"),
    ("531120", "Lessors of Nonresidential Buildings (except Miniwarehouses)"),
    ("541110", "Offices of Lawyers"),
    ("541211", "Offices of Certified Public Accountants"),
    ("541330", "Engineering Services"),
    ("541511", "Custom Computer Programming Services"),
    ("541613", "Marketing Consulting Services"),
    ("541810", "Advertising Agencies"),
    ("561320", "Temporary Help Services"),
    ("611310", "Colleges, Universities, and Professional Schools"),
    ("621111", "Offices of Physicians (except Mental Health Specialists)"),
    ("622110", "General Medical and Surgical Hospitals"),
    ("721110", "Hotels (except Casino Hotels) and Motels"),
    ("722511", "Full-Service Restaurants"),
    ("813211", "Grantmaking Foundations"),
    ("813319", "Other Social Advocacy Organizations"),
    ("921110", "Executive Offices"),
    ("922160", "Fire Protection"),
    ("924110", "Administration of Air and Water Resource and Solid Waste Management Programs"),
)


#: the account tiers the generator assigns (``generator._TIERS``)
ACCOUNT_TIERS: tuple[tuple[str, str], ...] = (
    ("platinum", "Platinum"),
    ("gold", "Gold"),
    ("silver", "Silver"),
    ("bronze", "Bronze"),
)


def reference_data() -> ReferenceData:
    """Return a fresh copy of the sample reference data (safe to mutate)."""
    return ReferenceData(
        legal_entities=[
            {"code": c, "name": n, "country": cc, "currency": cur}
            for c, n, cc, cur in LEGAL_ENTITIES
        ],
        payment_terms=[{"code": c, "name": n, "net_days": d} for c, n, d in PAYMENT_TERMS],
        payment_methods=[{"code": c, "name": n} for c, n in PAYMENT_METHODS],
        customer_groups=[{"code": c, "name": n} for c, n in CUSTOMER_GROUPS],
        tax_codes=[{"code": c, "name": n} for c, n in TAX_CODES],
        dimension_types=[
            {"code": c, "name": n, "values": [{"code": vc, "name": vn} for vc, vn in values]}
            for c, n, values in DIMENSION_TYPES
        ],
        industries=[{"code": c, "name": n} for c, n in INDUSTRIES],
        account_tiers=[{"code": c, "name": n} for c, n in ACCOUNT_TIERS],
    )
