"""Search, the customer page (master data, per-entity tabs, child records), its structure
(hierarchies, relationships, account team, cross-references), its history, and editing
a field through the same change (or change request) the API makes."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any
from uuid import UUID

from fastapi import Query, Request, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from custmaster.api.problems import field_path
from custmaster.api.schemas.customers import CustomerPatch
from custmaster.bootstrap import Container
from custmaster.domain.errors import DomainError, NotFound, ValidationFailed
from custmaster.domain.model import MASTER_FIELDS as SETTABLE_FIELDS
from custmaster.domain.model import Customer, CustomerStatus, CustomerType
from custmaster.domain.permissions import Permission, Principal
from custmaster.domain.snapshot import jsonable, snapshot
from custmaster.services.customers.read import (
    customer_history,
    get_customer,
    get_effective_view,
    search_customers,
)
from custmaster.services.customers.update import update_customer
from custmaster.services.dedup.online import explain, find_matches
from custmaster.services.dedup.xrefs import resolve_xref
from custmaster.services.governance.access import may_see_entity
from custmaster.services.ports import CustomerQuery
from custmaster.services.structure.overview import customer_structure
from custmaster.web.auth import actor
from custmaster.web.profile import profile_panel
from custmaster.web.rendering import render
from custmaster.web.routing import redirect, router

#: master fields shown on the customer page, in this order: the number, the fields a
#: request may set (``domain.model.MASTER_FIELDS``; name affix and metadata aside), the status
MASTER_FIELDS = (
    "number",
    *(f for f in SETTABLE_FIELDS if f not in {"name_affix", "metadata"}),
    "status",
)
#: the master fields the edit form offers
EDITABLE = (
    "name",
    "legal_name",
    "email",
    "billing_email",
    "phone",
    "website",
    "tax_id",
    "customer_type",
    "industry",
    "customer_group",
    "account_tier",
    "relationship_status",
    "credit_limit",
    "payment_terms",
    "payment_method",
    "currency",
    "tax_code",
    "revenue_account",
    "notes",
)
#: the fields a legal entity may override
OVERRIDABLE = (
    "credit_limit",
    "payment_terms",
    "payment_method",
    "currency",
    "tax_code",
    "revenue_account",
    "customer_group",
)
_PHONE = re.compile(r"^\+?[0-9 ()./-]{6,}$")
Text = Annotated[str | None, Query(max_length=255)]
Code = Annotated[str | None, Query(max_length=64)]


def _container(request: Request) -> Container:
    found: Container = request.app.state.container
    return found


def _fuzzy_candidate(text: str) -> dict[str, Any]:
    """The record the matcher scores the search text as: an e-mail, a phone number or a
    name (the matcher's blocking and comparisons do the rest)."""
    if "@" in text:
        return {"email": text}
    if _PHONE.match(text):
        return {"phone": text}
    return {"name": text}


@router.get("/customers")
def search(
    request: Request,
    q: Text = None,
    status: Annotated[str | None, Query(pattern="^(active|inactive|any)$")] = "active",
    customer_type: CustomerType | None = None,
    entity: Code = None,
    customer_group: Code = None,
    account_tier: Code = None,
    fuzzy: Annotated[bool, Query()] = True,
) -> Response:
    container, me = _container(request), actor(request)
    text = (q or "").strip()
    query = CustomerQuery(
        text=text or None,
        status=None if status == "any" else CustomerStatus(status or "active"),
        customer_type=customer_type.value if customer_type else None,
        entity=entity or None,
        customer_group=customer_group or None,
        account_tier=account_tier or None,
        limit=50,
    )
    found = search_customers(container.uow(), me, query)
    similar: list[dict[str, Any]] = []
    source: dict[str, Any] | None = None
    if text and ":" in text:  # system:source id
        system, _, source_id = text.partition(":")
        try:
            hit = resolve_xref(container.uow(), me, system.strip(), source_id.strip())
            source = {
                "customer_id": hit.customer_id,
                "number": hit.number,
                "system": system.strip(),
                "source_id": source_id.strip(),
            }
        except NotFound:
            source = None
    if text and fuzzy:
        shown = {c.id for c in found}
        matches, _ = find_matches(container.uow(), me, _fuzzy_candidate(text), limit=10)
        similar = [
            {
                "customer_id": m.customer_id,
                "number": m.number,
                "name": m.name,
                "score": m.result.probability,
                "explanation": explain(m.result),
            }
            for m in matches
            if m.customer_id not in shown
        ]
    filters = {
        "q": text,
        "status": status,
        "customer_type": customer_type.value if customer_type else "",
        "entity": entity or "",
        "customer_group": customer_group or "",
        "account_tier": account_tier or "",
        "fuzzy": fuzzy,
    }
    context = {
        "title": "Customers",
        "results": found,
        "similar": similar,
        "source": source,
        "filters": filters,
        "types": [t.value for t in CustomerType],
        "searched": bool(text)
        or any(v for k, v in filters.items() if k not in ("q", "status", "fuzzy")),
    }
    return render(request, "search.html", context)


def _tabs(me: Principal, customer: Customer) -> list[str]:
    """The entity tabs: the owning entity and those with overrides, in the user's scope."""
    entities = set(customer.overrides)
    if customer.owning_entity:
        entities.add(customer.owning_entity)
    return sorted(e for e in entities if may_see_entity(me, e))


def _fields(data: dict[str, Any], overridden: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "label": name.replace("_", " "),
            "value": data.get(name),
            "overridden": name in overridden,
        }
        for name in MASTER_FIELDS
    ]


