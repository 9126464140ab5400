"""Steps the customer use cases share."""

from __future__ import annotations

from typing import NoReturn
from uuid import UUID

from custmaster.domain.context import ParseContext, RefKind
from custmaster.domain.errors import ChangeWarning, NotFound, StaleVersion
from custmaster.domain.model import Customer
from custmaster.domain.rules import credit_limit_warnings
from custmaster.services.dedup.redirects import raise_if_merged
from custmaster.services.dedup.warnings import possible_duplicates
from custmaster.services.ports import UnitOfWork
from custmaster.services.settings import ServiceSettings

_REF_LABELS = {
    RefKind.LEGAL_ENTITY: "legal entity",
    RefKind.PAYMENT_TERMS: "payment terms",
    RefKind.PAYMENT_METHOD: "payment method",
    RefKind.CUSTOMER_GROUP: "customer group",
    RefKind.TAX_CODE: "tax code",
    RefKind.INDUSTRY: "industry",
    RefKind.DIMENSION_VALUE: "dimension value",
    RefKind.ACCOUNT_TIER: "account tier",
    RefKind.REVENUE_ACCOUNT: "revenue account",
    RefKind.NAME_AFFIX: "name affix",
}


def check_references(uow: UnitOfWork, ctx: ParseContext) -> None:
    """Every reference-data code the request named must exist."""
    if not ctx.refs:
        return
    for missing in uow.reference.missing(ctx.refs):
        label = _REF_LABELS[missing.kind]
        ctx.errors.add(missing.path, "unknown_reference", f"no {label} '{missing.code}' exists")


def load(uow: UnitOfWork, customer_id: UUID, *, for_update: bool = False) -> Customer:
    customer = uow.customers.get(customer_id, for_update=for_update)
    if customer is None:
        not_found(uow, customer_id)
    return customer


def not_found(uow: UnitOfWork, customer_id: UUID) -> NoReturn:
    """No customer ``customer_id``: 410 naming the survivor when a merge absorbed it,
    else 404."""
    raise_if_merged(uow, customer_id)  # absorbed ids point at their survivor (410)
    raise NotFound(f"no customer {customer_id}")


def check_version(customer: Customer, expected: int | None) -> None:
    if expected is not None and expected != customer.version:
        raise StaleVersion(expected, customer.version)


def load_current(uow: UnitOfWork, customer_id: UUID, expected_version: int | None) -> Customer:
    """The opening of every change to a stored customer: loaded for update in this unit
    of work (404, or 410 when merged away) at the version the caller expects (412)."""
    current = load(uow, customer_id, for_update=True)
    check_version(current, expected_version)
    return current


def change_warnings(
    uow: UnitOfWork,
    customer: Customer,
    settings: ServiceSettings,
    *,
    name_changed: bool,
) -> list[ChangeWarning]:
    warnings = credit_limit_warnings(customer, settings.credit_limit_warning)
    if name_changed:
        matched = possible_duplicates(uow, customer)
        warnings.extend(matched.values())
        for similar in uow.customers.similar_names(customer.name, exclude=customer.id):
            if similar.id in matched:
                continue
            warnings.append(
                ChangeWarning(
                    "name",
                    "similar_customer",
                    f"{similar.number} '{similar.name}' has a very similar name",
                )
            )
    return warnings
