"""Factories: plain functions that build request bodies and seed reference data."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from custmaster.services.bearer_tokens import TokenVerifier

REFERENCE: dict[str, list[dict[str, Any]]] = {
    "legal-entities": [
        {"code": "US01", "name": "Acme US Inc.", "country": "US", "currency": "USD"},
        {"code": "DE01", "name": "Acme Deutschland GmbH", "country": "DE", "currency": "EUR"},
        {"code": "GB01", "name": "Acme UK Ltd", "country": "GB", "currency": "GBP"},
    ],
    "payment-terms": [
        {"code": "NET30", "name": "Net 30 days", "net_days": 30},
        {"code": "NET45", "name": "Net 45 days", "net_days": 45},
        {"code": "NET60", "name": "Net 60 days", "net_days": 60},
    ],
    "payment-methods": [{"code": "ACH", "name": "ACH transfer"}, {"code": "SEPA", "name": "SEPA"}],
    "customer-groups": [
        {"code": "KEYACCT", "name": "Key accounts"},
        {"code": "RETAIL", "name": "Retail"},
    ],
    "tax-codes": [
        {"code": "EXEMPT-RESALE", "name": "Resale exemption"},
        {"code": "STANDARD", "name": "Standard rate"},
    ],
    "industries": [{"code": "423830", "name": "Industrial machinery wholesalers"}],
    "dimension-types": [
        {
            "code": "department",
            "name": "Department",
            "values": [{"code": "SALES", "name": "Sales"}, {"code": "SERVICE", "name": "Service"}],
        },
        {
            "code": "location",
            "name": "Location",
            "values": [{"code": "EAST", "name": "East"}, {"code": "WEST", "name": "West"}],
        },
    ],
}

ACME: dict[str, Any] = {
    "kind": "organization",
    "name": "Acme Corporation",
    "email": "ap@acme.example",
    "phone": "+1 415 555 0100",
    "website": "https://acme.example",
    "tax_id": "94-1234567",
    "customer_type": "enterprise",
    "owning_entity": "US01",
    "credit_limit": "50000",
    "payment_terms": "NET30",
    "currency": "USD",
    "dimensions": {"department": "SALES"},
    "metadata": {"crm_segment": "A"},
    "addresses": [
        {
            "type": "billing",
            "lines": ["100 Market St", "Suite 300"],
            "city": "San Francisco",
            "region": "US-CA",
            "postal_code": "94105",
            "country": "US",
            "is_primary": True,
        }
    ],
    "contacts": [
        {
            "first_name": "Dana",
            "last_name": "Lee",
            "email": "dana.lee@acme.example",
            "role": "buyer",
            "is_primary": True,
        }
    ],
    "pricing_tiers": [
        {
            "item": "WIDGET-1",
            "unit_price": "9.50",
            "currency": "USD",
            "min_quantity": 100,
            "max_quantity": 999,
            "effective_from": "2026-01-01",
            "effective_to": "2026-12-31",
        }
    ],
    "tax_profiles": [
        {
            "tax_code": "EXEMPT-RESALE",
            "certificate_number": "CA-RS-1234",
            "effective_from": "2026-01-01",
            "effective_to": "2027-12-31",
        }
    ],
    "overrides": {
        "US01": {"credit_limit": "100000"},
        "DE01": {"credit_limit": "80000", "currency": "EUR", "payment_terms": "NET45"},
    },
}


def seed_reference(client: TestClient) -> None:
    for path, records in REFERENCE.items():
        for record in records:
            response = client.post(f"/api/v1/{path}", json=record)
            assert response.status_code == 201, response.text


def acme(**changes: Any) -> dict[str, Any]:
    """The DESIGN.md example customer, with ``changes`` applied (None removes a key)."""
    body = copy.deepcopy(ACME)
    for key, value in changes.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body


def minimal(
    name: str = "Globex Ltd",
    email: str = "ap@globex.example",
    owning_entity: str | None = "US01",
    **extra: Any,
) -> dict[str, Any]:
    """The fewest fields a create needs (``owning_entity=None`` leaves it out)."""
    body = {"kind": "organization", "name": name, "email": email, **extra}
    if owning_entity is not None:
        body["owning_entity"] = owning_entity
    return body


def create(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/v1/customers", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def errors_of(response: Any) -> dict[str, str]:
    """field -> code of a 422 problem detail."""
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return {e["field"]: e["code"] for e in response.json()["errors"]}


def outbox_events(container: Any) -> list[dict[str, Any]]:
    """Every event in the outbox, in write order, read from the table itself.

    The API's change feed (/events) serves only transactions older than every running one
    on the PostgreSQL server, so it may hold back while another test process has a
    transaction open; tests about *what* was evented read the outbox directly.
    """
    from custmaster.persistence.tables import outbox

    with container.engine.connect() as connection:
        rows = connection.execute(outbox.select().order_by(outbox.c.id))
        return [dict(row.envelope) for row in rows]


def identity_provider(tmp_path: Path) -> tuple[rsa.RSAPrivateKey, TokenVerifier]:
    """An OIDC provider's signing key and a verifier of its RS256 tokens (audience
    ``custmaster``, issuer ``https://idp.example``, roles from ``groups`` with
    ``mdm-readers`` mapped to viewer, entities from ``entities``)."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (tmp_path / "idp.pem").write_bytes(pem)
    verifier = TokenVerifier.from_files(
        public_key_file=tmp_path / "idp.pem",
        jwks_file=None,
        algorithms=["RS256"],
        audience="custmaster",
        issuer="https://idp.example",
        roles_claim="groups",
        entities_claim="entities",
        role_map={"mdm-readers": "viewer"},
    )
    return private, verifier