@router.get("/customers/{customer_id}")
def customer_page(
    request: Request,
    customer_id: UUID,
    entity: Code = None,
    as_of: Annotated[date | None, Query()] = None,
    flash: Annotated[str | None, Query(pattern="^(applied)$")] = None,
) -> Response:
    container, me = _container(request), actor(request)
    customer = get_customer(container.uow(), me, customer_id)
    data, overridden, warnings = snapshot(customer), [], []
    if entity:
        _, view = get_effective_view(container.uow(), me, customer_id, entity, as_of)
        data, overridden = {**data, **view.data}, view.overridden_fields
        warnings = [w.as_dict() for w in view.warnings]
    context = {
        "title": f"{customer.name} ({customer.number})",
        "customer": customer,
        "data": data,
        "fields": _fields(data, overridden),
        "overridden": overridden,
        "entity": entity,
        "tabs": _tabs(me, customer),
        "warnings": warnings,
        "as_of": as_of,
        "flash": flash,
        "profile": profile_panel(container.uow(), me, customer_id, entity, container.profile),
        "may_edit": me.has(Permission.CUSTOMER_UPDATE) or me.has(Permission.CUSTOMER_PROPOSE),
        "may_history": me.has(Permission.AUDIT_READ),
        "entity_address_ids": _override_address_ids(customer, entity),
    }
    return render(request, "customer.html", context)


def _override_address_ids(customer: Customer, entity: str | None) -> set[str]:
    """The ids of the addresses ``entity`` sets itself (they replace the master's)."""
    override = customer.overrides.get(entity) if entity else None
    return {str(a.id) for a in override.addresses} if override is not None else set()


@router.get("/customers/{customer_id}/structure")
def structure_page(
    request: Request, customer_id: UUID, as_of: Annotated[date | None, Query()] = None
) -> Response:
    container, me = _container(request), actor(request)
    found = customer_structure(container.uow(), me, customer_id, as_of=as_of)
    context = {
        "title": f"Structure of {found.customer.name}",
        "customer": found.customer,
        "as_of": as_of,
        "trees": [jsonable(t) for t in found.trees],
        "outgoing": jsonable(found.outgoing),
        "incoming": jsonable(found.incoming),
        "team": jsonable(found.team),
        "xrefs": found.xrefs,
    }
    return render(request, "structure.html", context)


@router.get("/customers/{customer_id}/history")
def history_page(request: Request, customer_id: UUID) -> Response:
    container, me = _container(request), actor(request)
    entries = customer_history(container.uow(), me, customer_id, after_id=None, limit=100)
    customer = None
    try:
        customer = get_customer(container.uow(), me, customer_id)
    except NotFound:
        customer = None  # hard-deleted: the history stays
    context = {
        "title": "History",
        "customer": customer,
        "customer_id": customer_id,
        "entries": sorted(entries, key=lambda e: e.id or 0, reverse=True),
    }
    return render(request, "history.html", context)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _form_values(customer: Customer, entity: str | None) -> dict[str, str]:
    data = snapshot(customer)
    if entity is None:
        return {name: _text(data.get(name)) for name in EDITABLE}
    override = data.get("overrides", {}).get(entity, {})
    return {name: _text(override.get(name)) for name in OVERRIDABLE}


