"""Personal data: what erasing a person's data by anonymisation changes.

Financial history stays (the customer, its number, credit terms, pricing, tax profiles
and the audit trail); the fields that identify a natural person are replaced. The
result is an ordinary patch, so it is validated, approved and audited like any change.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from custmaster.domain.errors import FieldError, NotFound, ValidationFailed
from custmaster.domain.model import Customer, CustomerKind

ERASED = "(erased)"


def anonymised_email(customer: Customer, suffix: str = "") -> str:
    return f"erased-{customer.number.lower()}{suffix}@anonymised.example"


def _contact_patch(customer: Customer, contact_id: UUID) -> dict[str, Any]:
    return {
        "action": "update",
        "id": str(contact_id),
        "first_name": None,
        "last_name": ERASED,
        "job_title": None,
        "email": anonymised_email(customer, f"-{str(contact_id)[:8]}"),
        "phone": None,
    }


def customer_erasure_patch(customer: Customer) -> dict[str, Any]:
    """Anonymise a person customer: names, emails, phone, website, notes, street lines
    and postal codes of its addresses, and its contacts."""
    if customer.kind is not CustomerKind.PERSON:
        raise ValidationFailed(
            [
                FieldError(
                    "kind",
                    "not_a_person",
                    "only a person customer's own data is erased; "
                    "erase an organisation's contacts one by one",
                )
            ]
        )
    return {
        "name": f"Anonymised {customer.number}",
        "legal_name": None,
        "first_name": None,
        "last_name": None,
        "name_affix": None,
        "email": anonymised_email(customer),
        "billing_email": None,
        "phone": None,
        "website": None,
        "tax_id": None,
        "notes": None,
        "addresses": [
            {"action": "update", "id": str(a.id), "lines": [ERASED], "postal_code": None}
            for a in customer.addresses
        ],
        "contacts": [_contact_patch(customer, c.id) for c in customer.contacts],
    }


def contact_erasure_patch(customer: Customer, contact_id: UUID) -> dict[str, Any]:
    """Anonymise one contact of a customer."""
    if not any(c.id == contact_id for c in customer.contacts):
        raise NotFound(f"customer {customer.number} has no contact {contact_id}")
    return {"contacts": [_contact_patch(customer, contact_id)]}
