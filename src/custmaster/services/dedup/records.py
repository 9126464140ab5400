"""From a customer aggregate to what the match index stores, and back to features."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from custmaster.domain.model import AddressType, Customer, CustomerStatus
from custmaster.matching.keys import match_keys
from custmaster.matching.record import MatchFeatures, MatchRecord, prepare
from custmaster.services.dedup.ports import IndexEntry

#: Longest key value the match_keys table stores (longer values are cut).
MAX_KEY_LENGTH = 320


def match_record(customer: Customer, *, phone_e164: bool = False) -> MatchRecord:
    """The matcher's view of a customer: identity fields and the primary billing
    address (else any billing, any primary, the first). ``phone_e164``: the customer's
    phone was given in its E.164 form (see :attr:`MatchRecord.phone_e164`)."""
    address = min(
        customer.addresses,
        key=lambda a: (a.type is not AddressType.BILLING, not a.is_primary),
        default=None,
    )
    return MatchRecord(
        id=str(customer.id),
        kind=customer.kind.value,
        name=customer.legal_name or customer.name,
        first_name=customer.first_name,
        last_name=customer.last_name,
        email=customer.email,
        phone=customer.phone,
        website=customer.website,
        tax_id=customer.tax_id,
        street="\n".join(address.lines) if address and address.lines else None,
        postal_code=address.postal_code if address else None,
        city=address.city if address else None,
        country=address.country if address else None,
        phone_e164=phone_e164,
    )


def features_to_json(f: MatchFeatures) -> dict[str, Any]:
    return {
        "id": f.id,
        "kind": f.kind,
        "name": f.name,
        "name_tokens": list(f.name_tokens),
        "legal_form": f.legal_form,
        "email": f.email,
        "domains": sorted(f.domains),
        "phone": f.phone,
        "tax_id": f.tax_id,
        "street": f.street,
        "house_number": f.house_number,
        "postal_code": f.postal_code,
        "city": f.city,
        "country": f.country,
        "given": f.given,
        "family": f.family,
    }


def features_from_json(data: Mapping[str, Any]) -> MatchFeatures:
    return MatchFeatures(
        id=data["id"],
        kind=data["kind"],
        name=data["name"],
        name_tokens=tuple(data["name_tokens"]),
        legal_form=data["legal_form"],
        email=data["email"],
        domains=frozenset(data["domains"]),
        phone=data["phone"],
        tax_id=data["tax_id"],
        street=data["street"],
        house_number=data["house_number"],
        postal_code=data["postal_code"],
        city=data["city"],
        country=data["country"],
        # features stored before persons' name parts were kept: compared by full name
        given=data.get("given"),
        family=data.get("family"),
    )


def index_keys(features: MatchFeatures) -> list[tuple[str, str]]:
    """The blocking keys as stored (values cut to the column width, deduplicated)."""
    return list(dict.fromkeys((t, v[:MAX_KEY_LENGTH]) for t, v in match_keys(features)))


def index_entry(customer: Customer, *, phone_e164: bool = False) -> IndexEntry | None:
    """What the index stores for a customer; ``None`` when it is not a match target
    (inactive customers are not). ``phone_e164``: as for :func:`match_record`."""
    if customer.status is not CustomerStatus.ACTIVE:
        return None
    features = prepare(match_record(customer, phone_e164=phone_e164))
    return IndexEntry(
        customer_id=customer.id,
        number=customer.number,
        name=customer.name[:255],
        features=features_to_json(features),
        keys=index_keys(features),
    )