def _edit_page(
    request: Request,
    customer: Customer,
    entity: str | None,
    values: dict[str, str],
    errors: dict[str, list[str]],
    general: list[str],
    status: int = 200,
) -> Response:
    names = OVERRIDABLE if entity else EDITABLE
    context = {
        "title": f"Edit {customer.name}",
        "customer": customer,
        "entity": entity,
        "names": names,
        "values": values,
        "errors": errors,
        "general": general,
        "types": [t.value for t in CustomerType],
    }
    return render(request, "customer_edit.html", context, status)


@router.get("/customers/{customer_id}/edit")
def edit_form(request: Request, customer_id: UUID, entity: Code = None) -> Response:
    container, me = _container(request), actor(request)
    customer = get_customer(container.uow(), me, customer_id)
    return _edit_page(request, customer, entity, _form_values(customer, entity), {}, [])


def _patch(customer: Customer, entity: str | None, submitted: dict[str, str]) -> dict[str, Any]:
    """What changed, as the API's PATCH body: an emptied field is cleared (null)."""
    before = _form_values(customer, entity)
    changed = {
        name: (submitted[name].strip() or None)
        for name in before
        if name in submitted and submitted[name].strip() != before[name]
    }
    if entity is None or not changed:
        return changed
    action = "update" if entity in customer.overrides else "add"
    return {"overrides": [{"action": action, "entity": entity, **changed}]}


def _field_errors(errors: list[tuple[str, str]], entity: str | None) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path, message in errors:
        name = path.rsplit(".", 1)[-1] if entity else path.split(".", 1)[0]
        found.setdefault(name, []).append(message)
    return found


@router.post("/customers/{customer_id}/edit")
async def edit(request: Request, customer_id: UUID, entity: Code = None) -> Response:
    container, me = _container(request), actor(request)
    form = await request.form()
    submitted = {k: v for k, v in form.items() if isinstance(v, str)}
    return await run_in_threadpool(_edit, request, container, me, customer_id, entity, submitted)


def _edit(
    request: Request,
    container: Container,
    me: Principal,
    customer_id: UUID,
    entity: str | None,
    submitted: dict[str, str],
) -> Response:
    customer = get_customer(container.uow(), me, customer_id)
    values = {
        **_form_values(customer, entity),
        **{k: submitted.get(k, "") for k in (OVERRIDABLE if entity else EDITABLE)},
    }
    data = _patch(customer, entity, submitted)
    if not data:
        return _edit_page(request, customer, entity, values, {}, ["Nothing changed."], 422)
    try:
        parsed = CustomerPatch.model_validate(data).model_dump(mode="json", exclude_unset=True)
    except ValidationError as exc:
        errors = [(field_path(tuple(e["loc"])), e["msg"]) for e in exc.errors()]
        return _edit_page(request, customer, entity, values, _field_errors(errors, entity), [], 422)
    version = int(submitted["version"]) if submitted.get("version", "").isdigit() else None
    try:
        outcome = update_customer(
            container.uow(),
            me,
            container.policy,
            customer_id,
            parsed,
            container.service_settings,
            expected_version=version,
        )
    except ValidationFailed as exc:
        errors = [(e.field, e.message) for e in exc.errors]
        by_field = _field_errors(errors, entity)
        known = set(OVERRIDABLE if entity else EDITABLE)
        general = [f"{k}: {'; '.join(v)}" for k, v in by_field.items() if k not in known]
        return _edit_page(request, customer, entity, values, by_field, general, 422)
    except DomainError as exc:
        return _edit_page(request, customer, entity, values, {}, [exc.detail], 409)
    if outcome.request is not None:
        return redirect(f"/console/change-requests/{outcome.request.id}?flash=submitted")
    target = f"/console/customers/{customer_id}?flash=applied"
    return redirect(target + (f"&entity={entity}" if entity else ""))
